//! What the reverse sweep records, decided for the whole function before any code is emitted.
//!
//! Inside loops, the reverse sweep needs some values the forward sweep computed. Most are
//! recorded where they are made, but two kinds of value can be had more cheaply:
//!
//! - **Array elements.** A read `a[i]` in a loop needs recording only if a later write may
//!   change that element before the reverse sweep comes back to the read. For each array the
//!   plan compares two ways of getting such reads right: record every endangered read, or
//!   have every endangering write record the element it overwrites and put it back in the
//!   reverse sweep, so that the array is, at each point of the reverse sweep, as it was at the
//!   same point of the forward sweep, and every read can simply be repeated. The cheaper one
//!   (by static count, weighting each site by its loop depth) wins. Arrays that are only
//!   written before they are read (`q = vec![..]` filled, then used) need neither.
//!   Reads whose value no adjoint can use (operands of `+`, `-` and comparisons, arguments
//!   of elementary functions, whose derivatives are recorded) count for neither.
//! - **Arrays filled afresh in each iteration.** An array that a loop body fills at its start
//!   (`for j in 0..d { v[j] = x[i * d + j] - mu[j]; }`) and then only reads needs no
//!   recording at all when the fill can be repeated: the values it stores come from data
//!   nothing changes later, and it fills the same elements every time. The reverse sweep of
//!   each iteration starts by filling the array again. A loop that fills several arrays
//!   (after fusion: `v[j] = x[..] - mu[j]; y[j] = q[j] * v[j];`) has each judged on its own:
//!   `v` is filled again, and `y`, which later statements change, is handled as above. Later
//!   stores of the same loop may read the element an earlier one wrote.
//! - **Counters.** An integer `let mut k = start;` changed only by `k += step` / `k -= step`
//!   with a constant step (literals and parameters) is run backwards: the reverse sweep undoes
//!   each step where the forward sweep made it, so `a[k]` is read again rather than recorded.
//!   A counter declared in a loop body records its final value once per iteration.

use crate::model::*;
use std::collections::{HashMap, HashSet};

/// The storage decisions for one function.
#[derive(Default)]
pub struct Plan {
    /// Array reads that the reverse sweep may repeat (when their indices can be computed
    /// again there): nothing between the read and its adjoint changes the element, or every
    /// such change is undone.
    pub reread: HashSet<usize>,
    /// Array writes that record the element they overwrite, for the reverse sweep to restore.
    pub restore: HashSet<usize>,
    /// Arrays the reverse sweep writes back into (it works on a copy).
    pub restored: HashSet<VarId>,
    /// Fill loops the reverse sweep repeats at the start of the reverse of each iteration of
    /// the loop around them (by the loop statement's address), with the arrays they fill.
    pub fills: HashMap<usize, Vec<VarId>>,
    /// Integer variables that may be counters (confirmed where they are declared: the reverse
    /// sweep must be able to compute their type).
    pub counters: HashSet<VarId>,
}

pub fn plan(f: &Function) -> Plan {
    // Which variables' values the reverse sweep may use depends on where they are used, and
    // so on which other variables are: walk until that stops growing.
    let mut needed_vars = HashSet::new();
    let w = loop {
        let mut w = Walk::new(f, needed_vars);
        w.block(&f.body);
        if w.used_vars.is_subset(&w.needed_vars) {
            break w;
        }
        needed_vars = w.needed_vars.union(&w.used_vars).copied().collect();
    };

    // An array declared after a statement that may `return` is declared inside the guard the
    // reverse sweep puts around the rest of the function, where the backpropagator cannot see
    // it: its reads are recorded instead.
    let mut w = w;
    let mut returned = false;
    for s in &f.body {
        if let (true, Stmt::Let { var, .. }) = (returned, s) {
            w.eligible.remove(var);
        }
        returned |= crate::reverse::may_exit(s);
    }

    let mut plan = Plan::default();
    let empty = Vec::new();
    let replayed = w.replayable_fills(&mut plan);
    let arrays: HashSet<VarId> = w.reads.keys().chain(w.writes.keys()).copied().collect();
    for a in arrays {
        let reads = w.reads.get(&a).unwrap_or(&empty);
        let writes = w.writes.get(&a).unwrap_or(&empty);
        if !w.eligible.contains(&a) || w.in_calls.contains(&a) {
            continue;
        }
        if replayed.contains(&a) {
            // Every read sees what the fill of its own iteration stored, filled again.
            plan.reread.extend(reads.iter().map(|r| r.ptr));
            plan.restored.insert(a);
            continue;
        }
        // Reads outside every loop are captured by the backpropagator as they are.
        let loop_reads: Vec<&Site> = reads.iter().filter(|r| !r.loops.is_empty()).collect();
        let needed: Vec<&Site> = loop_reads.iter().copied().filter(|r| r.needed).collect();
        let endangered = |r: &Site| writes.iter().any(|w| may_follow(r, w));
        let restoring: Vec<&Site> = writes
            .iter()
            .filter(|w| needed.iter().any(|r| may_follow(r, w)))
            .collect();
        let record_cost: u64 = needed
            .iter()
            .filter(|r| endangered(r))
            .map(|s| s.weight())
            .sum();
        let restore_cost: u64 = restoring.iter().map(|s| s.weight()).sum();
        if !restoring.is_empty() && restore_cost < record_cost {
            // Reads whose value seems unused are left out: should the reverse sweep use one
            // after all, it records it rather than read an element not put back.
            plan.reread.extend(
                reads
                    .iter()
                    .filter(|r| r.needed || r.loops.is_empty())
                    .map(|r| r.ptr),
            );
            plan.restore.extend(restoring.iter().map(|w| w.ptr));
            plan.restored.insert(a);
        } else {
            plan.reread
                .extend(loop_reads.iter().filter(|r| !endangered(r)).map(|r| r.ptr));
        }
    }
    plan.counters = w.counter_decl.difference(&w.counter_bad).copied().collect();
    plan
}

/// A read or write of an array element.
struct Site {
    pos: usize,
    /// The enclosing loops, outermost first.
    loops: Vec<usize>,
    /// The `Expr` (reads) or `Stmt` (writes) it is, by address ([`addr`]).
    ptr: usize,
    /// For reads: whether the reverse sweep may need the value read.
    needed: bool,
}

impl Site {
    /// A static estimate of how often the site runs.
    fn weight(&self) -> u64 {
        16u64.saturating_pow(self.loops.len() as u32)
    }
}

/// Whether `later` may run after `earlier`: it comes after it, or both are in one loop.
fn may_follow(earlier: &Site, later: &Site) -> bool {
    later.pos > earlier.pos
        || matches!((earlier.loops.first(), later.loops.first()), (Some(a), Some(b)) if a == b)
}

struct Walk<'a> {
    f: &'a Function,
    pos: usize,
    loops: Vec<usize>,
    next_loop: usize,
    depth: usize,
    /// The block depth of each enclosing loop's body.
    body_depths: Vec<usize>,
    reads: HashMap<VarId, Vec<Site>>,
    writes: HashMap<VarId, Vec<Site>>,
    /// Arrays the backpropagator can see: parameters and arrays declared in the function's
    /// own block.
    eligible: HashSet<VarId>,
    /// Arrays passed to calls (a callee's backpropagator may borrow them).
    in_calls: HashSet<VarId>,
    counter_decl: HashSet<VarId>,
    counter_bad: HashSet<VarId>,
    /// How many loops enclose each `let`'s declaration (loop variables are not in it).
    decl_loops: HashMap<VarId, usize>,
    /// Loops that may fill arrays afresh in each iteration of the loop around them.
    fills: Vec<Fill>,
    /// Variables whose value the reverse sweep may use (from the previous walk).
    needed_vars: HashSet<VarId>,
    /// Variables read where the reverse sweep may use the value.
    used_vars: HashSet<VarId>,
}

/// `for j in range { a[j] = value; b[j] = value; }` directly in the body of a loop.
struct Fill {
    /// The `for` statement, by address.
    ptr: usize,
    /// The loop whose body it is in.
    outer: usize,
    /// How many loops enclose the fill (the outer loop included).
    outer_depth: usize,
    arrays: Vec<VarId>,
    /// The positions of the sites in it (its stores and the reads in their values).
    first: usize,
    last: usize,
    /// Whether every read in it of an array it fills reads the element an earlier store of
    /// the same iteration wrote (`y[j] = q[j] * v[j]` after `v[j] = ..`).
    reads_own: bool,
}

impl<'a> Walk<'a> {
    fn new(f: &'a Function, needed_vars: HashSet<VarId>) -> Self {
        let eligible = f
            .params
            .iter()
            .filter(|p| matches!(f.vars[p.var].ty, Ty::FloatArray(_)))
            .map(|p| p.var)
            .collect();
        Walk {
            f,
            pos: 0,
            loops: Vec::new(),
            next_loop: 0,
            depth: 0,
            body_depths: Vec::new(),
            reads: HashMap::new(),
            writes: HashMap::new(),
            eligible,
            in_calls: HashSet::new(),
            counter_decl: HashSet::new(),
            counter_bad: HashSet::new(),
            decl_loops: HashMap::new(),
            fills: Vec::new(),
            needed_vars,
            used_vars: HashSet::new(),
        }
    }

    fn site(&mut self, ptr: usize, needed: bool) -> Site {
        self.pos += 1;
        Site {
            pos: self.pos,
            loops: self.loops.clone(),
            ptr,
            needed,
        }
    }

    fn block(&mut self, b: &[Stmt]) {
        self.depth += 1;
        for s in b {
            self.stmt(s);
        }
        self.depth -= 1;
    }

    fn stmt(&mut self, s: &Stmt) {
        let vars = &self.f.vars;
        match s {
            Stmt::Let { var, init } => {
                if let Some(e) = init {
                    self.expr(e, self.needed_vars.contains(var));
                }
                self.decl_loops.insert(*var, self.loops.len());
                let v = &vars[*var];
                let top = self.depth == 1 && self.loops.is_empty();
                let body = self.body_depths.last() == Some(&self.depth);
                match v.ty {
                    Ty::FloatArray(_) if top => {
                        self.eligible.insert(*var);
                    }
                    Ty::Int if v.mutable && init.is_some() && (top || body) => {
                        self.counter_decl.insert(*var);
                    }
                    _ => {}
                }
            }
            Stmt::Assign { var, op, value, .. } => {
                let needed = match op {
                    None => self.needed_vars.contains(var),
                    Some(op) => !matches!(op, BinOp::Add | BinOp::Sub),
                };
                self.expr(value, needed);
                let step = matches!(op, Some(BinOp::Add | BinOp::Sub)) && self.constant(value);
                if !step {
                    self.counter_bad.insert(*var);
                }
            }
            Stmt::LetCall {
                vars: outs, call, ..
            } => {
                // The arguments are the callee's to keep: its backpropagator holds their values.
                self.expr(call, true);
                for v in outs.iter().flatten() {
                    self.decl_loops.insert(*v, self.loops.len());
                }
            }
            Stmt::Store {
                var,
                index,
                value,
                op,
                ..
            } => {
                index.iter().for_each(|i| self.expr(i, true));
                self.expr(value, !matches!(op, Some(BinOp::Add | BinOp::Sub)));
                let site = self.site(addr(s), false);
                self.writes.entry(*var).or_default().push(site);
            }
            Stmt::If { cond, then, els } => {
                self.expr(cond, false);
                self.block(then);
                self.block(els);
            }
            Stmt::Match { scrutinee, arms } => {
                self.expr(scrutinee, false);
                for arm in arms {
                    if let Some(g) = &arm.guard {
                        self.expr(g, false);
                    }
                    self.block(&arm.body);
                }
            }
            Stmt::Block(b) => self.block(b),
            Stmt::Loop { kind, body, .. } => {
                if let LoopKind::For { iter, .. } = kind {
                    self.expr(iter, true);
                }
                let in_body = self.body_depths.last() == Some(&self.depth);
                let fill = match (in_body, self.loops.last()) {
                    (true, Some(&outer)) => {
                        self.fill_arrays(kind, body)
                            .map(|(arrays, reads_own)| Fill {
                                ptr: addr(s),
                                outer,
                                outer_depth: self.loops.len(),
                                arrays,
                                first: self.pos + 1,
                                last: 0,
                                reads_own,
                            })
                    }
                    _ => None,
                };
                self.next_loop += 1;
                self.loops.push(self.next_loop);
                self.body_depths.push(self.depth + 1);
                if let LoopKind::While { cond } = kind {
                    self.expr(cond, false);
                }
                self.block(crate::model::loop_body(body));
                self.body_depths.pop();
                self.loops.pop();
                if let Some(mut fill) = fill {
                    fill.last = self.pos;
                    self.fills.push(fill);
                }
            }
            Stmt::Return { values } => values.iter().for_each(|e| self.expr(e, false)),
            // The pushed value's adjoint is the new element's: its value is not needed.
            Stmt::Push { value, .. } => self.expr(value, false),
            Stmt::Exit { .. } | Stmt::Passive(_) => {}
        }
    }

    /// A counter's step: literals and parameters that never change.
    fn constant(&self, e: &Expr) -> bool {
        let mut refs = Vec::new();
        crate::lower::collect_refs(e, &mut refs);
        !contains_call_or_read(e)
            && refs.iter().all(|&v| {
                let var = &self.f.vars[v];
                matches!(var.kind, VarKind::Param { .. }) && !var.mutable && var.ty == Ty::Int
            })
    }

    /// Visits `e`; `needed` says whether the reverse sweep may use its value (conservatively:
    /// only sums, differences and comparisons are known not to pass it on).
    fn expr(&mut self, e: &Expr, needed: bool) {
        match &e.kind {
            ExprKind::Var(v) => {
                if needed {
                    self.used_vars.insert(*v);
                }
            }
            ExprKind::Lit(_) | ExprKind::Path(_) => {}
            ExprKind::Unary(UnOp::Neg, a) | ExprKind::Cast(a, _) => self.expr(a, needed),
            ExprKind::Unary(UnOp::Not | UnOp::Test(_), a) => self.expr(a, false),
            ExprKind::Binary(op, a, b) => {
                let pass = match op {
                    BinOp::Add | BinOp::Sub => needed,
                    _ if op.is_comparison() || op.is_logic() => false,
                    _ => true,
                };
                self.expr(a, pass);
                self.expr(b, pass);
            }
            ExprKind::Rule { args, int_arg, .. } => {
                // The forward sweep evaluates and records the partial derivatives.
                args.iter().for_each(|a| self.expr(a, false));
                if let Some(i) = int_arg {
                    self.expr(i, true);
                }
            }
            ExprKind::Call { args, .. } => {
                for a in args {
                    let mut refs = Vec::new();
                    crate::lower::collect_refs(a, &mut refs);
                    self.in_calls.extend(
                        refs.into_iter()
                            .filter(|&v| matches!(self.f.vars[v].ty, Ty::FloatArray(_))),
                    );
                    self.expr(a, true);
                }
            }
            ExprKind::Index { var, index } => {
                index.iter().for_each(|i| self.expr(i, true));
                let site = self.site(addr(e), needed);
                self.reads.entry(*var).or_default().push(site);
            }
            ExprKind::ArrayNew { elem, len, .. } => {
                self.expr(elem, true);
                self.expr(len, true);
            }
            ExprKind::Opaque { .. } => {}
        }
    }

    /// The arrays a loop fills, if it is `for j in range { a[j] = value; .. }` over a range
    /// that is the same in every iteration of every loop (its bounds are literals, lengths and
    /// integers that never change, declared outside loops).
    /// Also says whether the fill's own reads of the arrays it fills read what an earlier
    /// store of the same iteration wrote.
    fn fill_arrays(&self, kind: &LoopKind, body: &Block) -> Option<(Vec<VarId>, bool)> {
        let LoopKind::For {
            var: j,
            range: Some(range),
            ..
        } = kind
        else {
            return None;
        };
        let vars = &self.f.vars;
        let fixed = |e: &Expr| {
            let mut refs = Vec::new();
            crate::lower::collect_refs(e, &mut refs);
            !contains_call(e)
                && refs.iter().all(|v| {
                    let var = &vars[*v];
                    matches!(var.ty, Ty::FloatArray(_))
                        || (var.ty == Ty::Int
                            && !var.mutable
                            && (matches!(var.kind, VarKind::Param { .. })
                                || self.decl_loops.get(v) == Some(&0)))
                })
        };
        if !fixed(&range.start) || !fixed(&range.end) {
            return None;
        }
        let body = crate::model::loop_body(body);
        let mut arrays = Vec::new();
        for s in body {
            match s {
                Stmt::Store {
                    var,
                    index,
                    op: None,
                    ..
                } if matches!(index.as_slice(), [Expr { kind: ExprKind::Var(i), .. }] if i == j)
                    && !arrays.contains(var) =>
                {
                    arrays.push(*var)
                }
                _ => return None,
            }
        }
        // Reads of a filled array inside the fill: of the element an earlier store wrote.
        let mut reads_own = true;
        for (k, st) in body.iter().enumerate() {
            if let Stmt::Store { value, .. } = st {
                each_expr(value, &mut |x| {
                    if let ExprKind::Index { var, index } = &x.kind {
                        if let Some(p) = arrays.iter().position(|a| a == var) {
                            let at_j = matches!(index.as_slice(),
                                [Expr { kind: ExprKind::Var(i), .. }] if i == j);
                            reads_own &= p < k && at_j;
                        }
                    }
                });
            }
        }
        (!arrays.is_empty()).then_some((arrays, reads_own))
    }

    /// The fills the reverse sweep can repeat, entered in the plan; returns the arrays they
    /// fill. A fill qualifies when each array it fills is a local written nowhere else, read
    /// only later in the same loop body, and passed to no call, and when the values it stores
    /// read only arrays that nothing writes from there on.
    fn replayable_fills(&self, plan: &mut Plan) -> HashSet<VarId> {
        let mut filled: HashMap<VarId, usize> = HashMap::new();
        for fill in &self.fills {
            for &a in &fill.arrays {
                *filled.entry(a).or_default() += 1;
            }
        }
        let empty = Vec::new();
        let mut replayed = HashSet::new();
        for fill in &self.fills {
            let inside = |s: &Site| (fill.first..=fill.last).contains(&s.pos);
            // The position of each array's store in the fill: the reads of its value come
            // after the previous store's.
            let store_pos = |a: VarId| {
                self.writes
                    .get(&a)
                    .and_then(|w| w.iter().find(|s| inside(s)))
                    .map_or(0, |s| s.pos)
            };
            let mut replay = Vec::new();
            for (k, &a) in fill.arrays.iter().enumerate() {
                let reads = self.reads.get(&a).unwrap_or(&empty);
                let writes = self.writes.get(&a).unwrap_or(&empty);
                let stored = store_pos(a);
                let value_from = match k {
                    0 => fill.first,
                    _ => store_pos(fill.arrays[k - 1]) + 1,
                };
                // The replay runs where the reverse of the outer loop's body starts: the array
                // must exist there, so it is declared outside that loop. It is read after the
                // fill, or in it by a later store of the same element.
                let array_ok = self.f.vars[a].kind == VarKind::Local
                    && self
                        .decl_loops
                        .get(&a)
                        .is_some_and(|&d| d < fill.outer_depth)
                    && self.eligible.contains(&a)
                    && !self.in_calls.contains(&a)
                    && filled[&a] == 1
                    && writes.iter().all(inside)
                    && reads.iter().all(|r| {
                        (r.pos > fill.last && r.loops.contains(&fill.outer))
                            || (fill.reads_own && inside(r) && r.pos > stored)
                    });
                // Its value reads only data that nothing changes later.
                let sources_ok = self.reads.iter().all(|(b, reads)| {
                    let writes = self.writes.get(b).unwrap_or(&empty);
                    reads
                        .iter()
                        .filter(|r| (value_from..stored).contains(&r.pos))
                        .all(|r| {
                            !filled.contains_key(b) && !writes.iter().any(|w| may_follow(r, w))
                        })
                });
                if array_ok && sources_ok {
                    replay.push(a);
                }
            }
            if !replay.is_empty() {
                replayed.extend(replay.iter().copied());
                plan.fills.insert(fill.ptr, replay);
            }
        }
        replayed
    }
}

fn contains_call(e: &Expr) -> bool {
    let mut found = false;
    each_expr(e, &mut |x| found |= matches!(x.kind, ExprKind::Call { .. }));
    found
}

fn contains_call_or_read(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { .. } | ExprKind::Index { .. } | ExprKind::Opaque { .. } => true,
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => contains_call_or_read(a),
        ExprKind::Binary(_, a, b) => contains_call_or_read(a) || contains_call_or_read(b),
        ExprKind::Rule { .. } | ExprKind::ArrayNew { .. } => true,
        ExprKind::Lit(_) | ExprKind::Var(_) | ExprKind::Path(_) => false,
    }
}

/// A node's identity for the plan's sets: its address (the model is not changed while code is
/// emitted, so addresses are stable).
pub fn addr<T>(node: &T) -> usize {
    node as *const T as usize
}

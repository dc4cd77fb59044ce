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
    /// Integer variables that may be counters (confirmed where they are declared: the reverse
    /// sweep must be able to compute their type).
    pub counters: HashSet<VarId>,
}

pub fn plan(f: &Function) -> Plan {
    let mut w = Walk {
        f,
        pos: 0,
        loops: Vec::new(),
        next_loop: 0,
        depth: 0,
        body_depths: Vec::new(),
        reads: HashMap::new(),
        writes: HashMap::new(),
        eligible: HashSet::new(),
        in_calls: HashSet::new(),
        counter_decl: HashSet::new(),
        counter_bad: HashSet::new(),
    };
    for p in &f.params {
        if matches!(f.vars[p.var].ty, Ty::FloatArray(_)) {
            w.eligible.insert(p.var);
        }
    }
    w.block(&f.body);

    let mut plan = Plan::default();
    let empty = Vec::new();
    let arrays: HashSet<VarId> = w.reads.keys().chain(w.writes.keys()).copied().collect();
    for a in arrays {
        let reads = w.reads.get(&a).unwrap_or(&empty);
        let writes = w.writes.get(&a).unwrap_or(&empty);
        if !w.eligible.contains(&a) || w.in_calls.contains(&a) {
            continue;
        }
        // Reads outside every loop are captured by the backpropagator as they are.
        let loop_reads: Vec<&Site> = reads.iter().filter(|r| !r.loops.is_empty()).collect();
        let endangered: Vec<&Site> = loop_reads
            .iter()
            .copied()
            .filter(|r| writes.iter().any(|w| may_follow(r, w)))
            .collect();
        let restoring: Vec<&Site> = writes
            .iter()
            .filter(|w| loop_reads.iter().any(|r| may_follow(r, w)))
            .collect();
        let record_cost: u64 = endangered.iter().map(|s| s.weight()).sum();
        let restore_cost: u64 = restoring.iter().map(|s| s.weight()).sum();
        if !restoring.is_empty() && restore_cost < record_cost {
            plan.reread.extend(reads.iter().map(|r| r.ptr));
            plan.restore.extend(restoring.iter().map(|w| w.ptr));
            plan.restored.insert(a);
        } else {
            plan.reread.extend(
                loop_reads
                    .iter()
                    .filter(|r| !endangered.iter().any(|e| e.ptr == r.ptr))
                    .map(|r| r.ptr),
            );
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
}

impl Walk<'_> {
    fn site(&mut self, ptr: usize) -> Site {
        self.pos += 1;
        Site {
            pos: self.pos,
            loops: self.loops.clone(),
            ptr,
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
                    self.expr(e);
                }
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
                self.expr(value);
                let step = matches!(op, Some(BinOp::Add | BinOp::Sub)) && self.constant(value);
                if !step {
                    self.counter_bad.insert(*var);
                }
            }
            Stmt::Store {
                var, index, value, ..
            } => {
                index.iter().for_each(|i| self.expr(i));
                self.expr(value);
                let site = self.site(addr(s));
                self.writes.entry(*var).or_default().push(site);
            }
            Stmt::If { cond, then, els } => {
                self.expr(cond);
                self.block(then);
                self.block(els);
            }
            Stmt::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for arm in arms {
                    if let Some(g) = &arm.guard {
                        self.expr(g);
                    }
                    self.block(&arm.body);
                }
            }
            Stmt::Block(b) => self.block(b),
            Stmt::Loop { kind, body, .. } => {
                if let LoopKind::For { iter, .. } = kind {
                    self.expr(iter);
                }
                self.next_loop += 1;
                self.loops.push(self.next_loop);
                self.body_depths.push(self.depth + 1);
                if let LoopKind::While { cond } = kind {
                    self.expr(cond);
                }
                self.block(crate::model::loop_body(body));
                self.body_depths.pop();
                self.loops.pop();
            }
            Stmt::Return { values } => values.iter().for_each(|e| self.expr(e)),
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

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Var(_) | ExprKind::Path(_) => {}
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.expr(a),
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Rule { args, int_arg, .. } => {
                args.iter().for_each(|a| self.expr(a));
                if let Some(i) = int_arg {
                    self.expr(i);
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
                    self.expr(a);
                }
            }
            ExprKind::Index { var, index } => {
                index.iter().for_each(|i| self.expr(i));
                let site = self.site(addr(e));
                self.reads.entry(*var).or_default().push(site);
            }
            ExprKind::ArrayNew { elem, len, .. } => {
                self.expr(elem);
                self.expr(len);
            }
            ExprKind::Opaque { .. } => {}
        }
    }
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

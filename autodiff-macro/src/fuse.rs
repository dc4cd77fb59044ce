//! Loop fusion: two adjacent `for` loops over the same range become one loop when no
//! element the second touches is one the first changes at another index, and the other way
//! round.
//!
//! Users write vector code as a run of short loops (`for j in 0..d { v[j] = x[j] - mu[j]; }`
//! then `for j in 0..d { y[j] = q[j] * v[j]; }`). Each loop costs its setup, its bounds checks
//! and its exit branch, and the reverse sweep doubles that: its reverse walks each loop again.
//! With `d` small the loops cost more than the arithmetic, and rustc does not fuse loops.
//!
//! Fusing changes the order in which the two bodies' iterations run: the second body's
//! iteration `j` runs before the first body's iterations after `j`. That is invisible when
//! every variable one body writes and the other uses is an array that both bodies access only
//! at one index `I(j)`, the same in both, with a different element for each `j` (`j`,
//! `c * d + j`). Scalars written by one body and used by the other, calls (which may print),
//! statements emitted as written, and exits keep the loops apart.

use crate::model::*;
use proc_macro2::{TokenStream, TokenTree};
use std::collections::HashSet;

/// Fuses the loops of every block of `f`.
pub fn fuse(f: &mut Function) {
    fuse_block(&mut f.body, &f.vars);
}

fn fuse_block(b: &mut Block, vars: &[Var]) {
    for s in b.iter_mut() {
        match s {
            Stmt::If { then, els, .. } => {
                fuse_block(then, vars);
                fuse_block(els, vars);
            }
            Stmt::Match { arms, .. } => arms.iter_mut().for_each(|a| fuse_block(&mut a.body, vars)),
            Stmt::Block(inner) | Stmt::Loop { body: inner, .. } => fuse_block(inner, vars),
            _ => {}
        }
    }
    let mut i = 0;
    while i + 1 < b.len() {
        // `for ..; let mut s = 0.0; for ..`: the declaration can go first.
        if i + 2 < b.len() && movable_let(&b[i + 1], &b[i]) && fusable(&b[i], &b[i + 2], vars) {
            b.swap(i, i + 1);
            i += 1;
        }
        if fusable(&b[i], &b[i + 1], vars) {
            let second = b.remove(i + 1);
            merge(&mut b[i], second, vars);
            if let Stmt::Loop { body, .. } = &mut b[i] {
                // The first body's last loop may now fuse with the second body's first.
                fuse_block(body, vars);
            }
        } else {
            i += 1;
        }
    }
}

/// Whether `s` is a declaration that may run before `before` (a loop): its value reads
/// nothing the loop changes or declares, and calls nothing.
fn movable_let(s: &Stmt, before: &Stmt) -> bool {
    let (Stmt::Let { init, .. }, Stmt::Loop { body, .. }) = (s, before) else {
        return false;
    };
    let Some(u) = Uses::of(body) else {
        return false;
    };
    init.as_ref().is_none_or(|e| {
        let mut calls = false;
        each_expr(e, &mut |x| calls |= matches!(x.kind, ExprKind::Call { .. }));
        let mut refs = Vec::new();
        crate::lower::collect_refs(e, &mut refs);
        !calls
            && refs
                .iter()
                .all(|v| !u.writes.contains(v) && !u.locals.contains(v))
    })
}

/// The loop variable, range and body of a `for` loop over a plain range without a label.
fn range_loop(s: &Stmt) -> Option<(VarId, &Expr, &Range, &Block)> {
    match s {
        Stmt::Loop {
            kind:
                LoopKind::For {
                    var,
                    iter,
                    range: Some(r),
                },
            body,
            label: None,
        } => Some((*var, iter, r, body)),
        _ => None,
    }
}

fn fusable(s1: &Stmt, s2: &Stmt, vars: &[Var]) -> bool {
    let (Some((a, iter1, r1, b1)), Some((b, iter2, r2, b2))) = (range_loop(s1), range_loop(s2))
    else {
        return false;
    };
    let same_range = r1.inclusive == r2.inclusive
        && r1.reversed == r2.reversed
        && same_expr(&r1.start, &r2.start, None, vars)
        && same_expr(&r1.end, &r2.end, None, vars)
        && same_expr(iter1, iter2, None, vars);
    if !same_range {
        return false;
    }
    let (Some(u1), Some(u2)) = (Uses::of(b1), Uses::of(b2)) else {
        return false;
    };
    // The bounds are evaluated once, before the fused loop: neither body may change them.
    let mut bounds = Vec::new();
    crate::lower::collect_refs(&r1.start, &mut bounds);
    crate::lower::collect_refs(&r1.end, &mut bounds);
    if bounds
        .iter()
        .any(|v| u1.writes.contains(v) || u2.writes.contains(v))
    {
        return false;
    }
    let changing: HashSet<VarId> = u1
        .writes
        .iter()
        .chain(&u2.writes)
        .chain(&u1.locals)
        .chain(&u2.locals)
        .copied()
        .collect();
    let shared: HashSet<VarId> = u1
        .writes
        .iter()
        .filter(|v| u2.mentions(**v))
        .chain(u2.writes.iter().filter(|v| u1.mentions(**v)))
        .copied()
        .collect();
    let map = Some((b, a));
    for x in shared {
        if !matches!(vars[x].ty, Ty::FloatArray(_)) {
            return false;
        }
        // Every access, in both bodies, is at one index that gives each iteration its own
        // element.
        let mut accesses = u1
            .accesses
            .iter()
            .filter(|(v, _)| *v == x)
            .map(|(_, i)| (i, None))
            .chain(
                u2.accesses
                    .iter()
                    .filter(|(v, _)| *v == x)
                    .map(|(_, i)| (i, map)),
            );
        let Some((Some(first), first_map)) = accesses.next() else {
            return false;
        };
        if first_map.is_some() || !injective(first, a, &changing) {
            return false;
        }
        for (index, m) in accesses {
            let Some(index) = index else {
                return false;
            };
            let same = index.len() == first.len()
                && first
                    .iter()
                    .zip(index.iter())
                    .all(|(x, y)| same_expr(x, y, m, vars));
            if !same {
                return false;
            }
        }
    }
    true
}

/// Whether an index gives each value of the loop variable `j` its own element: one component
/// is `j`, `p + j`, `j + p` or `j - p`, the others do not mention `j`, and nothing in it but
/// `j` changes while the loops run.
fn injective(index: &[Expr], j: VarId, changing: &HashSet<VarId>) -> bool {
    let mentions = |e: &Expr, v: VarId| {
        let mut refs = Vec::new();
        crate::lower::collect_refs(e, &mut refs);
        refs.contains(&v)
    };
    let is_j = |e: &Expr| matches!(e.kind, ExprKind::Var(v) if v == j);
    let moves_with_j = |e: &Expr| match &e.kind {
        ExprKind::Var(v) => *v == j,
        ExprKind::Binary(BinOp::Add, p, q) => {
            (is_j(q) && !mentions(p, j)) || (is_j(p) && !mentions(q, j))
        }
        ExprKind::Binary(BinOp::Sub, p, q) => is_j(p) && !mentions(q, j),
        _ => false,
    };
    let mut refs = Vec::new();
    index
        .iter()
        .for_each(|e| crate::lower::collect_refs(e, &mut refs));
    index.iter().filter(|e| moves_with_j(e)).count() == 1
        && index.iter().filter(|e| mentions(e, j)).count() == 1
        && refs.iter().all(|v| *v == j || !changing.contains(v))
}

/// What a loop body does with variables, or `None` if it has something fusion must not move.
#[derive(Default)]
struct Uses<'a> {
    /// Variables assigned or stored into.
    writes: HashSet<VarId>,
    /// Variables declared in the body (`let`, loop variables).
    locals: HashSet<VarId>,
    /// Every mention of a variable: with the index for an element access, `None` otherwise.
    accesses: Vec<(VarId, Option<&'a Vec<Expr>>)>,
}

impl<'a> Uses<'a> {
    fn of(body: &'a [Stmt]) -> Option<Self> {
        let mut u = Uses::default();
        let mut ok = true;
        each_stmt(body, &mut |s| {
            match s {
                Stmt::Let { var, .. } => {
                    u.locals.insert(*var);
                }
                // A call: the loops stay apart.
                Stmt::LetCall { .. } => ok = false,
                Stmt::Assign { var, .. } => {
                    u.writes.insert(*var);
                    u.accesses.push((*var, None));
                }
                Stmt::Store { var, index, .. } => {
                    u.writes.insert(*var);
                    u.accesses.push((*var, Some(index)));
                }
                Stmt::Loop { kind, .. } => match kind {
                    LoopKind::For { var, .. } => {
                        u.locals.insert(*var);
                    }
                    LoopKind::Elements { var, arrays } => {
                        u.locals.insert(*var);
                        u.accesses.extend(arrays.iter().map(|a| (*a, None)));
                    }
                    LoopKind::While { .. } | LoopKind::Infinite => {}
                },
                Stmt::Exit { .. } | Stmt::Return { .. } | Stmt::Passive(_) | Stmt::Push { .. } => {
                    ok = false
                }
                Stmt::If { .. } | Stmt::Match { .. } | Stmt::Block(_) => {}
            }
            for e in stmt_exprs(s) {
                each_expr(e, &mut |x| match &x.kind {
                    ExprKind::Var(v) => u.accesses.push((*v, None)),
                    ExprKind::Index { var, index } => u.accesses.push((*var, Some(index))),
                    ExprKind::Opaque { refs, .. } => {
                        u.accesses.extend(refs.iter().map(|v| (*v, None)));
                    }
                    ExprKind::Call { .. } => ok = false,
                    _ => {}
                });
            }
        });
        ok.then_some(u)
    }

    fn mentions(&self, v: VarId) -> bool {
        self.accesses.iter().any(|(x, _)| *x == v)
    }
}

/// Whether `x` and `y` are the same expression, reading `y`'s variable `from` as `to` when
/// `map` is `Some((from, to))`.
fn same_expr(x: &Expr, y: &Expr, map: Option<(VarId, VarId)>, vars: &[Var]) -> bool {
    let var = |v: VarId| match map {
        Some((from, to)) if v == from => to,
        _ => v,
    };
    let text = |t: &dyn quote::ToTokens| t.to_token_stream().to_string();
    match (&x.kind, &y.kind) {
        (ExprKind::Lit(p), ExprKind::Lit(q)) => text(p) == text(q),
        (ExprKind::Var(p), ExprKind::Var(q)) => *p == var(*q),
        (ExprKind::Path(p), ExprKind::Path(q)) => text(p) == text(q),
        (ExprKind::Unary(o, p), ExprKind::Unary(r, q)) => o == r && same_expr(p, q, map, vars),
        (ExprKind::Binary(o, p1, p2), ExprKind::Binary(r, q1, q2)) => {
            o == r && same_expr(p1, q1, map, vars) && same_expr(p2, q2, map, vars)
        }
        (ExprKind::Cast(p, t), ExprKind::Cast(q, u)) => {
            text(t) == text(u) && same_expr(p, q, map, vars)
        }
        (
            ExprKind::Rule {
                rule: r1,
                args: a1,
                int_arg: i1,
            },
            ExprKind::Rule {
                rule: r2,
                args: a2,
                int_arg: i2,
            },
        ) => {
            r1.name == r2.name
                && a1.len() == a2.len()
                && a1.iter().zip(a2).all(|(p, q)| same_expr(p, q, map, vars))
                && match (i1, i2) {
                    (Some(p), Some(q)) => same_expr(p, q, map, vars),
                    (None, None) => true,
                    _ => false,
                }
        }
        (ExprKind::Index { var: v1, index: i1 }, ExprKind::Index { var: v2, index: i2 }) => {
            *v1 == var(*v2)
                && i1.len() == i2.len()
                && i1.iter().zip(i2).all(|(p, q)| same_expr(p, q, map, vars))
        }
        (
            ExprKind::Opaque {
                tokens: t1,
                refs: r1,
            },
            ExprKind::Opaque {
                tokens: t2,
                refs: r2,
            },
        ) => {
            let t2 = match map {
                Some((from, to)) => rename_tokens(t2.clone(), &vars[from].ident, &vars[to].ident),
                None => t2.clone(),
            };
            r1.len() == r2.len()
                && r1.iter().zip(r2).all(|(p, q)| *p == var(*q))
                && t1.to_string() == t2.to_string()
        }
        _ => false,
    }
}

/// Appends the second loop's body to the first's, its loop variable renamed to the first's.
fn merge(first: &mut Stmt, second: Stmt, vars: &[Var]) {
    let (
        Stmt::Loop {
            kind: LoopKind::For { var: to, .. },
            body: b1,
            ..
        },
        Stmt::Loop {
            kind: LoopKind::For { var: from, .. },
            body: mut b2,
            ..
        },
    ) = (first, second)
    else {
        return;
    };
    if vars[*to].ident == "_" {
        // `for _ in ..` names nothing the first body reads: the fused loop takes the second's
        // variable.
        *to = from;
    } else {
        let (from_id, to_id) = (vars[from].ident.clone(), vars[*to].ident.clone());
        rename_block(&mut b2, from, *to, &from_id, &to_id);
    }
    let mut stmts = std::mem::take(b1);
    let unwrap = |b: Block| match <[Stmt; 1]>::try_from(b) {
        Ok([Stmt::Block(inner)]) => inner,
        Ok(one) => one.into(),
        Err(b) => b,
    };
    stmts = unwrap(stmts);
    stmts.extend(unwrap(b2));
    *b1 = vec![Stmt::Block(stmts)];
}

fn rename_block(b: &mut [Stmt], from: VarId, to: VarId, from_id: &syn::Ident, to_id: &syn::Ident) {
    let re = |e: &mut Expr| rename_expr(e, from, to, from_id, to_id);
    for s in b {
        match s {
            Stmt::Let { init, .. } => init.iter_mut().for_each(re),
            Stmt::LetCall { call, .. } => re(call),
            Stmt::Assign { value, .. } => re(value),
            Stmt::Store { index, value, .. } => {
                index.iter_mut().for_each(re);
                re(value);
            }
            Stmt::Push { value, .. } => re(value),
            Stmt::If { cond, then, els } => {
                re(cond);
                rename_block(then, from, to, from_id, to_id);
                rename_block(els, from, to, from_id, to_id);
            }
            Stmt::Match { scrutinee, arms } => {
                re(scrutinee);
                for arm in arms {
                    if let Some(g) = &mut arm.guard {
                        re(g);
                    }
                    rename_block(&mut arm.body, from, to, from_id, to_id);
                }
            }
            Stmt::Block(inner) => rename_block(inner, from, to, from_id, to_id),
            Stmt::Loop { kind, body, .. } => {
                match kind {
                    LoopKind::For { iter, range, .. } => {
                        re(iter);
                        if let Some(r) = range {
                            re(&mut r.start);
                            re(&mut r.end);
                        }
                    }
                    LoopKind::While { cond } => re(cond),
                    LoopKind::Elements { .. } | LoopKind::Infinite => {}
                }
                rename_block(body, from, to, from_id, to_id);
            }
            Stmt::Return { values } => values.iter_mut().for_each(re),
            Stmt::Exit { .. } | Stmt::Passive(_) => {}
        }
    }
}

fn rename_expr(e: &mut Expr, from: VarId, to: VarId, from_id: &syn::Ident, to_id: &syn::Ident) {
    let mut re = |e: &mut Expr| rename_expr(e, from, to, from_id, to_id);
    match &mut e.kind {
        ExprKind::Var(v) => {
            if *v == from {
                *v = to;
            }
        }
        ExprKind::Lit(_) | ExprKind::Path(_) => {}
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => re(a),
        ExprKind::Binary(_, a, b) => {
            re(a);
            re(b);
        }
        ExprKind::Rule { args, int_arg, .. } => {
            args.iter_mut().for_each(&mut re);
            if let Some(i) = int_arg {
                re(i);
            }
        }
        ExprKind::Call { args, .. } => args.iter_mut().for_each(re),
        ExprKind::Index { index, .. } => index.iter_mut().for_each(re),
        ExprKind::ArrayNew { elem, len, .. } => {
            re(elem);
            re(len);
        }
        ExprKind::Opaque { tokens, refs } => {
            if refs.contains(&from) {
                for r in refs.iter_mut() {
                    if *r == from {
                        *r = to;
                    }
                }
                *tokens = rename_tokens(std::mem::take(tokens), from_id, to_id);
            }
        }
    }
}

/// `tokens` with every identifier `from` replaced by `to` (variables have distinct names in
/// the model, so the identifier is the variable).
/// Identifiers after `.` or `::` are fields, methods and paths, never variables.
fn rename_tokens(tokens: TokenStream, from: &syn::Ident, to: &syn::Ident) -> TokenStream {
    let mut after_dot = false;
    tokens
        .into_iter()
        .map(|t| {
            let t = match t {
                TokenTree::Ident(i) if i == *from && !after_dot => TokenTree::Ident(to.clone()),
                TokenTree::Group(g) => {
                    let inner = rename_tokens(g.stream(), from, to);
                    let mut n = proc_macro2::Group::new(g.delimiter(), inner);
                    n.set_span(g.span());
                    TokenTree::Group(n)
                }
                t => t,
            };
            after_dot =
                matches!(&t, TokenTree::Punct(p) if p.as_char() == '.' || p.as_char() == ':');
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    /// The loops outside every loop after fusion, each with the number of loops in its body.
    fn loops_after_fusion(item: syn::ItemFn) -> Vec<usize> {
        fn outer(b: &[Stmt], out: &mut Vec<usize>) {
            for s in b {
                match s {
                    Stmt::Loop { body, .. } => {
                        let mut inner = 0;
                        each_stmt(body, &mut |s| {
                            inner += matches!(s, Stmt::Loop { .. }) as usize
                        });
                        out.push(inner);
                    }
                    Stmt::Block(b) => outer(b, out),
                    _ => {}
                }
            }
        }
        let mut errors = crate::errors::Errors::default();
        let mut f = crate::lower::lower(&item, None, &mut errors).expect("lowered");
        crate::infer::infer(&mut f, &mut errors);
        assert!(errors.is_empty());
        fuse(&mut f);
        let mut out = Vec::new();
        outer(&f.body, &mut out);
        out
    }

    #[test]
    fn neighbours_sharing_elements_fuse_and_others_stay_apart() {
        let loops = loops_after_fusion(parse_quote! {
            fn runs(w: &[f64], #[constant] x: &[f64]) -> f64 {
                let n = x.len();
                let mut v = vec![0.0; n];
                let mut y = vec![0.0; n];
                for j in 0..n { v[j] = x[j] - w[j]; }
                for j in 0..n { y[j] = w[n + j] * v[j]; }
                for j in 0..n { y[j] += v[j] * v[j]; }
                let mut s = 0.0;
                for j in 0..n { s += y[j].sin(); }
                // Reads `s`, which the loop before writes.
                for j in 0..n { v[j] = s * y[j]; }
                // Reads `v` at another element than the loop before writes.
                for j in 0..n { y[j] += 0.5 * v[(j + 1) % n]; }
                for j in 0..n { v[j] = y[n - 1 - j] * w[j]; }
                for j in 0..n { s += v[j] * y[j]; }
                // Another range.
                for j in 1..n { s += v[j]; }
                s
            }
        });
        // The first four (`let mut s` moves before them), and the two before the last: five
        // loops of nine.
        assert_eq!(loops, [0; 5]);
    }

    #[test]
    fn nested_loops_fuse_at_each_level() {
        let loops = loops_after_fusion(parse_quote! {
            fn nested(w: &[f64], n: usize, d: usize) -> f64 {
                let mut v = vec![0.0; d];
                let mut y = vec![0.0; d];
                let mut s = 0.0;
                for i in 0..n {
                    for j in 0..d { v[j] = w[i * d + j] * 2.0; }
                    for j in 0..d { y[j] = v[j].exp(); }
                    for j in 0..d { s += y[j]; }
                }
                for i in 0..n {
                    s *= w[i];
                }
                s
            }
        });
        // The three inner loops are one; the outer loops share `s` and stay apart.
        assert_eq!(loops, [1, 0]);
    }

    #[test]
    fn loops_that_exit_print_or_call_stay_apart() {
        let loops = loops_after_fusion(parse_quote! {
            fn apart(w: &[f64], n: usize) -> f64 {
                let mut v = vec![0.0; n];
                let mut s = 0.0;
                for j in 0..n { v[j] = w[j] * w[j]; }
                for j in 0..n { if v[j] > 4.0 { break; } v[j] += 1.0; }
                for j in 0..n { v[j] = v[j].sqrt(); }
                for j in 0..n { println!("{}", j); }
                for j in 0..n { s += v[j]; }
                s
            }
        });
        assert_eq!(loops.len(), 5);
    }
}

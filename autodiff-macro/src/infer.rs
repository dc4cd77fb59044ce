//! Type and activity inference over the model.
//!
//! The macro sees no types but the ones written, so it infers the rest the way a reader does:
//! `2.0` is a float, `x.len()` is not, a variable used in float arithmetic is a float. A float
//! is *active* when it depends on a differentiated parameter; only active values get adjoints
//! and tangents. Both facts are fixed points over all assignments of the function, since a
//! `let mut s = 0.0;` can become active later in a loop or branch.

use crate::errors::Errors;
use crate::lower::collect_refs;
use crate::model::*;

pub fn infer(f: &mut Function, errors: &mut Errors) {
    let Function {
        vars,
        body,
        effect_calls,
        ..
    } = f;
    // A variable that is indexed (`k[i]`) or passed to a call as `&k` holds an array: bound to
    // a call's result, it is the `[f64; N]` the callee returns.
    let mut indexed = std::collections::HashMap::new();
    each_stmt(body, &mut |s| {
        for e in stmt_exprs(s) {
            each_expr(e, &mut |e| match &e.kind {
                ExprKind::Index { var, index } => {
                    indexed.entry(*var).or_insert(index.len());
                }
                ExprKind::Call { args, .. } => {
                    for a in args {
                        if let Some(v) = borrowed_var(a, vars) {
                            indexed.entry(v).or_insert(1);
                        }
                    }
                }
                _ => {}
            });
        }
    });
    loop {
        let mut cx = Infer {
            vars,
            changed: false,
            indexed: &indexed,
        };
        cx.block(body);
        if !cx.changed {
            break;
        }
    }
    check_block(body, vars, errors);
    for call in effect_calls.iter() {
        let floats: Vec<VarId> = call
            .refs
            .iter()
            .copied()
            .filter(|&v| matches!(vars[v].ty, Ty::FloatArray(_) | Ty::Float))
            .collect();
        // Name the value the call may change: one it borrows `&mut`, else a local (a
        // parameter taken by `&` cannot change), else the first.
        let lent = mut_borrowed(call.tokens.clone());
        let Some(&v) = floats
            .iter()
            .find(|&&v| lent.iter().any(|l| vars[v].ident == *l))
            .or_else(|| {
                floats
                    .iter()
                    .find(|&&v| !matches!(vars[v].kind, VarKind::Param { .. }))
            })
            .or(floats.first())
        else {
            continue;
        };
        let name = &vars[v].user_name;
        let (what, inside) = match &call.mac {
            Some(m) => (format!("the macro `{m}!`"), "inside a macro"),
            None => ("this call".to_string(), "by a call"),
        };
        // `self.last.set(y)`: a method reads `self` as data, so a value kept there leaves
        // without its derivative.
        let into_self = call.mac.is_none() && call.refs.iter().any(|&r| vars[r].ident == "self");
        // `out.push(x[i])`: the call is on another value (a vector built by pushes), which is
        // given the float.
        let receiver = match call.tokens.clone().into_iter().next() {
            Some(proc_macro2::TokenTree::Ident(id)) if call.mac.is_none() => call
                .refs
                .iter()
                .find(|&&r| r != v && vars[r].ident == id)
                .map(|&r| vars[r].user_name.clone()),
            _ => None,
        };
        let message =
            match (vars[v].ty, &call.mac) {
                _ if receiver.is_some() && !into_self => {
                    let recv = receiver.unwrap_or_default();
                    format!(
                    "this call on `{recv}` is given a value computed from the float{} `{name}`, \
                     and what a call does with a value is not differentiated: for a vector, \
                     declare it `let mut {recv} = vec![0.0; n];` and assign its elements \
                     (`{recv}[i] = ..`)",
                    if vars[v].ty == Ty::Float { "" } else { " array" }
                )
                }
                _ if into_self => format!(
                "this call may store `{name}` in `self`, which a `#[differentiate]` method reads \
                 as data without a derivative: the stored value would lose its derivative. \
                 Return the value and store it after the call"
            ),
                (Ty::Float, Some(_)) => format!(
                    "{what} may change the float `{name}`, and a change made {inside} is not \
                 differentiated: write it out in the function as an assignment to `{name}`"
                ),
                (Ty::Float, None) => format!(
                    "{what} may change the float `{name}`, and a change made {inside} is not \
                 differentiated: write it as assignments (`let t = a; a = b; b = t;` for a swap)"
                ),
                _ => format!(
                "{what} may change the float array `{name}`, and a change made {inside} is not \
                 differentiated: write it as element assignments in a loop \
                 (`for i in 0..n {{ {name}[i] = ...; }}`)"
            ),
            };
        errors.at(&call.tokens, message);
    }
}

/// Whether `tokens` call a method that takes elements out of the vector `id` (`id.pop()`).
fn takes_elements_out(tokens: proc_macro2::TokenStream, id: &syn::Ident) -> bool {
    use proc_macro2::TokenTree as T;
    let t: Vec<T> = tokens.into_iter().collect();
    t.iter().enumerate().any(|(i, tt)| match tt {
        T::Ident(x) if x == id => matches!(
            (t.get(i + 1), t.get(i + 2)),
            (Some(T::Punct(p)), Some(T::Ident(m)))
                if p.as_char() == '.'
                    && matches!(
                        m.to_string().as_str(),
                        "pop" | "remove" | "swap_remove" | "drain" | "split_off" | "last_mut"
                            | "first_mut" | "get_mut"
                    )
        ),
        T::Group(g) => takes_elements_out(g.stream(), id),
        _ => false,
    })
}

/// The names borrowed `&mut name` in `tokens`.
fn mut_borrowed(tokens: proc_macro2::TokenStream) -> Vec<syn::Ident> {
    use proc_macro2::TokenTree as T;
    let t: Vec<T> = tokens.into_iter().collect();
    let mut out = Vec::new();
    for (i, tt) in t.iter().enumerate() {
        match (tt, t.get(i + 1), t.get(i + 2)) {
            (T::Punct(p), Some(T::Ident(m)), Some(T::Ident(name)))
                if p.as_char() == '&' && m == "mut" =>
            {
                out.push(name.clone())
            }
            (T::Group(g), ..) => out.extend(mut_borrowed(g.stream())),
            _ => {}
        }
    }
    out
}

/// Whether every mention of `id` in `tokens` is `id.len()` or `id.is_empty()`.
fn only_lengths(tokens: proc_macro2::TokenStream, id: &syn::Ident) -> bool {
    use proc_macro2::TokenTree as T;
    let t: Vec<T> = tokens.into_iter().collect();
    t.iter().enumerate().all(|(i, tt)| match tt {
        T::Ident(x) if x == id => matches!(
            (t.get(i + 1), t.get(i + 2), t.get(i + 3)),
            (Some(T::Punct(p)), Some(T::Ident(m)), Some(T::Group(g)))
                if p.as_char() == '.' && (m == "len" || m == "is_empty") && g.stream().is_empty()
        ),
        T::Group(g) => only_lengths(g.stream(), id),
        _ => true,
    })
}

/// The variable `a` borrows whole or in part, if it is written `&v` or `&v[..]`.
fn borrowed_var(a: &Expr, vars: &[Var]) -> Option<VarId> {
    let ExprKind::Opaque { tokens, refs } = &a.kind else {
        return None;
    };
    let [v] = refs.as_slice() else {
        return None;
    };
    borrow_of(tokens, &vars[*v]).map(|_| *v)
}

/// The type of an expression, from what is known of its parts.
pub fn type_of(e: &Expr, vars: &[Var]) -> Ty {
    match &e.kind {
        ExprKind::Lit(syn::Lit::Float(_)) => Ty::Float,
        ExprKind::Lit(syn::Lit::Int(i)) => match i.suffix() {
            "f64" | "f32" => Ty::Float,
            _ => Ty::Int,
        },
        ExprKind::Lit(syn::Lit::Bool(_)) => Ty::Bool,
        ExprKind::Lit(_) => Ty::Other,
        ExprKind::Var(v) => vars[*v].ty,
        ExprKind::Path(p) => {
            let floaty = p
                .path
                .segments
                .iter()
                .any(|s| s.ident == "f64" || s.ident == "consts");
            if floaty {
                Ty::Float
            } else {
                Ty::Unknown
            }
        }
        ExprKind::Unary(UnOp::Test(_), _) => Ty::Bool,
        ExprKind::Unary(_, a) => type_of(a, vars),
        ExprKind::Binary(op, a, b) => {
            if op.is_comparison() || op.is_logic() {
                Ty::Bool
            } else {
                join(type_of(a, vars), type_of(b, vars))
            }
        }
        ExprKind::Rule { args, .. } => args
            .iter()
            .map(|a| type_of(a, vars))
            .fold(Ty::Unknown, join),
        // Active through a float argument or an array one (`g(&z)`).
        ExprKind::Call { .. } => {
            if is_active(e, vars) {
                Ty::Float
            } else {
                Ty::Unknown
            }
        }
        ExprKind::Cast(_, ty) => match crate::lower::classify_type(ty) {
            Ty::Unknown => Ty::Other,
            t => t,
        },
        ExprKind::Opaque { .. } => Ty::Unknown,
        ExprKind::Index { var, index } => match vars[*var].ty {
            Ty::FloatArray(rank) if usize::from(rank) == index.len() => Ty::Float,
            Ty::FloatArray(_) => Ty::Other,
            _ => Ty::Unknown,
        },
        ExprKind::ArrayNew { elem, .. } => match type_of(elem, vars) {
            Ty::Float => Ty::FloatArray(1),
            Ty::FloatArray(1) => Ty::FloatArray(2),
            Ty::Unknown => Ty::Unknown,
            _ => Ty::Other,
        },
    }
}

fn join(a: Ty, b: Ty) -> Ty {
    match (a, b) {
        (Ty::Float, _) | (_, Ty::Float) => Ty::Float,
        (Ty::Unknown, t) | (t, Ty::Unknown) => t,
        (t, _) => t,
    }
}

/// Whether an expression carries a derivative.
pub fn is_active(e: &Expr, vars: &[Var]) -> bool {
    match &e.kind {
        ExprKind::Var(v) => vars[*v].active,
        ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Opaque { .. } => false,
        ExprKind::Unary(UnOp::Neg, a) => is_active(a, vars),
        ExprKind::Unary(UnOp::Not | UnOp::Test(_), _) => false,
        ExprKind::Binary(op, a, b) => op.is_arith() && (is_active(a, vars) || is_active(b, vars)),
        ExprKind::Rule { args, .. } => args.iter().any(|a| is_active(a, vars)),
        // A call is active through its float arguments and the arrays it is passed.
        ExprKind::Call { args, .. } => args.iter().any(|a| {
            is_active(a, vars)
                || matches!(array_argument(a, vars), Ok(Some((v, _))) if vars[v].active)
        }),
        ExprKind::Cast(a, ty) => crate::lower::classify_type(ty) == Ty::Float && is_active(a, vars),
        ExprKind::Index { var, .. } => vars[*var].active,
        ExprKind::ArrayNew { elem, .. } => is_active(elem, vars),
    }
}

struct Infer<'a> {
    vars: &'a mut Vec<Var>,
    changed: bool,
    /// Variables read as `v[i]`, with the number of indices.
    indexed: &'a std::collections::HashMap<VarId, usize>,
}

impl Infer<'_> {
    fn set_ty(&mut self, v: VarId, ty: Ty) {
        if self.vars[v].ty == Ty::Unknown && ty != Ty::Unknown {
            self.vars[v].ty = ty;
            self.changed = true;
        }
    }

    fn set_active(&mut self, v: VarId) {
        let floaty = matches!(self.vars[v].ty, Ty::Float | Ty::FloatArray(_));
        if !self.vars[v].active && floaty {
            self.vars[v].active = true;
            self.changed = true;
        }
    }

    fn block(&mut self, b: &Block) {
        for s in b {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { var, init } => {
                if let Some(e) = init {
                    self.assigned(*var, e);
                }
            }
            Stmt::LetCall { vars, call, .. } => {
                self.expr(call);
                // A callee with several outputs returns floats; with no derivative going in,
                // the outputs are whatever their uses say.
                if is_active(call, self.vars) {
                    for v in vars.iter().flatten() {
                        self.set_ty(*v, Ty::Float);
                        self.set_active(*v);
                    }
                }
            }
            Stmt::Assign { var, value, .. } => self.assigned(*var, value),
            Stmt::If { cond, then, els } => {
                self.expect(cond, Ty::Bool);
                self.block(then);
                self.block(els);
            }
            Stmt::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for arm in arms {
                    if let Some(g) = &arm.guard {
                        self.expect(g, Ty::Bool);
                    }
                    self.block(&arm.body);
                }
            }
            Stmt::Block(b) => self.block(b),
            Stmt::Return { values, .. } => {
                for v in values {
                    self.expect(v, Ty::Float);
                }
            }
            Stmt::Store {
                var, index, value, ..
            } => {
                for i in index {
                    self.expect(i, Ty::Int);
                }
                self.element_written(*var, value);
            }
            Stmt::Loop { kind, body, .. } => {
                match kind {
                    LoopKind::For { range, .. } => {
                        if let Some(r) = range {
                            self.expect(&r.start, Ty::Int);
                            self.expect(&r.end, Ty::Int);
                        }
                    }
                    LoopKind::While { cond } => self.expect(cond, Ty::Bool),
                    LoopKind::Elements { .. } | LoopKind::Infinite => {}
                }
                self.block(body);
            }
            Stmt::Push { var, value } => {
                // A vector of floats if a float is pushed, else data (`idx.push(i)`).
                match type_of(value, self.vars) {
                    Ty::Float => self.set_ty(*var, Ty::FloatArray(1)),
                    Ty::Int | Ty::Bool | Ty::Other => self.set_ty(*var, Ty::Other),
                    _ => {}
                }
                self.element_written(*var, value);
            }
            Stmt::Passive(_) | Stmt::Exit { .. } => {}
        }
    }

    /// `value` is stored into (or pushed onto) array `var`: a float if the array holds floats,
    /// and the array carries a derivative if the value does.
    fn element_written(&mut self, var: VarId, value: &Expr) {
        if matches!(self.vars[var].ty, Ty::FloatArray(_)) {
            self.expect(value, Ty::Float);
        } else {
            self.expr(value);
        }
        if is_active(value, self.vars) {
            self.set_active(var);
        }
    }

    fn assigned(&mut self, var: VarId, value: &Expr) {
        let ty = match (&value.kind, self.indexed.get(&var)) {
            // `let k = g(x); .. k[i] ..`: `g` returns `[f64; N]`.
            (ExprKind::Call { .. }, Some(&1))
                if self.vars[var].ty == Ty::Unknown && is_active(value, self.vars) =>
            {
                Ty::FloatArray(1)
            }
            _ => type_of(value, self.vars),
        };
        self.set_ty(var, ty);
        let var_ty = self.vars[var].ty;
        self.expect(value, var_ty);
        if is_active(value, self.vars) {
            self.set_active(var);
        }
    }

    /// `e` is used where a value of type `ty` is expected.
    fn expect(&mut self, e: &Expr, ty: Ty) {
        match &e.kind {
            ExprKind::Var(v) => self.set_ty(*v, ty),
            ExprKind::Unary(UnOp::Neg, a) => self.expect(a, ty),
            ExprKind::Binary(op, a, b)
                if op.is_arith() || matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor) =>
            {
                self.expect(a, ty);
                self.expect(b, ty);
            }
            ExprKind::Rule { args, .. } if ty == Ty::Float => {
                for a in args {
                    self.expect(a, Ty::Float);
                }
            }
            _ => {}
        }
        self.expr(e);
    }

    /// Propagates what an expression's own structure says about its parts.
    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Unary(UnOp::Test(_), a) => self.expect(a, Ty::Float),
            ExprKind::Unary(_, a) => self.expr(a),
            ExprKind::Binary(op, a, b) => {
                // Both sides of arithmetic and comparisons have one type.
                let t = join(type_of(a, self.vars), type_of(b, self.vars));
                if op.is_arith() || op.is_comparison() {
                    self.expect(a, t);
                    self.expect(b, t);
                } else {
                    self.expr(a);
                    self.expr(b);
                }
            }
            ExprKind::Rule { args, int_arg, .. } => {
                let t = args
                    .iter()
                    .map(|a| type_of(a, self.vars))
                    .fold(Ty::Unknown, join);
                for a in args {
                    self.expect(a, t);
                }
                if let Some(i) = int_arg {
                    self.expect(i, Ty::Int);
                }
            }
            ExprKind::Call { args, .. } => {
                args.iter().for_each(|a| self.expr(a));
                // An array lent `&mut` to a call that carries a derivative comes back with one.
                if is_active(e, self.vars) {
                    for v in lent_arrays(e, self.vars) {
                        self.set_active(v);
                    }
                }
            }
            ExprKind::Cast(a, _) => self.expr(a),
            ExprKind::Index { index, .. } => {
                for i in index {
                    self.expect(i, Ty::Int);
                }
            }
            ExprKind::ArrayNew { elem, len, .. } => {
                self.expr(elem);
                self.expect(len, Ty::Int);
            }
            ExprKind::Var(_) | ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Opaque { .. } => {}
        }
    }
}

/// Checks that need the inferred facts.
fn check_block(b: &Block, vars: &[Var], errors: &mut Errors) {
    for s in b {
        match s {
            Stmt::Assign { var, value, .. }
                if matches!(vars[*var].ty, Ty::FloatArray(_))
                    && matches!(value.kind, ExprKind::Call { .. }) =>
            {
                // Lowering copies a call's result into an array it knows element by element;
                // this one it took for a float where the assignment is.
                errors.range(
                    value.span,
                    value.end,
                    format!(
                        "`{0}` is an array, but `#[differentiate]` took it for a float here: \
                         index it or pass it as `&{0}` somewhere in the function, or declare it \
                         `let mut {0} = [0.0; N];`",
                        vars[*var].user_name
                    ),
                );
            }
            Stmt::Let { init: Some(e), .. } | Stmt::Assign { value: e, .. } => {
                check_expr(e, vars, errors);
                let whole_array = matches!(e.kind, ExprKind::Var(v)
                    if matches!(vars[v].ty, Ty::FloatArray(_)) && vars[v].active);
                if whole_array {
                    // Copies written by the user are lowered element by element before this;
                    // what is left is an array as a value, which the reverse sweep cannot follow.
                    errors.range(
                        e.span,
                        e.end,
                        "an array that carries a derivative cannot be the value of a block, an \
                         `if` or a closure, nor a closure's `mut` parameter: declare it before \
                         (`let mut b = [0.0; N];` or `vec![0.0; n]`) and assign its elements",
                    );
                }
            }
            Stmt::LetCall { call, .. } => check_expr(call, vars, errors),
            Stmt::Push { value, .. } if matches!(type_of(value, vars), Ty::FloatArray(_)) => {
                errors.range(
                    value.span,
                    value.end,
                    "a vector of arrays (`rows.push(r)`) is not supported: push the elements into \
                     one flat vector (`hist.push(s[0]); hist.push(s[1]);`, read back as \
                     `hist[2 * k + j]`)",
                );
            }
            Stmt::Push { value, .. } => check_expr(value, vars, errors),
            Stmt::Let { init: None, .. } | Stmt::Passive(_) => {}
            Stmt::If { cond, then, els } => {
                check_expr(cond, vars, errors);
                check_block(then, vars, errors);
                check_block(els, vars, errors);
            }
            Stmt::Match { scrutinee, arms } => {
                // A tuple scrutinee is an opaque tuple of the variables holding its parts.
                let float_part = match &scrutinee.kind {
                    ExprKind::Opaque { refs, .. } => refs.iter().any(|v| vars[*v].ty == Ty::Float),
                    _ => false,
                };
                if float_part || type_of(scrutinee, vars) == Ty::Float {
                    errors.range(
                        scrutinee.span,
                        scrutinee.end,
                        "`match` on a float is not supported: compare with `if`/`else if`",
                    );
                } else {
                    check_expr(scrutinee, vars, errors);
                }
                for arm in arms {
                    if let Some(g) = &arm.guard {
                        check_expr(g, vars, errors);
                    }
                    check_block(&arm.body, vars, errors);
                }
            }
            Stmt::Block(b) => check_block(b, vars, errors),
            Stmt::Store {
                var, index, value, ..
            } => {
                check_expr(value, vars, errors);
                index.iter().for_each(|i| check_expr(i, vars, errors));
                let v = &vars[*var];
                if let Ty::FloatArray(rank) = v.ty {
                    if usize::from(rank) != index.len() {
                        errors.range(
                            value.span,
                            value.end,
                            format!(
                                "`{}` has {rank} dimension(s): assign one element at a time",
                                v.user_name
                            ),
                        );
                    }
                } else if is_active(value, vars) {
                    errors.range(
                        value.span,
                        value.end,
                        format!(
                            "`{}` is not a float array, so it cannot hold a value that carries a \
                             derivative: declare it as `vec![0.0; n]` or `[0.0; N]`",
                            v.user_name
                        ),
                    );
                }
            }
            Stmt::Loop { kind, body, .. } => {
                match kind {
                    LoopKind::For { iter, .. } => check_expr(iter, vars, errors),
                    LoopKind::While { cond } => check_expr(cond, vars, errors),
                    LoopKind::Elements { arrays, .. } => {
                        for a in arrays {
                            if vars[*a].ty == Ty::FloatArray(2) {
                                errors.push(
                                    vars[*a].span,
                                    "iterating over the rows of a 2-D array is not supported: \
                                     index them with `for i in 0..x.len()` and `x[i][j]`",
                                );
                            }
                        }
                    }
                    LoopKind::Infinite => {}
                }
                check_block(body, vars, errors);
            }
            Stmt::Exit { .. } => {}
            Stmt::Return { values, .. } => {
                for v in values {
                    check_expr(v, vars, errors);
                    if matches!(type_of(v, vars), Ty::Int | Ty::Bool) {
                        errors.range(v.span, v.end, "the returned value must be an `f64`");
                    }
                }
            }
        }
    }
}

/// A parameter of a type the macro does not know (an alias such as `type Real = f64;`) used
/// as a float: it would silently get no derivative.
fn check_aliased_float(operand: &Expr, float_context: bool, vars: &[Var], errors: &mut Errors) {
    let ExprKind::Var(v) = &operand.kind else {
        return;
    };
    let var = &vars[*v];
    if !(float_context && var.ty == Ty::Other && matches!(var.kind, VarKind::Param { .. })) {
        return;
    }
    let ty = var
        .written_ty
        .as_ref()
        .map_or_else(String::new, |t| crate::lower::show(t));
    errors.range(
        operand.span,
        operand.end,
        format!(
            "`{}` is used as a float, but its type `{ty}` is not `f64` to `#[differentiate]` (an \
             alias is not followed), so it would get no derivative: write its type as `f64` \
             (with `#[constant]` if it is data)",
            var.user_name
        ),
    );
}

fn check_expr(e: &Expr, vars: &[Var], errors: &mut Errors) {
    match &e.kind {
        ExprKind::Binary(op, a, b) if op.is_arith() || op.is_comparison() => {
            check_aliased_float(a, type_of(b, vars) == Ty::Float, vars, errors);
            check_aliased_float(b, type_of(a, vars) == Ty::Float, vars, errors);
        }
        ExprKind::Rule { args, .. } => {
            for a in args {
                check_aliased_float(a, true, vars, errors);
            }
        }
        _ => {}
    }
    match &e.kind {
        ExprKind::Opaque { refs, tokens } => {
            // `k.len()` of an array reads no value of it.
            let length_only = |v: VarId| {
                matches!(vars[v].ty, Ty::FloatArray(_))
                    && only_lengths(tokens.clone(), &vars[v].ident)
            };
            // `stack.pop()` of a vector of floats, even of data: its elements are of the scalar
            // type in `_generic`, where the value taken out would not be an `f64`.
            let taken_out = |v: VarId| {
                matches!(vars[v].ty, Ty::FloatArray(_))
                    && !matches!(vars[v].kind, VarKind::Param { .. })
                    && takes_elements_out(tokens.clone(), &vars[v].ident)
            };
            if let Some(&v) = refs.iter().find(|v| !vars[**v].active && taken_out(**v)) {
                errors.range(
                    e.span,
                    e.end,
                    format!(
                        "taking elements out of the float vector `{}` (`.pop()`, `.remove(i)`, \
                         ...) is not supported: walk it with an index \
                         (`for i in (0..{}.len()).rev()`)",
                        vars[v].user_name, vars[v].user_name
                    ),
                );
            } else if let Some(v) = refs.iter().find(|v| vars[**v].active && !length_only(**v)) {
                let instead = method_hint(tokens.clone()).unwrap_or(
                    "use arithmetic, the `f64` methods of the rule table, or a call of a \
                     `#[differentiate]` function",
                );
                errors.range(
                    e.span,
                    e.end,
                    format!(
                        "this expression uses `{}`, which carries a derivative, in a way \
                         `#[differentiate]` cannot follow: {instead}",
                        vars[*v].user_name
                    ),
                );
            }
        }
        ExprKind::Binary(BinOp::Rem, _, b) if is_active(b, vars) => {
            errors.range(
                e.span,
                e.end,
                "the remainder `%` is differentiable only in its left operand here: the right \
                 operand must not depend on a differentiated input",
            );
        }
        // An integer cast (`(t / h).floor() as usize`) keeps the value and drops the
        // derivative: the result is piecewise constant. (`as f32` is reported by lowering.)
        _ => {}
    }
    if let ExprKind::Index { var, index } = &e.kind {
        if vars[*var].ty == Ty::Float {
            // `let p = pair(x); p[0]`: the call gives one value as far as the transform knows.
            errors.range(
                e.span,
                e.end,
                format!(
                    "`{}` holds a single `f64` as far as `#[differentiate]` can see, so it \
                     cannot be indexed: the `[f64; N]` result of a `#[differentiate]` function \
                     can be (`let k = g(x); k[0]`), a closure's cannot; bind the values to a \
                     local array (`let k = [a, b];`)",
                    vars[*var].user_name
                ),
            );
        }
        if let Ty::FloatArray(rank) = vars[*var].ty {
            if usize::from(rank) > index.len() {
                errors.range(
                    e.span,
                    e.end,
                    "read one element at a time (`x[i][j]`): rows of an array cannot be taken \
                     as values",
                );
            }
        }
    }
    let mut refs = Vec::new();
    match &e.kind {
        ExprKind::Index { index, .. } => index.iter().for_each(|i| check_expr(i, vars, errors)),
        ExprKind::ArrayNew { elem, len, .. } => {
            check_expr(elem, vars, errors);
            check_expr(len, vars, errors);
        }
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => check_expr(a, vars, errors),
        ExprKind::Call { args, .. } => {
            for a in args {
                match array_argument(a, vars) {
                    Ok(Some(_)) => {}
                    Ok(None) => check_expr(a, vars, errors),
                    Err(()) => errors.range(
                        a.span,
                        a.end,
                        "pass an array to a `#[differentiate]` function as `w`, `&w` or \
                         `&w[a..b]`, of a parameter or a local: bind anything else to a local \
                         array first (`let v = [a, b];`, or `vec![0.0; n]` filled in a loop)",
                    ),
                }
            }
        }
        ExprKind::Binary(_, a, b) => {
            check_expr(a, vars, errors);
            check_expr(b, vars, errors);
        }
        ExprKind::Rule { args, int_arg, .. } => {
            args.iter().for_each(|a| check_expr(a, vars, errors));
            if let Some(i) = int_arg {
                collect_refs(i, &mut refs);
                if type_of(i, vars) != Ty::Int && refs.iter().any(|v| vars[*v].active) {
                    errors.range(i.span, i.end, "the exponent of `powi` must be an integer");
                }
            }
        }
        _ => {}
    }
}

/// What to write instead of the first method in `tokens` that has a usual replacement.
fn method_hint(tokens: proc_macro2::TokenStream) -> Option<&'static str> {
    let mut after_dot = false;
    for tt in tokens {
        match &tt {
            proc_macro2::TokenTree::Ident(id) if after_dot => {
                let hint = match id.to_string().as_str() {
                    "first" | "last" | "get" => {
                        "index the array instead (`w[0]`, `w[w.len() - 1]`, `w[i]`)"
                    }
                    "collect" => {
                        "collect an array's chain in a `let` of its own (`let v: Vec<f64> = \
                         w.iter().map(|x| ..).collect();`), or make the new array with \
                         `vec![0.0; n]` and assign its elements in a loop"
                    }
                    "skip" | "take" | "windows" | "chunks" | "step_by" | "iter_mut" => {
                        "start the chain from an array of the function (`w.iter().skip(1)`, \
                         `w.windows(2)`), or walk an index range (`for i in 1..w.len()`) and \
                         index the arrays"
                    }
                    "max_by" | "min_by" | "reduce" | "max_by_key" | "min_by_key" => {
                        "use `.fold(f64::NEG_INFINITY, f64::max)` or a loop"
                    }
                    _ => "",
                };
                if !hint.is_empty() {
                    return Some(hint);
                }
            }
            proc_macro2::TokenTree::Group(g) => {
                if let Some(h) = method_hint(g.stream()) {
                    return Some(h);
                }
            }
            _ => {}
        }
        after_dot = matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == '.');
    }
    None
}

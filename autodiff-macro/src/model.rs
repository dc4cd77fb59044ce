//! The small model of an annotated function that every transform works on.
//!
//! Lowering (`lower.rs`) turns the user's syntax into this model: variables resolved to
//! [`VarId`]s (so shadowing is explicit), control flow inside expressions hoisted into
//! statements (`let y = if c { a } else { b }` becomes a declaration plus an `if` statement
//! that assigns `y`), and every expression tagged with enough information to know its type.
//! Inference (`infer.rs`) then fixes each variable's type and whether it is active (depends on
//! a differentiated input). The emitters (`forward.rs`, `reverse.rs`) only read the model.

use proc_macro2::{Span, TokenStream};
use syn::Ident;

/// Index of a variable in [`Function::vars`].
pub type VarId = usize;

/// What the model knows of a value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `f64`: may carry a derivative.
    Float,
    /// Any integer type.
    Int,
    /// `bool`.
    Bool,
    /// Something else that passes through untouched (references to data, user types).
    Other,
    /// Not known yet: fixed by inference from later uses, or an error.
    Unknown,
    /// An array of floats (`&[f64]`, `[f64; N]`, `&Vec<f64>`, `Vec<f64>`) of this rank:
    /// 1, or 2 for rows of fixed length (`&[[f64; N]]`).
    FloatArray(u8),
}

/// A variable: a parameter, a user `let`, or a temporary made by lowering.
pub struct Var {
    /// The identifier emitted for it everywhere (declaration and uses). User variables keep
    /// their name and span unless the name is shadowed, in which case later bindings get a
    /// numbered mixed-site name.
    pub ident: Ident,
    /// The name as the user wrote it (for messages).
    pub user_name: String,
    pub ty: Ty,
    /// The type as written, for variables that are not floats (kept in emitted code).
    pub written_ty: Option<syn::Type>,
    pub mutable: bool,
    /// Depends on a differentiated input (set by inference; floats only).
    pub active: bool,
    pub kind: VarKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// A function parameter; `differentiated` is false for `#[constant]` and non-float ones.
    Param { index: usize, differentiated: bool },
    /// A `let` binding written by the user.
    Local,
    /// A temporary introduced by lowering (for `if`/`match`/block expressions).
    Temp,
}

/// The shape of what the function returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetShape {
    /// `-> f64`
    Scalar,
    /// `-> (f64, f64, ...)` with this many elements.
    Tuple(usize),
    /// `-> [f64; M]`
    Array(usize),
    /// No return type: a function whose outputs are its `&mut` array parameters.
    Unit,
}

impl RetShape {
    pub fn len(self) -> usize {
        match self {
            RetShape::Scalar => 1,
            RetShape::Tuple(n) | RetShape::Array(n) => n,
            RetShape::Unit => 0,
        }
    }
}

/// A parameter of the annotated function.
pub struct Param {
    pub var: VarId,
    /// The type as written (`f64`, `usize`, `&[f64]`, ...).
    pub ty: syn::Type,
}

/// The whole annotated function.
pub struct Function {
    pub name: Ident,
    pub vis: syn::Visibility,
    pub params: Vec<Param>,
    pub ret: RetShape,
    pub vars: Vec<Var>,
    pub body: Block,
    /// `#[differentiate(partials = path)]`: the user's rule for the value and partial
    /// derivatives, used instead of differentiating the body.
    pub partials: Option<syn::Path>,
    /// Statements run for their effect and emitted as written: calls on values not known to
    /// be floats (`v.push(1)`) and user macros, with the variables they mention. Inference
    /// rejects those that mention a float or a float array: they may change it unseen.
    pub effect_calls: Vec<EffectCall>,
    /// Declared inside an `impl` block (a receiver, a mention of `Self`, or
    /// `#[differentiate(method)]`): the siblings are associated functions beside it and call
    /// each other as `Self::name`, or `self.name` with a receiver.
    pub in_impl: bool,
    /// The first parameter is the receiver `&self`: data without a derivative, like a
    /// `#[constant]` parameter, declared `self: &Self` in the siblings.
    pub receiver: bool,
    /// The function's const parameters (`const N: usize`), which every sibling declares too.
    pub const_generics: Vec<syn::ConstParam>,
    /// Vectors of floats made empty (`Vec::new()`) and grown by `push`.
    pub pushed: std::collections::HashSet<VarId>,
    /// `&mut` float array parameters (outputs, or inputs updated in place), each with the
    /// local the body works on: `let mut out = out.to_vec();` first, and its elements copied
    /// back into the parameter before every return. The caller's derivative buffer for such a
    /// parameter holds the adjoint of its final values on entry to the backpropagator and of
    /// its first values on return.
    pub inout: Vec<(VarId, VarId)>,
}

impl Function {
    /// Whether `v` is a `&mut` array parameter.
    pub fn is_inout(&self, v: VarId) -> bool {
        self.inout.iter().any(|&(p, _)| p == v)
    }
}

impl Function {
    /// The const parameters' declarations, for a sibling's generics list.
    pub fn const_decls(&self) -> Vec<proc_macro2::TokenStream> {
        self.const_generics
            .iter()
            .map(|c| {
                let (id, ty) = (&c.ident, &c.ty);
                quote::quote!(const #id: #ty)
            })
            .collect()
    }

    /// The const parameters' names, passed on in a sibling call's turbofish.
    pub fn const_args(&self) -> Vec<syn::Ident> {
        self.const_generics
            .iter()
            .map(|c| c.ident.clone())
            .collect()
    }

    /// `<decls...>` with `leading` first (a lifetime, the scalar type), or nothing if empty.
    pub fn generics(&self, leading: &[proc_macro2::TokenStream]) -> proc_macro2::TokenStream {
        let all: Vec<_> = leading.iter().cloned().chain(self.const_decls()).collect();
        if all.is_empty() {
            quote::quote!()
        } else {
            quote::quote!(<#(#all),*>)
        }
    }

    /// Parameters that get a derivative slot, in order.
    pub fn differentiated_params(&self) -> Vec<VarId> {
        self.params
            .iter()
            .filter(|p| {
                matches!(
                    self.vars[p.var].kind,
                    VarKind::Param {
                        differentiated: true,
                        ..
                    }
                )
            })
            .map(|p| p.var)
            .collect()
    }
}

/// A statement emitted as written for its effect (see [`Function::effect_calls`]).
pub struct EffectCall {
    pub tokens: proc_macro2::TokenStream,
    pub refs: Vec<VarId>,
    /// `Some(name)` for a macro call `name!(..)`.
    pub mac: Option<String>,
}

pub type Block = Vec<Stmt>;

/// A loop's body without the block lowering wraps the user's body in (`for .. { { .. } }`):
/// the loop's braces scope it already.
pub fn loop_body(body: &[Stmt]) -> &[Stmt] {
    match body {
        [Stmt::Block(inner)] => inner,
        b => b,
    }
}

pub enum Stmt {
    /// `let x = init;` or `let x;` (a declaration assigned later).
    Let { var: VarId, init: Option<Expr> },
    /// `let (a, b) = g(..);` of a function with several outputs: `vars[i]` is bound to output
    /// `i` (`None` for `_`), and `call` is an [`ExprKind::Call`].
    LetCall {
        vars: Vec<Option<VarId>>,
        call: Expr,
        /// `let [a, b] = g(..);` of a callee returning `[f64; 2]` (else a tuple).
        array: bool,
    },
    /// `x = value`, or `x op= value` when `op` is set.
    Assign {
        var: VarId,
        op: Option<BinOp>,
        value: Expr,
        span: Span,
    },
    /// `if cond { then } else { els }` (statement form; an empty `els` for no `else`).
    If { cond: Expr, then: Block, els: Block },
    /// `match scrutinee { arms }` on a value that is not a float.
    Match { scrutinee: Expr, arms: Vec<Arm> },
    /// `{ ... }`: a nested scope.
    Block(Block),
    /// `a[i] = value`, `a[i][j] op= value` on a local float array.
    Store {
        var: VarId,
        index: Vec<Expr>,
        op: Option<BinOp>,
        value: Expr,
        span: Span,
    },
    /// `v.push(value)` on a vector of floats made with `Vec::new()` (one of
    /// [`Function::pushed`]).
    Push { var: VarId, value: Expr },
    /// A loop; `label` as written (`'outer`), if any.
    Loop {
        kind: LoopKind,
        body: Block,
        label: Option<syn::Lifetime>,
    },
    /// `break` or `continue`, to the loop labelled `label` or the innermost one.
    Exit {
        kind: ExitKind,
        label: Option<syn::Lifetime>,
    },
    /// `return values;` (or the function's tail expression): one expression per output.
    Return { values: Vec<Expr> },
    /// A statement on values that carry no derivative, emitted as written (after renaming):
    /// `let n = xs.len();`, `debug_assert!(n > 0);`.
    Passive(TokenStream),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    Break,
    Continue,
}

pub enum LoopKind {
    /// `for var in iter`: `iter` over integers, as written (after renaming); `range` when it is
    /// a plain range that the reverse sweep can walk backwards without recording it.
    For {
        var: VarId,
        iter: Expr,
        range: Option<Range>,
    },
    /// `for x in xs`, `for (i, &x) in xs.iter().enumerate()`, `xs.iter().zip(ys)`, and the
    /// reductions `.sum()`/`.product()` over them: `var` walks `0..len` of the shortest array;
    /// the body starts by reading the elements.
    Elements { var: VarId, arrays: Vec<VarId> },
    /// `while cond`.
    While { cond: Expr },
    /// `loop`.
    Infinite,
}

/// `start..end`, `start..=end`, and their `.rev()`.
#[derive(Clone)]
pub struct Range {
    pub start: Expr,
    pub end: Expr,
    pub inclusive: bool,
    pub reversed: bool,
}

pub struct Arm {
    pub pat: TokenStream,
    pub guard: Option<Expr>,
    pub body: Block,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    // Comparisons and logic: their value is a `bool`.
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    // Bitwise and shifts on integers and bools.
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
        )
    }

    pub fn is_logic(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or)
    }

    pub fn is_arith(self) -> bool {
        matches!(
            self,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem
        )
    }

    /// The compound assignment `op=`.
    pub fn assign_tokens(self) -> TokenStream {
        use quote::quote;
        match self {
            BinOp::Add => quote!(+=),
            BinOp::Sub => quote!(-=),
            BinOp::Mul => quote!(*=),
            BinOp::Div => quote!(/=),
            BinOp::Rem => quote!(%=),
            BinOp::BitAnd => quote!(&=),
            BinOp::BitOr => quote!(|=),
            BinOp::BitXor => quote!(^=),
            BinOp::Shl => quote!(<<=),
            BinOp::Shr => quote!(>>=),
            // Not compound operators; lowering never produces these.
            _ => self.tokens(),
        }
    }

    pub fn tokens(self) -> TokenStream {
        use quote::quote;
        match self {
            BinOp::Add => quote!(+),
            BinOp::Sub => quote!(-),
            BinOp::Mul => quote!(*),
            BinOp::Div => quote!(/),
            BinOp::Rem => quote!(%),
            BinOp::Lt => quote!(<),
            BinOp::Le => quote!(<=),
            BinOp::Gt => quote!(>),
            BinOp::Ge => quote!(>=),
            BinOp::Eq => quote!(==),
            BinOp::Ne => quote!(!=),
            BinOp::And => quote!(&&),
            BinOp::Or => quote!(||),
            BinOp::BitAnd => quote!(&),
            BinOp::BitOr => quote!(|),
            BinOp::BitXor => quote!(^),
            BinOp::Shl => quote!(<<),
            BinOp::Shr => quote!(>>),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    /// A test of a float that gives a `bool` and carries no derivative: `x.is_nan()`,
    /// `x.is_finite()`, ... (the method's name).
    Test(&'static str),
}

/// The `bool` tests of a float, `x.is_nan()` or `f64::is_nan(x)`, allowed in conditions.
pub const FLOAT_TESTS: [&str; 6] = [
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_sign_positive",
    "is_sign_negative",
];

#[derive(Clone)]
pub struct Expr {
    pub kind: ExprKind,
    /// The first and last token of the expression as written (errors underline the range).
    pub span: Span,
    pub end: Span,
}

#[derive(Clone)]
pub enum ExprKind {
    /// A literal number or bool, as written.
    Lit(syn::Lit),
    /// A variable of the function.
    Var(VarId),
    /// A path that is not a local: a `const`, `std::f64::consts::PI`, `f64::EPSILON`.
    /// Its type is known only from context (it never carries a derivative).
    Path(syn::ExprPath),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// An elementary function of the rule table, in either call form: `x.sin()` or
    /// `f64::sin(x)`. `args` are the float arguments (receiver first); `int_arg` is the
    /// integer exponent of `powi`.
    Rule {
        rule: &'static crate::rules::Rule,
        args: Vec<Expr>,
        int_arg: Option<Box<Expr>>,
    },
    /// A call of another function: `g(a, b)`, `module::g(a)`. When any argument is active the
    /// callee must be `#[differentiate]`d (its derivative siblings are called).
    Call {
        path: syn::Path,
        args: Vec<Expr>,
    },
    /// `expr as T`.
    Cast(Box<Expr>, syn::Type),
    /// An element of a float array: `w[i]`, `x[i][j]`.
    Index {
        var: VarId,
        index: Vec<Expr>,
    },
    /// A new array: `[elem; len]` (`vec: false`) or `vec![elem; len]`.
    ArrayNew {
        elem: Box<Expr>,
        len: Box<Expr>,
        vec: bool,
    },
    /// An expression on non-float values that the transform does not look into
    /// (`xs.len()`, `n.pow(2)`), emitted as written after renaming locals; `refs` are the
    /// variables it mentions.
    Opaque {
        tokens: TokenStream,
        refs: Vec<VarId>,
    },
}

/// An array passed to a call, as `w`, `&w` or `&w[a..b]`: the array, and the brackets of the
/// range if there is one. `Err` for other expressions that mention an array (`&w[..]` of two
/// arrays, `w.as_slice()`), `Ok(None)` for arguments without arrays.
pub fn array_argument(
    e: &Expr,
    vars: &[Var],
) -> Result<Option<(VarId, Option<proc_macro2::Group>)>, ()> {
    let is_array = |v: VarId| matches!(vars[v].ty, Ty::FloatArray(_));
    match &e.kind {
        ExprKind::Var(v) if is_array(*v) => Ok(Some((*v, None))),
        ExprKind::Opaque { tokens, refs } => {
            let arrays: Vec<VarId> = refs.iter().copied().filter(|&v| is_array(v)).collect();
            let [array] = arrays.as_slice() else {
                return if arrays.is_empty() { Ok(None) } else { Err(()) };
            };
            match borrow_of(tokens, &vars[*array]) {
                Some(range) => Ok(Some((*array, range))),
                None => Err(()),
            }
        }
        _ => Ok(None),
    }
}

/// Whether `tokens` are `&v` or `&v[a..b]` (or `&mut v`, `&mut v[a..b]`) of the variable `v`:
/// `Some` with the brackets of the range, if there is one.
pub fn borrow_of(tokens: &proc_macro2::TokenStream, v: &Var) -> Option<Option<proc_macro2::Group>> {
    use proc_macro2::TokenTree as T;
    let mut t: Vec<T> = tokens.clone().into_iter().collect();
    if matches!(t.get(1), Some(T::Ident(m)) if m == "mut") {
        t.remove(1);
    }
    match t.as_slice() {
        [T::Punct(p), T::Ident(i)] if p.as_char() == '&' && *i == v.ident => Some(None),
        [T::Punct(p), T::Ident(i), T::Group(g)]
            if p.as_char() == '&'
                && *i == v.ident
                && g.delimiter() == proc_macro2::Delimiter::Bracket =>
        {
            Some(Some(g.clone()))
        }
        _ => None,
    }
}

/// Whether `e` is an argument written `&mut ..`: an array the callee may change.
pub fn is_mut_borrow(e: &Expr) -> bool {
    use proc_macro2::TokenTree as T;
    let ExprKind::Opaque { tokens, .. } = &e.kind else {
        return false;
    };
    let mut t = tokens.clone().into_iter();
    matches!(
        (t.next(), t.next()),
        (Some(T::Punct(p)), Some(T::Ident(m))) if p.as_char() == '&' && m == "mut"
    )
}

/// The arrays a call's arguments lend `&mut` (`g(x, &mut h)`): the callee may change them.
pub fn lent_arrays(call: &Expr, vars: &[Var]) -> Vec<VarId> {
    let ExprKind::Call { args, .. } = &call.kind else {
        return Vec::new();
    };
    args.iter()
        .filter(|a| is_mut_borrow(a))
        .filter_map(|a| match array_argument(a, vars) {
            Ok(Some((v, _))) => Some(v),
            _ => None,
        })
        .collect()
}

/// Calls `f` on `e` and on each expression inside it, outermost first.
pub fn each_expr<'a>(e: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => each_expr(a, f),
        ExprKind::Binary(_, a, b) => {
            each_expr(a, f);
            each_expr(b, f);
        }
        ExprKind::Rule { args, int_arg, .. } => {
            args.iter().for_each(|a| each_expr(a, f));
            if let Some(i) = int_arg {
                each_expr(i, f);
            }
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| each_expr(a, f)),
        ExprKind::Index { index, .. } => index.iter().for_each(|i| each_expr(i, f)),
        ExprKind::ArrayNew { elem, len, .. } => {
            each_expr(elem, f);
            each_expr(len, f);
        }
        ExprKind::Lit(_) | ExprKind::Var(_) | ExprKind::Path(_) | ExprKind::Opaque { .. } => {}
    }
}

/// Calls `f` on each statement of `b` and of the blocks nested in it, outermost first.
pub fn each_stmt<'a>(b: &'a [Stmt], f: &mut impl FnMut(&'a Stmt)) {
    for s in b {
        f(s);
        match s {
            Stmt::If { then, els, .. } => {
                each_stmt(then, f);
                each_stmt(els, f);
            }
            Stmt::Match { arms, .. } => arms.iter().for_each(|a| each_stmt(&a.body, f)),
            Stmt::Block(b) | Stmt::Loop { body: b, .. } => each_stmt(b, f),
            Stmt::Let { .. }
            | Stmt::LetCall { .. }
            | Stmt::Assign { .. }
            | Stmt::Store { .. }
            | Stmt::Push { .. }
            | Stmt::Exit { .. }
            | Stmt::Return { .. }
            | Stmt::Passive(_) => {}
        }
    }
}

/// The expressions a statement holds itself (not those of the statements nested in it).
pub fn stmt_exprs(s: &Stmt) -> Vec<&Expr> {
    match s {
        Stmt::Let { init, .. } => init.iter().collect(),
        Stmt::LetCall { call, .. } => vec![call],
        Stmt::Assign { value, .. } => vec![value],
        Stmt::Store { index, value, .. } => index.iter().chain([value]).collect(),
        Stmt::Push { value, .. } => vec![value],
        Stmt::If { cond, .. } => vec![cond],
        Stmt::Match { scrutinee, arms } => std::iter::once(scrutinee)
            .chain(arms.iter().filter_map(|a| a.guard.as_ref()))
            .collect(),
        Stmt::Loop { kind, .. } => match kind {
            LoopKind::For { iter, range, .. } => {
                let mut v = vec![iter];
                if let Some(r) = range {
                    v.extend([&r.start, &r.end]);
                }
                v
            }
            LoopKind::While { cond } => vec![cond],
            LoopKind::Elements { .. } | LoopKind::Infinite => Vec::new(),
        },
        Stmt::Return { values } => values.iter().collect(),
        Stmt::Block(_) | Stmt::Exit { .. } | Stmt::Passive(_) => Vec::new(),
    }
}

//! Lowering: the user's `syn` syntax → the model of `model.rs`.
//!
//! Every construct outside the supported language is reported at its own span with what to
//! do instead; lowering goes on after an error so that one build shows them all.

mod chain;

use crate::errors::Errors;
use crate::model::*;
use crate::rules;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Ident, Pat};

/// The attribute that marks a float parameter as not differentiated.
pub const CONSTANT_ATTR: &str = "constant";

pub fn lower(
    item: &syn::ItemFn,
    args: impl Into<crate::args::Args>,
    errors: &mut Errors,
) -> Option<Function> {
    let crate::args::Args { partials, method } = args.into();
    let receiver = matches!(item.sig.inputs.first(), Some(syn::FnArg::Receiver(_)));
    // `Self` resolves only inside an `impl` (or a trait): a function that names it is an
    // associated function even without `#[differentiate(method)]`.
    let in_impl = method.is_some()
        || receiver
        || mentions(item.sig.to_token_stream(), &["Self".to_string()])
        || mentions(item.block.to_token_stream(), &["Self".to_string()]);
    let mut cx = Lowering {
        vars: Vec::new(),
        scopes: vec![Vec::new()],
        closures: Vec::new(),
        views: Vec::new(),
        elems: Vec::new(),
        merged_names: 0,
        inlining: 0,
        rejected: Vec::new(),
        name_counts: std::collections::HashMap::new(),
        errors,
        effect_calls: Vec::new(),
        array_locals: std::collections::HashMap::new(),
        ret: None,
        array_names: array_names(&item.block),
        call_arrays: std::collections::HashSet::new(),
        call_bound: std::collections::HashSet::new(),
        pushed_names: pushed_names(&item.block),
        pushed: std::collections::HashSet::new(),
        pushed_lens: std::collections::HashMap::new(),
        inout: Vec::new(),
        tuple_sinks: Vec::new(),
        expr_depth: 0,
        read_before: Vec::new(),
        short_circuit: 0,
    };
    let sig = &item.sig;
    check_signature(sig, cx.errors);
    let ret = cx.return_shape(sig);
    cx.ret = ret;

    let mut params = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let pt = match input {
            syn::FnArg::Typed(pt) => pt,
            syn::FnArg::Receiver(r) => {
                // `&self` is data without a derivative, like a `#[constant]` parameter; the
                // siblings take it as `self: &Self`. Other receivers are reported, then read
                // as `&self` so that the body gives no further errors.
                cx.check_receiver(r);
                let ty: syn::Type = syn::parse_quote_spanned!(r.self_token.span=> &Self);
                let var = cx.declare(
                    &Ident::from(r.self_token),
                    Ty::Other,
                    Some(ty.clone()),
                    false,
                    VarKind::Param {
                        index,
                        differentiated: false,
                    },
                );
                params.push(Param { var, ty });
                continue;
            }
        };
        let constant = pt.attrs.iter().any(|a| a.path().is_ident(CONSTANT_ATTR));
        let written = erase_lifetimes(&pt.ty);
        let pt = &syn::PatType {
            ty: Box::new(written),
            ..pt.clone()
        };
        for attr in &pt.attrs {
            if !attr.path().is_ident(CONSTANT_ATTR) {
                cx.errors.at(&attr,
                    "only `#[constant]` is understood on a parameter of a `#[differentiate]` function",
                );
            }
        }
        let (ident, mutable) = match &*pt.pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                (pi.ident.clone(), pi.mutability.is_some())
            }
            // An unused parameter: the siblings still take it, under a name of their own.
            Pat::Wild(w) => (
                Ident::new(
                    &format!("__unused{index}"),
                    w.span().resolved_at(Span::mixed_site()),
                ),
                false,
            ),
            other => {
                cx.errors.at(
                    &other,
                    "parameter patterns are not supported in a `#[differentiate]` function: name \
                     the parameter and destructure it in the body",
                );
                continue;
            }
        };
        if inout_type(&pt.ty) {
            let refused = if constant {
                Some(
                    "a `&mut` array parameter is an output, and its values carry derivatives: \
                     remove `#[constant]`",
                )
            } else if in_impl {
                Some(
                    "a `&mut` array parameter is supported on free functions only: make this \
                     a free function, or return the values (`-> [f64; N]`)",
                )
            } else if partials.is_some() {
                Some(
                    "`partials = ...` works with `f64`, integer and `bool` parameters: \
                     differentiate the body instead",
                )
            } else {
                None
            };
            if let Some(msg) = refused {
                cx.errors.at(&pt.ty, msg);
                cx.rejected.push(ident.to_string());
                continue;
            }
            let var = cx.declare(
                &ident,
                Ty::FloatArray(1),
                Some((*pt.ty).clone()),
                false,
                VarKind::Param {
                    index,
                    differentiated: true,
                },
            );
            cx.vars[var].active = true;
            params.push(Param {
                var,
                ty: (*pt.ty).clone(),
            });
            continue;
        }
        let mut ty = classify_type(&pt.ty);
        let mut hint = "";
        if ty == Ty::FloatArray(2) && has_vec_rows(&pt.ty) {
            // Rows of different lengths have no shape for the derivative buffer.
            ty = Ty::Unknown;
            hint = "; rows of a matrix go in one flat `&[f64]`, read as `w[i * n + j]`";
        }
        if ty == Ty::FloatArray(2) && matches!(&*pt.ty, syn::Type::Array(_)) {
            // The derivative buffers of matrices are slices of rows.
            ty = Ty::Unknown;
            hint = "; take a matrix by reference, `&[[f64; N]]` (and pass `&m`)";
        }
        if matches!(ty, Ty::FloatArray(_)) && is_vec(&pt.ty) {
            // A `Vec` taken by value would be moved into the function and its derivatives.
            ty = Ty::Unknown;
            hint = "; take the vector as `&[f64]` and pass `&v`";
        }
        if ty == Ty::Unknown {
            cx.errors.at(
                &pt.ty,
                format!(
                    "parameter `{}` has type `{}`, which `#[differentiate]` does not support: \
                     use `f64`, integers, `bool`, or float arrays taken by shared reference \
                     (`&[f64]`, `&[[f64; N]]`, `&Vec<f64>`) or by value (`[f64; N]`){}",
                    ident,
                    show(&pt.ty),
                    hint
                ),
            );
            cx.rejected.push(ident.to_string());
            continue;
        }
        // `#[constant]` on a parameter of another type says what is true anyway.
        let floaty = matches!(ty, Ty::Float | Ty::FloatArray(_));
        let differentiated = floaty && !constant;
        let var = cx.declare(
            &ident,
            ty,
            Some((*pt.ty).clone()),
            mutable,
            VarKind::Param {
                index,
                differentiated,
            },
        );
        cx.vars[var].active = differentiated;
        params.push(Param {
            var,
            ty: (*pt.ty).clone(),
        });
    }

    let const_generics: Vec<syn::ConstParam> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Const(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    if let (Some(rule), Some(c)) = (&partials, const_generics.first()) {
        cx.errors.at(
            rule,
            format!(
                "`partials = ...` is not supported on a function with a const parameter \
                 (`{}`): give the rule to a function over fixed sizes",
                c.ident
            ),
        );
    }
    let body = match &partials {
        // A rule is applied through a struct that holds the other arguments, and an `impl`
        // block cannot declare a struct.
        Some(rule) if in_impl => {
            cx.errors.at(
                rule,
                "`partials = ...` is not supported on a method or an associated function: \
                 give the rule to a free function (`#[differentiate(partials = rule)] fn f(..)`) \
                 and call it from here",
            );
            Vec::new()
        }
        // The body is kept as written and not differentiated: the rule gives the derivatives.
        Some(rule) => {
            cx.check_partials_signature(rule, sig, ret);
            Vec::new()
        }
        None => {
            // `let mut out = out.to_vec();` for each `&mut` array parameter: the body works on
            // the copy, which is copied back into the parameter before every return.
            let mut body = Vec::new();
            let outputs: Vec<VarId> = params
                .iter()
                .map(|p| p.var)
                .filter(|&v| matches!(cx.vars[v].written_ty.as_ref(), Some(t) if inout_type(t)))
                .collect();
            for p in outputs {
                let name = cx.vars[p].ident.clone();
                let span = name.span();
                // The body's `out` is the copy, emitted as `out_work`.
                let work = Ident::new(&format!("{name}_work"), Span::mixed_site());
                let local = cx.in_scope(|cx| {
                    let scope = cx.scopes.last_mut().expect("a scope");
                    scope.push(("__ad_output".into(), Binding::Var(p)));
                    let copy: syn::Stmt = syn::parse_quote_spanned!(span=>
                        let mut #work = __ad_output.to_vec();
                    );
                    cx.lower_written(&copy, &mut body);
                    cx.resolve(&work.to_string())
                });
                let Some(local) = local else {
                    continue;
                };
                cx.vars[local].user_name = name.to_string();
                cx.bind(local);
                cx.inout.push((p, local));
            }
            let mut block = (*item.block).clone();
            LiteralSources::default().visit_block_mut(&mut block);
            Idioms.visit_block_mut(&mut block);
            let mut rest = cx.lower_block(&block, Sink::Return);
            if ret == Some(RetShape::Unit) && !matches!(rest.last(), Some(Stmt::Return { .. })) {
                cx.copy_back(&mut rest);
                rest.push(Stmt::Return { values: Vec::new() });
            }
            body.extend(rest);
            body
        }
    };
    let ret = ret?;
    let pushed = cx.pushed.clone();
    Some(Function {
        inout: cx.inout,
        pushed,
        name: sig.ident.clone(),
        vis: item.vis.clone(),
        params,
        ret,
        vars: cx.vars,
        body,
        partials,
        effect_calls: cx.effect_calls,
        in_impl,
        receiver,
        const_generics,
    })
}

fn check_signature(sig: &syn::Signature, errors: &mut Errors) {
    if let Some(t) = &sig.constness {
        errors.at(&t, "`const fn` cannot be differentiated: remove `const`");
    }
    if let Some(t) = &sig.asyncness {
        errors.at(&t, "`async fn` cannot be differentiated: remove `async`");
    }
    if let Some(t) = &sig.unsafety {
        errors.at(&t, "`unsafe fn` cannot be differentiated: remove `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        errors.at(&abi, "`extern` functions cannot be differentiated");
    }
    // Lifetime parameters say nothing the derivatives need: the siblings take the same
    // references with elided lifetimes (see `erase_lifetimes`). Const parameters
    // (`const N: usize`) are declared by every sibling too.
    let supported = sig.generics.params.iter().all(|p| {
        matches!(
            p,
            syn::GenericParam::Lifetime(_) | syn::GenericParam::Const(_)
        )
    });
    if let Some(w) = &sig.generics.where_clause {
        errors.at(
            &w,
            "a `where` clause is not supported on a `#[differentiate]` function: the \
             siblings would need its bounds too; remove it",
        );
    }
    for p in &sig.generics.params {
        if let syn::GenericParam::Const(c) = p {
            if c.ident == "S" {
                errors.at(
                    &c.ident,
                    "a const parameter of a `#[differentiate]` function cannot be named `S`: \
                     `<name>_generic` is generic over its scalar type `S`; rename it",
                );
            }
        }
    }
    if !supported {
        errors.at(
            &sig.generics,
            "type parameters cannot be `#[differentiate]`d (lifetimes and `const N: usize` \
             can): write the function over `f64`; the macro generates the generic version \
             `<name>_generic` itself",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.at(&v, "variadic functions cannot be differentiated");
    }
}

/// `ty` with the lifetimes of its references elided (`&'a [f64]` → `&[f64]`): the siblings
/// of a function with lifetime parameters do not declare them.
fn erase_lifetimes(ty: &syn::Type) -> syn::Type {
    struct Eraser;
    impl VisitMut for Eraser {
        fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
            r.lifetime = None;
            syn::visit_mut::visit_type_reference_mut(self, r);
        }
        // `D<'a>` → `D<'_>`.
        fn visit_lifetime_mut(&mut self, l: &mut syn::Lifetime) {
            *l = syn::Lifetime::new("'_", l.span());
        }
    }
    let mut ty = ty.clone();
    Eraser.visit_type_mut(&mut ty);
    ty
}

/// The model type of a written type.
pub fn classify_type(ty: &syn::Type) -> Ty {
    match ty {
        syn::Type::Path(tp) if tp.qself.is_none() => {
            let Some(last) = tp.path.segments.last() else {
                return Ty::Unknown;
            };
            if last.ident == "Vec" {
                return match &last.arguments {
                    syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => {
                        match &a.args[0] {
                            syn::GenericArgument::Type(t) => array_of(classify_type(t)),
                            _ => Ty::Other,
                        }
                    }
                    _ => Ty::Other,
                };
            }
            if !last.arguments.is_empty() {
                return Ty::Other;
            }
            match last.ident.to_string().as_str() {
                "f64" => Ty::Float,
                "f32" => Ty::Unknown,
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
                | "u128" | "usize" => Ty::Int,
                "bool" => Ty::Bool,
                _ => Ty::Other,
            }
        }
        syn::Type::Paren(p) => classify_type(&p.elem),
        syn::Type::Group(g) => classify_type(&g.elem),
        syn::Type::Slice(sl) => array_of(classify_type(&sl.elem)),
        syn::Type::Array(a) => array_of(classify_type(&a.elem)),
        syn::Type::Reference(r) => match classify_type(&r.elem) {
            // `&f64` would be a differentiated value seen through a reference, and `&mut`
            // arrays are outputs, which a differentiated function does not have.
            Ty::Float => Ty::Unknown,
            Ty::FloatArray(_) if r.mutability.is_some() => Ty::Unknown,
            Ty::FloatArray(k) => Ty::FloatArray(k),
            _ => Ty::Other,
        },
        _ => Ty::Other,
    }
}

/// Whether `ty` is a `&mut` array of floats (`&mut [f64]`, `&mut Vec<f64>`, `&mut [f64; N]`): an
/// output parameter.
pub fn inout_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(r) if r.mutability.is_some() => {
            let inner = match &*r.elem {
                syn::Type::Slice(sl) => &*sl.elem,
                syn::Type::Array(a) => &*a.elem,
                t @ syn::Type::Path(_) if is_vec(t) => {
                    return classify_type(t) == Ty::FloatArray(1);
                }
                _ => return false,
            };
            is_f64(inner)
        }
        syn::Type::Paren(p) => inout_type(&p.elem),
        _ => false,
    }
}

/// Whether `ty` is a `Vec<..>` taken by value.
fn is_vec(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "Vec"))
}

/// The names a pattern binds, with their mutability.
fn pattern_idents(pat: &Pat, out: &mut Vec<(Ident, bool)>) {
    match pat {
        Pat::Ident(pi) => out.push((pi.ident.clone(), pi.mutability.is_some())),
        Pat::Type(pt) => pattern_idents(&pt.pat, out),
        Pat::Paren(p) => pattern_idents(&p.pat, out),
        Pat::Reference(r) => pattern_idents(&r.pat, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pattern_idents(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pattern_idents(p, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pattern_idents(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pattern_idents(&f.pat, out)),
        _ => {}
    }
}

/// Whether `tokens` contain one of the identifiers `names`.
fn mentions(tokens: TokenStream, names: &[String]) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => names.iter().any(|n| i == n),
        TokenTree::Group(g) => mentions(g.stream(), names),
        _ => false,
    })
}

/// Whether a two-level array type has `Vec` rows (`&[Vec<f64>]`, `Vec<Vec<f64>>`).
fn has_vec_rows(ty: &syn::Type) -> bool {
    let elem = match ty {
        syn::Type::Reference(r) => return has_vec_rows(&r.elem),
        syn::Type::Paren(p) => return has_vec_rows(&p.elem),
        syn::Type::Slice(sl) => &*sl.elem,
        syn::Type::Array(a) => &*a.elem,
        syn::Type::Path(tp) => match tp.path.segments.last().map(|l| &l.arguments) {
            Some(syn::PathArguments::AngleBracketed(a)) => match a.args.first() {
                Some(syn::GenericArgument::Type(t)) => t,
                _ => return false,
            },
            _ => return false,
        },
        _ => return false,
    };
    matches!(elem, syn::Type::Path(tp) if tp.path.segments.last().is_some_and(|l| l.ident == "Vec"))
}

/// The type of an array whose elements have type `elem`.
fn array_of(elem: Ty) -> Ty {
    match elem {
        Ty::Float => Ty::FloatArray(1),
        Ty::FloatArray(1) => Ty::FloatArray(2),
        Ty::Unknown | Ty::FloatArray(_) => Ty::Unknown,
        _ => Ty::Other,
    }
}

fn is_f64(ty: &syn::Type) -> bool {
    classify_type(ty) == Ty::Float
}

/// Where the value of a block goes.
#[derive(Clone, Copy)]
enum Sink {
    /// The function's result.
    Return,
    /// A variable (the temporary of an `if`/`match`/block expression).
    Assign(VarId),
    /// Variables, one per element of a tuple written out (`let (a, b) = if c { (x, y) } else
    /// { (y, x) };`): an index into `Lowering::tuple_sinks`, `None` for `_`.
    Tuple(usize),
    /// Nowhere: a statement.
    Discard,
}

/// What a name in scope stands for.
#[derive(Clone, Copy)]
enum Binding {
    Var(VarId),
    /// A local closure (`let sq = |t: f64| t * t;`), an index into `Lowering::closures`.
    Closure(usize),
    /// A run of an array (`for w in xs.windows(2)`, `let r = &xs[a..b];`), an index into
    /// `Lowering::views`.
    View(usize),
    /// An element bound by `for h in xs.iter_mut()`: an index into `Lowering::elems`.
    Elem(usize),
}

type Scopes = Vec<Vec<(String, Binding)>>;

/// A local closure: its syntax and the names in scope where it was written, which its body
/// reads wherever it is called.
struct LocalClosure {
    closure: syn::ExprClosure,
    scopes: Scopes,
    /// An error was reported at its definition: its calls add none.
    failed: bool,
}

struct Lowering<'e> {
    vars: Vec<Var>,
    scopes: Scopes,
    closures: Vec<LocalClosure>,
    views: Vec<chain::View>,
    /// Names the body indexes (`k[i]`) or passes as `&k` to a call: a name bound to a call's
    /// result (`let k = g(x);`) is then taken for the `[f64; N]` array the call returns.
    array_names: std::collections::HashSet<String>,
    /// Locals bound to a call's result and taken for arrays ([`Self::array_names`]): whole
    /// assignments and copies of them are element by element.
    call_arrays: std::collections::HashSet<VarId>,
    /// Every local bound to a call's result: copied whole into an array (`s = k;`), it is an
    /// array too (the original function's types agree).
    call_bound: std::collections::HashSet<VarId>,
    /// Names the body calls `.push(..)` on.
    pushed_names: std::collections::HashSet<String>,
    /// Locals made by `Vec::new()` (or `Vec::with_capacity(n)`, `vec![]`) and pushed onto:
    /// vectors of floats when inference finds a float pushed.
    pushed: std::collections::HashSet<VarId>,
    /// The integer local counting each pushed vector's elements, which `v.len()` reads: the
    /// reverse sweep runs it back like any counter.
    pushed_lens: std::collections::HashMap<VarId, VarId>,
    /// Elements bound by `iter_mut`: the array, and the integer local holding the index.
    elems: Vec<(VarId, VarId)>,
    /// Names made for items taken apart by several closures ([`Self::merged_pattern`]).
    merged_names: usize,
    /// How many closure calls are being inlined inside each other.
    inlining: usize,
    /// Parameters reported for their type: their uses add no errors.
    rejected: Vec<String>,
    name_counts: std::collections::HashMap<String, usize>,
    errors: &'e mut Errors,
    /// Calls made for their effect on values that are not floats (`v.push(1)`), and user
    /// macros, with the variables they mention: inference rejects them if one turns out to
    /// be a float or a float array.
    effect_calls: Vec<EffectCall>,
    /// Locals made by `[x; n]` or `vec![x; n]`: whole-array assignments to them are lowered
    /// element by element.
    array_locals: std::collections::HashMap<VarId, ArrayLocal>,
    /// The function's return shape, once the signature is read.
    ret: Option<RetShape>,
    /// `&mut` array parameters and the locals the body works on ([`Function::inout`]).
    inout: Vec<(VarId, VarId)>,
    /// The variables of each [`Sink::Tuple`].
    tuple_sinks: Vec<Vec<Option<VarId>>>,
    /// How many [`Lowering::lower_expr`]s are under way in the current statement.
    expr_depth: usize,
    /// What the expression being lowered has read so far (left operands, earlier arguments).
    read_before: Vec<VarId>,
    /// How many right operands of `&&`/`||` are being lowered.
    short_circuit: usize,
}

/// What lowering knows of a local made by `[x; n]` or `vec![x; n]`.
struct ArrayLocal {
    rank: usize,
    /// `n` for a fixed-size array, `None` for a vector.
    len: Option<syn::Expr>,
    /// For a vector, the variable that holds its length.
    len_var: Option<VarId>,
    /// Whether the innermost `x` is not an integer literal (an array of floats, as far as
    /// lowering can tell).
    float: bool,
}

impl Lowering<'_> {
    fn return_shape(&mut self, sig: &syn::Signature) -> Option<RetShape> {
        let msg = "a `#[differentiate]` function returns `f64`, a tuple of `f64`, or `[f64; N]` \
                   (or writes its results into `&mut [f64]` parameters)";
        let syn::ReturnType::Type(_, ty) = &sig.output else {
            let outputs = sig
                .inputs
                .iter()
                .any(|i| matches!(i, syn::FnArg::Typed(pt) if inout_type(&pt.ty)));
            if outputs {
                return Some(RetShape::Unit);
            }
            let fn_and_params = quote!(#sig);
            self.errors
                .at(&fn_and_params, format!("{msg}: add a return type"));
            return None;
        };
        match &**ty {
            t if is_f64(t) => Some(RetShape::Scalar),
            syn::Type::Tuple(t) if !t.elems.is_empty() && t.elems.iter().all(is_f64) => {
                Some(RetShape::Tuple(t.elems.len()))
            }
            syn::Type::Array(a) if is_f64(&a.elem) => match &a.len {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(n),
                    ..
                }) => match n.base10_parse::<usize>() {
                    Ok(n) if n > 0 => Some(RetShape::Array(n)),
                    _ => {
                        self.errors
                            .at(&a.len, "the array length must be a positive literal");
                        None
                    }
                },
                other => {
                    self.errors.at(
                        &other,
                        "the length of a returned array must be an integer literal",
                    );
                    None
                }
            },
            other => {
                let hint = if classify_type(other) == Ty::FloatArray(1) {
                    ": write the values into a `&mut [f64]` parameter (`fn f(.., out: &mut \
                     [f64])`), or return `[f64; N]`"
                } else {
                    ""
                };
                self.errors
                    .at(&other, format!("{msg}, not `{}`{hint}", show(other)));
                None
            }
        }
    }

    /// A function whose derivative the user supplies takes scalars only and returns one.
    fn check_partials_signature(
        &mut self,
        rule: &syn::Path,
        sig: &syn::Signature,
        ret: Option<RetShape>,
    ) {
        if matches!(ret, Some(RetShape::Tuple(_) | RetShape::Array(_))) {
            self.errors.at(
                &sig.output,
                "`partials = ...` supplies the derivative of a function with one `f64` result",
            );
        }
        for v in &self.vars {
            if matches!(v.ty, Ty::FloatArray(_) | Ty::Other) {
                self.errors.at(
                    &rule.clone(),
                    format!(
                        "`partials = ...` works with `f64`, integer and `bool` parameters; `{}` is \
                         neither: differentiate the body instead",
                        v.user_name
                    ),
                );
            }
        }
    }

    /// Reports a receiver other than `&self`, at its span, with what to write instead.
    fn check_receiver(&mut self, r: &syn::Receiver) {
        for attr in &r.attrs {
            self.errors.at(
                attr,
                "attributes are not understood on the receiver of a `#[differentiate]` method: \
                 `self` is always data without a derivative",
            );
        }
        let is_self = |t: &syn::Type| matches!(t, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"));
        let written = show(r);
        let message = match &*r.ty {
            syn::Type::Reference(t) if is_self(&t.elem) && t.mutability.is_some() => format!(
                "`{written}` is not supported by `#[differentiate]`: the derivatives would not \
                 follow a change to a field of `self`. Take `&self` (read as data without a \
                 derivative), return the new values and assign them to the fields after the call"
            ),
            syn::Type::Reference(t) if is_self(&t.elem) && t.lifetime.is_some() => format!(
                "a receiver with a named lifetime (`{written}`) is not supported by \
                 `#[differentiate]`: write `&self`"
            ),
            syn::Type::Reference(t) if is_self(&t.elem) => return,
            t if is_self(t) => format!(
                "`{written}` (the receiver by value) is not supported by `#[differentiate]`: \
                 take `&self`; the derivative methods borrow the receiver and read it as data \
                 without a derivative"
            ),
            t => format!(
                "a receiver of type `{}` is not supported by `#[differentiate]`: take `&self`, \
                 which a `{}` reaches by auto-deref at the call",
                show(t),
                show(t)
            ),
        };
        self.errors.at(r, message);
    }

    /// The receiver `self`, if `e` names it.
    fn self_receiver(&self, e: &syn::Expr) -> Option<VarId> {
        match strip_parens(e) {
            syn::Expr::Path(p) if p.qself.is_none() && p.path.is_ident("self") => {
                self.resolve("self")
            }
            _ => None,
        }
    }

    // ---------------------------------------------------------------- variables and scopes

    fn declare(
        &mut self,
        ident: &Ident,
        ty: Ty,
        written_ty: Option<syn::Type>,
        mutable: bool,
        kind: VarKind,
    ) -> VarId {
        let id = self.new_var(ident, ty, written_ty, mutable, kind);
        self.bind(id);
        id
    }

    /// Puts a variable made by [`Self::new_var`] in scope.
    fn bind(&mut self, id: VarId) {
        let name = self.vars[id].user_name.clone();
        self.scopes
            .last_mut()
            .expect("a scope")
            .push((name, Binding::Var(id)));
    }

    /// A new variable, not yet in scope (so that its initializer still sees what it shadows).
    fn new_var(
        &mut self,
        ident: &Ident,
        ty: Ty,
        written_ty: Option<syn::Type>,
        mutable: bool,
        kind: VarKind,
    ) -> VarId {
        let name = ident.to_string();
        let count = self.name_counts.entry(name.clone()).or_insert(0);
        *count += 1;
        let emitted = if *count == 1 {
            ident.clone()
        } else {
            Ident::new(&format!("{}_{}", name, *count), Span::mixed_site())
        };
        let id = self.vars.len();
        self.vars.push(Var {
            ident: emitted,
            user_name: name.clone(),
            ty,
            written_ty,
            mutable,
            active: false,
            kind,
            span: ident.span(),
        });
        id
    }

    fn temp(&mut self, span: Span) -> VarId {
        let id = self.vars.len();
        self.vars.push(Var {
            ident: Ident::new(&format!("__v{id}"), Span::mixed_site()),
            user_name: format!("__v{id}"),
            ty: Ty::Unknown,
            written_ty: None,
            mutable: true,
            active: false,
            kind: VarKind::Temp,
            span,
        });
        id
    }

    fn binding(&self, name: &str) -> Option<Binding> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b)
    }

    fn resolve(&self, name: &str) -> Option<VarId> {
        match self.binding(name)? {
            Binding::Var(v) => Some(v),
            Binding::Closure(_) | Binding::View(_) | Binding::Elem(_) => None,
        }
    }

    /// The array element a name bound by `iter_mut` stands for, if `e` is that name or `*name`.
    fn elem_of(&self, e: &syn::Expr) -> Option<(VarId, VarId)> {
        match strip_parens(e) {
            syn::Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr,
                ..
            }) => self.elem_of(expr),
            syn::Expr::Path(p) if p.qself.is_none() => {
                match self.binding(&p.path.get_ident()?.to_string())? {
                    Binding::Elem(i) => Some(self.elems[i]),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `array[index]` in the model.
    fn elem_expr(&self, (array, index): (VarId, VarId), span: Span) -> Expr {
        let at = |kind| Expr {
            kind,
            span,
            end: span,
        };
        at(ExprKind::Index {
            var: array,
            index: vec![at(ExprKind::Var(index))],
        })
    }

    fn resolve_closure(&self, name: &str) -> Option<usize> {
        match self.binding(name)? {
            Binding::Closure(c) => Some(c),
            Binding::Var(_) | Binding::View(_) | Binding::Elem(_) => None,
        }
    }

    fn in_scope<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.scopes.push(Vec::new());
        let out = f(self);
        self.scopes.pop();
        out
    }

    // ---------------------------------------------------------------- blocks and statements

    fn lower_block(&mut self, block: &syn::Block, sink: Sink) -> Block {
        self.in_scope(|cx| cx.lower_stmts(&block.stmts, sink))
    }

    fn lower_stmts(&mut self, stmts: &[syn::Stmt], sink: Sink) -> Block {
        // The statements of a block inside an expression are statements again.
        let depth = std::mem::take(&mut self.expr_depth);
        let read = std::mem::take(&mut self.read_before);
        let lazy = std::mem::take(&mut self.short_circuit);
        let out = self.lower_stmts_in(stmts, sink);
        self.expr_depth = depth;
        self.read_before = read;
        self.short_circuit = lazy;
        out
    }

    fn lower_stmts_in(&mut self, stmts: &[syn::Stmt], sink: Sink) -> Block {
        self.nested_fns(stmts);
        let mut out = Vec::new();
        for (i, stmt) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            match stmt {
                syn::Stmt::Local(local) => self.lower_local(local, &mut out),
                syn::Stmt::Item(item) => self.lower_item(item, &mut out),
                syn::Stmt::Expr(expr, semi) => {
                    if last && semi.is_none() {
                        self.lower_tail(expr, sink, &mut out);
                    } else {
                        self.lower_expr_stmt(expr, &mut out);
                    }
                }
                syn::Stmt::Macro(m) => self.lower_macro_stmt(&m.mac, &mut out),
            }
        }
        out
    }

    /// A macro used as a statement. The assertions (`assert!`, `assert_eq!`, `assert_ne!` and
    /// their `debug_` forms) become `if` statements whose condition is lowered like any other,
    /// so comparisons with float literals work over every scalar type; other macros
    /// (`println!`, `panic!`, ...) pass through with the function's locals renamed.
    fn lower_macro_stmt(&mut self, mac: &syn::Macro, out: &mut Block) {
        match assertion(mac) {
            Some(check) => self.lower_expr_stmt(&check, out),
            None => {
                let name = mac
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                // Macros of the standard library and `log` that only read their arguments.
                const READ_ONLY: [&str; 18] = [
                    "print",
                    "println",
                    "eprint",
                    "eprintln",
                    "format",
                    "format_args",
                    "write",
                    "writeln",
                    "dbg",
                    "panic",
                    "unreachable",
                    "todo",
                    "unimplemented",
                    "error",
                    "warn",
                    "info",
                    "debug",
                    "trace",
                ];
                if !READ_ONLY.contains(&name.as_str()) {
                    let refs = self.refs_in_tokens(mac.tokens.clone());
                    self.effect_calls.push(EffectCall {
                        tokens: mac.to_token_stream(),
                        refs,
                        mac: Some(name),
                    });
                }
                let tokens = self.rename_tokens(mac.to_token_stream());
                out.push(Stmt::Passive(quote!(#tokens;)));
            }
        }
    }

    /// The variables that identifiers in `tokens` name (not fields, methods or paths).
    fn refs_in_tokens(&self, tokens: TokenStream) -> Vec<VarId> {
        let mut refs = Vec::new();
        let mut after_dot = false;
        for tt in tokens {
            match &tt {
                TokenTree::Ident(id) if !after_dot => refs.extend(self.resolve(&id.to_string())),
                TokenTree::Group(g) => refs.extend(self.refs_in_tokens(g.stream())),
                _ => {}
            }
            after_dot =
                matches!(&tt, TokenTree::Punct(p) if p.as_char() == '.' || p.as_char() == ':');
        }
        refs
    }

    /// A helper `fn` declared in a block (`fn sq(t: f64) -> f64 { t * t }`) is the local closure
    /// `let sq = |t: f64| -> f64 { t * t };`, inlined where it is called: it reads nothing of
    /// the function around it, and is visible in the whole block, as an item is.
    fn nested_fns(&mut self, stmts: &[syn::Stmt]) {
        for s in stmts {
            if let syn::Stmt::Item(syn::Item::Fn(f)) = s {
                if let Some(c) = nested_fn_closure(f) {
                    let pi = syn::PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident: f.sig.ident.clone(),
                        subpat: None,
                    };
                    self.define_closure(&pi, &c);
                }
            }
        }
    }

    fn lower_item(&mut self, item: &syn::Item, out: &mut Block) {
        match item {
            syn::Item::Const(_) | syn::Item::Use(_) => {
                out.push(Stmt::Passive(item.to_token_stream()));
            }
            // Defined as a local closure where its block starts ([`Self::nested_fns`]).
            syn::Item::Fn(f) if nested_fn_closure(f).is_some() => {}
            other => self.errors.at(
                &other,
                "items other than `const`, `use` and helper `fn`s without generics are not \
                 supported inside a `#[differentiate]` function: move this item outside the \
                 function",
            ),
        }
    }

    fn lower_local(&mut self, local: &syn::Local, out: &mut Block) {
        if let Some(else_) = &local.init.as_ref().and_then(|i| i.diverge.as_ref()) {
            self.errors.at(
                &else_.0,
                "`let ... else` is not supported in a `#[differentiate]` function: use `match`",
            );
            return;
        }
        let (pat, written_ty) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some((*pt.ty).clone())),
            p => (p, None),
        };
        // `let [a, b] = *p;` of an array reference is `let [a, b] = p;`.
        if let (Pat::Slice(_), Some(init)) = (pat, &local.init) {
            if let syn::Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr,
                ..
            }) = strip_parens(&init.expr)
            {
                if self.local_of(expr).is_some() {
                    let mut plain = local.clone();
                    if let Some(i) = plain.init.as_mut() {
                        i.expr = expr.clone();
                    }
                    return self.lower_local(&plain, out);
                }
            }
        }
        if let (Pat::Ident(pi), Some(init)) = (pat, &local.init) {
            if let syn::Expr::Closure(c) = strip_parens(&init.expr) {
                self.define_closure(pi, c);
                return;
            }
        }
        let (ident, mutable) = match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                (pi.ident.clone(), pi.mutability.is_some())
            }
            Pat::Wild(_)
                if local.init.as_ref().is_some_and(|i| {
                    matches!(strip_parens(&i.expr), syn::Expr::Call(c) if self.closure_called(c).is_some())
                }) =>
            {
                // `let _ = add(x);` of a local closure: the call as a statement.
                let init = local.init.as_ref().expect("checked");
                self.lower_expr_stmt(strip_parens(&init.expr), out);
                return;
            }
            Pat::Wild(w) => {
                // `let _ = expr;` evaluates `expr` and drops it: no derivative goes anywhere, but
                // the value is computed like any other (a float in `_generic` is an `S`), so it
                // is bound to a name of its own.
                if local.init.is_some() {
                    let mut named = local.clone();
                    let n = self.vars.len();
                    let ident = Ident::new(&format!("__discarded{n}"), w.span());
                    named.pat = Pat::Ident(syn::PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident,
                        subpat: None,
                    });
                    if let Some(ty) = written_ty {
                        named.pat = Pat::Type(syn::PatType {
                            attrs: Vec::new(),
                            pat: Box::new(named.pat),
                            colon_token: Default::default(),
                            ty: Box::new(ty),
                        });
                    }
                    self.lower_local(&named, out);
                }
                return;
            }
            Pat::Tuple(tuple) if self.lower_tuple_let(local, tuple, written_ty.as_ref(), out) => {
                return;
            }
            Pat::Slice(slice)
                if local.init.as_ref().is_some_and(|i| self.is_sibling_call(&i.expr))
                    && self.lower_call_let(
                        &slice.elems,
                        true,
                        written_ty.as_ref(),
                        &local.init.as_ref().expect("checked").expr,
                        out,
                    ) =>
            {
                return;
            }
            // `let [u, v] = [a, b];`: the tuple `let` of the same values.
            Pat::Slice(slice)
                if matches!(local.init.as_ref().map(|i| strip_parens(&i.expr)),
                    Some(syn::Expr::Array(a)) if a.elems.len() == slice.elems.len()) =>
            {
                let Some(syn::Expr::Array(values)) = local.init.as_ref().map(|i| strip_parens(&i.expr))
                else {
                    unreachable!("matched above")
                };
                let (pats, values) = (slice.elems.iter(), values.elems.iter());
                let tuple: syn::Stmt = syn::parse_quote!(let (#(#pats,)*) = (#(#values,)*););
                self.lower_written(&tuple, out);
                return;
            }
            // `let [x, y] = p;` of an array of the function, or of a row (`pts[i]` of a
            // `&[[f64; 2]]`): one `let` per element.
            Pat::Slice(slice)
                if local.init.as_ref().is_some_and(|i| {
                    let row = match strip_parens(&i.expr) {
                        syn::Expr::Index(ix) => self
                            .local_of(&ix.expr)
                            .is_some_and(|v| self.vars[v].ty == Ty::FloatArray(2)),
                        _ => false,
                    };
                    row || self.local_of(&i.expr).is_some_and(|v| {
                        matches!(self.vars[v].ty, Ty::FloatArray(1))
                            || self.array_locals.get(&v).is_some_and(|a| a.rank == 1)
                            || self.call_arrays.contains(&v)
                    })
                }) && slice.elems.iter().all(|p| match p {
                    // A name the value reads would change it for the elements after.
                    Pat::Ident(pi) => local.init.as_ref().is_some_and(|i| {
                        !mentions(i.expr.to_token_stream(), &[pi.ident.to_string()])
                    }),
                    Pat::Wild(_) => true,
                    _ => false,
                }) =>
            {
                let array = &local.init.as_ref().expect("checked").expr;
                for (i, p) in slice.elems.iter().enumerate() {
                    if let Pat::Ident(pi) = p {
                        let one: syn::Stmt = syn::parse_quote!(let #pi = #array[#i];);
                        self.lower_written(&one, out);
                    }
                }
                return;
            }
            // `let (i, j, r) = ratings[k];`, `let [u, v] = triples[k];`, `let (a, b) = match ..`
            // of data: the value in a local of its own, then one `let` per element.
            Pat::Tuple(_) | Pat::Slice(_) if self.lower_data_destructure(local, out) => return,
            other => {
                let written_out = matches!(
                    (other, local.init.as_ref().map(|i| strip_parens(&i.expr))),
                    (Pat::Tuple(p), Some(syn::Expr::Tuple(t))) if p.elems.len() == t.elems.len()
                );
                let msg = if written_out {
                    "a value of this tuple `let` reads a name the pattern binds \
                     (`let (a, b) = (b, a);`): give the new values other names"
                } else {
                    "destructuring `let` is supported for a tuple of values written out \
                     (`let (a, b) = (x, y);`), for `sin_cos`, and for a call of a \
                     `#[differentiate]` function with several outputs (`let (a, b) = g(x);`); \
                     otherwise bind each value with its own `let`"
                };
                self.errors.at(&other, msg);
                // Declare the names anyway, so that their uses do not add errors.
                let mut names = Vec::new();
                pattern_idents(other, &mut names);
                for (ident, mutable) in names {
                    self.declare(&ident, Ty::Unknown, None, mutable, VarKind::Local);
                }
                return;
            }
        };
        if let (Pat::Ident(pi), Some(init)) = (pat, &local.init) {
            if self.lower_view_let(pi, &init.expr, out)
                || self.lower_collect_let(pi, written_ty.as_ref(), &init.expr, out)
                || self.lower_array_copy_let(pi, written_ty.as_ref(), &init.expr, out)
                || self.lower_array_literal_let(pi, written_ty.as_ref(), &init.expr, out)
            {
                return;
            }
        }
        let ty = match &written_ty {
            Some(t) => match classify_type(t) {
                Ty::Unknown => {
                    self.errors.at(
                        &t,
                        format!("`{}` values cannot be differentiated: use `f64`", show(t)),
                    );
                    Ty::Other
                }
                ty => ty,
            },
            None => Ty::Unknown,
        };
        // A variable declared now and assigned later is storage, like a `let mut`.
        let mutable = mutable || local.init.is_none();
        let var = self.new_var(&ident, ty, written_ty, mutable, VarKind::Local);
        // `let mut v = Vec::new();` of a vector the body pushes onto.
        let empty = local.init.as_ref().is_some_and(|i| is_empty_vec(&i.expr));
        if empty && self.pushed_names.contains(&ident.to_string()) {
            self.pushed.insert(var);
            let span = ident.span();
            let len = self.new_var(
                &Ident::new(&format!("__len{var}"), Span::mixed_site()),
                Ty::Int,
                Some(syn::parse_quote!(usize)),
                true,
                VarKind::Temp,
            );
            out.push(Stmt::Let {
                var: len,
                init: Some(Expr {
                    kind: ExprKind::Lit(syn::parse_quote!(0usize)),
                    span,
                    end: span,
                }),
            });
            self.pushed_lens.insert(var, len);
            let init = self.lower_expr(&syn::parse_quote!(::std::vec::Vec::new()), out);
            out.push(Stmt::Let {
                var,
                init: Some(init),
            });
            self.bind(var);
            return;
        }
        // `let k = g(x);` (or `g(x).to_vec()`) of a name the body indexes or passes as `&k`:
        // the array `g` returns (inference confirms it from the call).
        let call = local
            .init
            .as_ref()
            .and_then(|i| self.sibling_call_result(&i.expr));
        if let Some(call) = call {
            if self.array_names.contains(&ident.to_string())
                && matches!(ty, Ty::Unknown | Ty::FloatArray(1))
            {
                self.call_arrays.insert(var);
                let init = self.lower_expr(call, out);
                out.push(Stmt::Let {
                    var,
                    init: Some(init),
                });
                self.bind(var);
                return;
            }
            self.call_bound.insert(var);
        }
        match local.init.as_ref().map(|init| strip_parens(&init.expr)) {
            Some(
                e @ (syn::Expr::If(_)
                | syn::Expr::Match(_)
                | syn::Expr::Block(_)
                | syn::Expr::Loop(_)),
            ) => {
                // `let y = if c { a } else { b };` → `let y; if c { y = a } else { y = b }`.
                out.push(Stmt::Let { var, init: None });
                self.lower_tail(e, Sink::Assign(var), out);
            }
            Some(e) => {
                if let Some(rank) = repeat_rank(e) {
                    let (mut elem, len, vec) = repeat_parts(e).expect("a repeat has parts");
                    while let Some((inner, _, _)) = repeat_parts(&elem) {
                        elem = inner;
                    }
                    // An array of floats unless its element is an integer literal (`[0usize; n]`).
                    let float =
                        !matches!(&elem, syn::Expr::Lit(l) if matches!(l.lit, syn::Lit::Int(_)));
                    if vec {
                        // `let h = vec![x; n];` → `let len = n; let h = vec![x; len];`, and
                        // `h.len()` reads `len`: an integer the reverse sweep can recompute or
                        // record, where `h` itself may not exist (declared in a loop's body).
                        let mut init = self.lower_expr(e, out);
                        let ExprKind::ArrayNew { len, .. } = &mut init.kind else {
                            unreachable!("a repeat lowers to a new array")
                        };
                        let id = self.vars.len();
                        let len_var = self.new_var(
                            &Ident::new(&format!("__len{id}"), Span::mixed_site()),
                            Ty::Int,
                            Some(syn::parse_quote!(usize)),
                            false,
                            VarKind::Temp,
                        );
                        let span = len.span;
                        let len_init = std::mem::replace(
                            &mut **len,
                            Expr {
                                kind: ExprKind::Var(len_var),
                                span,
                                end: span,
                            },
                        );
                        out.push(Stmt::Let {
                            var: len_var,
                            init: Some(len_init),
                        });
                        out.push(Stmt::Let {
                            var,
                            init: Some(init),
                        });
                        self.array_locals.insert(
                            var,
                            ArrayLocal {
                                rank,
                                len: None,
                                len_var: Some(len_var),
                                float,
                            },
                        );
                        self.bind(var);
                        return;
                    }
                    self.array_locals.insert(
                        var,
                        ArrayLocal {
                            rank,
                            len: Some(len),
                            len_var: None,
                            float,
                        },
                    );
                }
                let copied = self.whole_array(e).filter(|&v| {
                    self.array_locals.get(&v).is_some_and(|a| a.float)
                        || matches!(
                            self.vars[v].kind,
                            VarKind::Param {
                                differentiated: true,
                                ..
                            }
                        )
                });
                if let Some(source) = copied {
                    let (name, from) = (ident.to_string(), &self.vars[source].user_name);
                    let msg = if name == *from {
                        format!(
                            "a copy of the whole array `{from}` under its own name is not \
                             supported in a `#[differentiate]` function: give the copy another \
                             name"
                        )
                    } else {
                        format!(
                            "a copy of the whole array `{from}` cannot start a new variable in a \
                             `#[differentiate]` function: declare `let mut {name} = [0.0; N];` \
                             (or `vec![0.0; n]`), then assign `{name} = {from};`"
                        )
                    };
                    self.errors.at(&e, msg);
                    out.push(Stmt::Let { var, init: None });
                    self.bind(var);
                    return;
                }
                let init = self.lower_expr(e, out);
                out.push(Stmt::Let {
                    var,
                    init: Some(init),
                });
            }
            None => out.push(Stmt::Let { var, init: None }),
        }
        self.bind(var);
    }

    /// `let f = |x: f64| ...;`: nothing is emitted; each call `f(a)` is lowered as the closure's
    /// body with its parameters bound to the arguments (see [`Self::inline_closure`]).
    fn define_closure(&mut self, pi: &syn::PatIdent, c: &syn::ExprClosure) {
        let mut ok = true;
        if c.asyncness.is_some() || c.constness.is_some() || c.lifetimes.is_some() {
            self.errors.at(
                &c,
                "only plain closures (`|x: f64| x * x`) are supported in a `#[differentiate]` \
                 function",
            );
            ok = false;
        }
        let mut exits = ClosureExits::default();
        exits.visit_expr(&c.body);
        for span in exits.spans {
            self.errors.push(
                span,
                "`return` or `?` inside a closure is not supported in a `#[differentiate]` \
                 function: give the closure's body one value (`if`/`else`), or write a \
                 separate `#[differentiate]` function",
            );
            ok = false;
        }
        if c.capture.is_some() {
            // A `move` closure copies what it captures when it is made; an inlined body reads
            // the variables when it is called, so they must not change in between.
            let mut names = Vec::new();
            idents_in(c.body.to_token_stream(), &mut names);
            // Names the closure binds itself are not captures.
            let mut own = Vec::new();
            for p in &c.inputs {
                pattern_idents(p, &mut own);
            }
            let mut lets = LetNames::default();
            lets.visit_expr(&c.body);
            own.extend(lets.names);
            names.retain(|n| !own.iter().any(|(id, _)| id == n));
            for name in names {
                if let Some(v) = self.resolve(&name) {
                    if self.vars[v].mutable {
                        self.errors.at(
                            &c.capture,
                            format!(
                                "a `move` closure that captures the mutable variable `{name}` \
                                 is not supported in a `#[differentiate]` function: remove \
                                 `move`, or pass `{name}` as an argument"
                            ),
                        );
                        ok = false;
                        break;
                    }
                }
            }
        }
        let index = self.closures.len();
        // Its loop labels get a suffix: inlined inside a loop with the same label, the label
        // would shadow it (a warning rustc gives even where warnings are allowed).
        let mut closure = c.clone();
        LabelRenamer {
            suffix: format!("_{}", pi.ident),
        }
        .visit_expr_mut(&mut closure.body);
        self.closures.push(LocalClosure {
            closure,
            scopes: self.scopes.clone(),
            failed: !ok,
        });
        self.scopes
            .last_mut()
            .expect("a scope")
            .push((pi.ident.to_string(), Binding::Closure(index)));
    }

    /// A call of a local closure: the arguments are evaluated where the call is, then the body
    /// is lowered with the names in scope where the closure was written, its parameters bound
    /// to the arguments (a parameter given a variable of the function reads that variable).
    fn inline_closure(
        &mut self,
        index: usize,
        call: &syn::ExprCall,
        discard: bool,
        out: &mut Block,
    ) -> ExprKind {
        let closure = self.closures[index].closure.clone();
        if self.closures[index].failed {
            return ExprKind::Lit(syn::parse_quote!(0.0));
        }
        if closure.inputs.len() != call.args.len() {
            self.errors.at(
                &call,
                format!(
                    "this closure takes {} argument(s), not {}",
                    closure.inputs.len(),
                    call.args.len()
                ),
            );
            return ExprKind::Lit(syn::parse_quote!(0.0));
        }
        if self.inlining >= 32 {
            self.errors.at(
                &call,
                "closures call each other too deeply (more than 32 levels)",
            );
            return ExprKind::Lit(syn::parse_quote!(0.0));
        }
        let mut params = Vec::new();
        for (pat, arg) in closure.inputs.iter().zip(&call.args) {
            if let syn::Expr::Reference(r) = strip_parens(arg) {
                if let syn::Expr::Index(i) = strip_parens(&r.expr) {
                    if matches!(strip_parens(&i.index), syn::Expr::Range(_)) {
                        self.errors.at(
                            &arg,
                            "a local closure takes whole arrays, not ranges of them: pass the \
                             array and the bounds, or make it a `#[differentiate]` function, \
                             which takes `&w[a..b]`",
                        );
                        return ExprKind::Lit(syn::parse_quote!(0.0));
                    }
                }
            }
            let local = self.local_of(arg);
            // `&v` of a local array: the parameter is a view of it, passed on to callees as
            // `&v[..]` (the array itself would be passed by value).
            let view = match (strip_parens(arg), local) {
                (syn::Expr::Reference(r), Some(v))
                    if r.mutability.is_none()
                        && !matches!(self.vars[v].kind, VarKind::Param { .. })
                        && (self.vars[v].ty == Ty::FloatArray(1)
                            || self.call_arrays.contains(&v)
                            || self
                                .array_locals
                                .get(&v)
                                .is_some_and(|a| a.rank == 1 && a.float)) =>
                {
                    let inner = &r.expr;
                    self.slice_view(&syn::parse_quote!(&#inner[..]), arg.span(), out)
                }
                _ => None,
            };
            let value = self.lower_expr(arg, out);
            params.push((pat, local, value, view));
        }
        let saved = std::mem::replace(&mut self.scopes, self.closures[index].scopes.clone());
        self.scopes.push(Vec::new());
        self.inlining += 1;
        for (pat, local, value, view) in params {
            if let (Some(view), Pat::Ident(pi)) = (view, strip_pat_type(pat)) {
                self.bind_view(&pi.ident, view.array, view.start, view.len);
                continue;
            }
            // A variable of the function passed as `v` or `&v` is named directly.
            let value = match local {
                Some(v) => Expr {
                    kind: ExprKind::Var(v),
                    ..value
                },
                None => value,
            };
            self.bind_closure_param(pat, value, out);
        }
        let kind = if discard {
            // A call as a statement (`add(x);`): the body is a statement, its value unused.
            self.lower_tail(&closure.body, Sink::Discard, out);
            ExprKind::Lit(syn::parse_quote!(0.0))
        } else {
            self.lower_expr(&closure.body, out).kind
        };
        self.inlining -= 1;
        self.scopes = saved;
        kind
    }

    /// `e` with each call of a local closure replaced by a temporary holding its value,
    /// computed into `out` first.
    fn hoist_closure_calls(&mut self, e: &syn::Expr, out: &mut Block) -> syn::Expr {
        let mut e = e.clone();
        CallHoister { cx: self, out }.visit_expr_mut(&mut e);
        e
    }

    /// The local closure that the call `f(..)` or `(f)(..)` calls, if it is one.
    fn closure_called(&self, c: &syn::ExprCall) -> Option<usize> {
        match strip_parens(&c.func) {
            syn::Expr::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .and_then(|id| self.resolve_closure(&id.to_string())),
            _ => None,
        }
    }

    /// `let b = a;` (or `a.clone()`, `a.to_vec()`) for a one-dimensional float array `a` of the
    /// function: a new array of the same length, then an element-by-element copy (see
    /// [`Self::lower_array_assign`]). Returns false for other `let`s.
    fn lower_array_copy_let(
        &mut self,
        pi: &syn::PatIdent,
        written_ty: Option<&syn::Type>,
        init: &syn::Expr,
        out: &mut Block,
    ) -> bool {
        if self.lower_range_copy_let(pi, written_ty, init, out) {
            return true;
        }
        let Some(source) = self.whole_array(init) else {
            return false;
        };
        if pi.ident == self.vars[source].user_name {
            // `let mut w = w.to_vec();` (shadowing): the copy is made under a name of its own,
            // which the user's name then stands for (a copy into the new `w` would read it).
            let hidden = Ident::new(&format!("{}_copy", pi.ident), Span::mixed_site());
            let renamed = syn::PatIdent {
                ident: hidden.clone(),
                ..pi.clone()
            };
            if !self.lower_array_copy_let(&renamed, written_ty, init, out) {
                return false;
            }
            let Some(local) = self.resolve(&hidden.to_string()) else {
                return false;
            };
            self.vars[local].user_name = pi.ident.to_string();
            self.bind(local);
            return true;
        }
        // A parameter of a fixed length (`[f64; 3]`, `&[f64; 3]`) is copied into an array of
        // that length, so that the copy can go where the parameter could (`norm(r)`).
        let fixed_len = self.vars[source]
            .written_ty
            .as_ref()
            .filter(|_| matches!(self.vars[source].kind, VarKind::Param { .. }))
            .and_then(|t| match t {
                syn::Type::Reference(r) => match &*r.elem {
                    syn::Type::Array(a) => Some(a.len.clone()),
                    _ => None,
                },
                syn::Type::Array(a) => Some(a.len.clone()),
                _ => None,
            });
        let shape = match self.array_locals.get(&source) {
            Some(a) if a.rank == 1 && a.float => a.len.clone(),
            Some(_) => return false,
            None if fixed_len.is_some() && self.vars[source].ty == Ty::FloatArray(1) => fixed_len,
            // A parameter, differentiated or data (`let mut s = x0.to_vec();`), a call's
            // result (`let mut c = k;`) or a vector grown by `push`: a vector of its length.
            None if (self.vars[source].ty == Ty::FloatArray(1)
                && matches!(self.vars[source].kind, VarKind::Param { .. }))
                || self.call_arrays.contains(&source)
                || self.pushed.contains(&source) =>
            {
                None
            }
            None => return false,
        };
        let (b, a) = (
            &pi.ident,
            Ident::new(&self.vars[source].user_name, init.span()),
        );
        let ty = written_ty.map(|t| quote!(: #t));
        let new: syn::Stmt = match &shape {
            Some(len) => syn::parse_quote!(let mut #b #ty = [0.0; #len];),
            None => syn::parse_quote!(let mut #b #ty = vec![0.0; #a.len()];),
        };
        self.lower_written(&new, out);
        let copy: syn::ExprAssign = syn::parse_quote!(#b = #a);
        self.lower_array_assign(&copy, out);
        true
    }

    /// `let mut b = x[a..c].to_vec();` of an array or a view of the function: a vector filled
    /// from the view `&x[a..c]` (whose bounds are checked where it is taken).
    fn lower_range_copy_let(
        &mut self,
        pi: &syn::PatIdent,
        written_ty: Option<&syn::Type>,
        init: &syn::Expr,
        out: &mut Block,
    ) -> bool {
        let syn::Expr::MethodCall(m) = strip_parens(init) else {
            return false;
        };
        let copies =
            m.args.is_empty() && matches!(m.method.to_string().as_str(), "to_vec" | "to_owned");
        let syn::Expr::Index(i) = strip_parens(&m.receiver) else {
            return false;
        };
        let float_array = |v: VarId| {
            self.array_locals
                .get(&v)
                .is_some_and(|a| a.rank == 1 && a.float)
                || self.vars[v].ty == Ty::FloatArray(1)
        };
        if !copies
            || !matches!(strip_parens(&i.index), syn::Expr::Range(_))
            || !(self.view_of(&i.expr).is_some() || self.local_of(&i.expr).is_some_and(float_array))
        {
            return false;
        }
        let (b, j) = (&pi.ident, Ident::new("__j", Span::call_site()));
        let view = Ident::new("__copied", Span::call_site());
        let ty = written_ty.map(|t| quote!(: #t));
        let receiver = &m.receiver;
        let stmts: Vec<syn::Stmt> = vec![
            syn::parse_quote!(let #view = &#receiver;),
            syn::parse_quote!(let mut #b #ty = vec![0.0; #view.len()];),
            syn::parse_quote!(for #j in 0..#b.len() { #b[#j] = #view[#j]; }),
        ];
        for s in &stmts {
            self.lower_written(s, out);
        }
        true
    }

    /// A statement the lowering writes itself (a desugaring), lowered like the user's.
    pub(super) fn lower_written(&mut self, s: &syn::Stmt, out: &mut Block) {
        match s {
            syn::Stmt::Local(l) => self.lower_local(l, out),
            syn::Stmt::Expr(e, _) => self.lower_expr_stmt(e, out),
            syn::Stmt::Item(i) => self.lower_item(i, out),
            syn::Stmt::Macro(m) => self.lower_macro_stmt(&m.mac, out),
        }
    }

    /// `let (a, b) = e;` or `let [a, b] = e;` of a value other than a tuple or array written
    /// out: `let t = e; let a = t.0; let b = t.1;` (or `t[0]`, `t[1]`). For data (a tuple or
    /// row of a `#[constant]` slice or `const` table, integers from a `match`); a value that
    /// carries a derivative is reported where the temporary cannot hold it.
    fn lower_data_destructure(&mut self, local: &syn::Local, out: &mut Block) -> bool {
        let Some(init) = &local.init else {
            return false;
        };
        if init.diverge.is_some() {
            return false;
        }
        let (pat, ty) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some(&pt.ty)),
            p => (p, None),
        };
        let e = strip_parens(&init.expr);
        let written_out = matches!(e, syn::Expr::Tuple(_) | syn::Expr::Array(_));
        if written_out || self.is_sibling_call(e) {
            return false;
        }
        if let (Pat::Tuple(t), syn::Expr::If(_) | syn::Expr::Match(_) | syn::Expr::Block(_), None) =
            (pat, e, ty)
        {
            // `let (a, b) = if c { (x, y) } else { (y, x) };`: each branch assigns the names.
            if !t.elems.iter().all(|p| {
                matches!(p, Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none())
                    || matches!(p, Pat::Wild(_))
            }) {
                return false;
            }
            let vars: Vec<Option<VarId>> = t
                .elems
                .iter()
                .map(|p| match p {
                    Pat::Ident(pi) => {
                        let v = self.new_var(&pi.ident, Ty::Unknown, None, true, VarKind::Local);
                        out.push(Stmt::Let { var: v, init: None });
                        Some(v)
                    }
                    _ => None,
                })
                .collect();
            self.tuple_sinks.push(vars.clone());
            let k = self.tuple_sinks.len() - 1;
            self.lower_tail(e, Sink::Tuple(k), out);
            for v in vars.into_iter().flatten() {
                self.bind(v);
            }
            return true;
        }
        let elems: Vec<&Pat> = match pat {
            Pat::Tuple(t) => t.elems.iter().collect(),
            Pat::Slice(s) => s.elems.iter().collect(),
            _ => return false,
        };
        if elems.iter().any(|p| matches!(p, Pat::Rest(_))) {
            return false;
        }
        let tmp = Ident::new(&format!("__parts{}", self.vars.len()), Span::mixed_site());
        let ty = ty.map(|t| quote!(: #t));
        let value: syn::Stmt = syn::parse_quote_spanned!(e.span()=> let #tmp #ty = #e;);
        self.lower_written(&value, out);
        for (i, p) in elems.into_iter().enumerate() {
            if matches!(p, Pat::Wild(_)) {
                continue;
            }
            let part: syn::Expr = match pat {
                Pat::Tuple(_) => {
                    let i = syn::Index::from(i);
                    syn::parse_quote!(#tmp.#i)
                }
                _ => syn::parse_quote!(#tmp[#i]),
            };
            let one: syn::Stmt = syn::parse_quote_spanned!(p.span()=> let #p = #part;);
            self.lower_written(&one, out);
        }
        true
    }

    /// `let s = [a, b, c];` as `let mut s = [a; 3]; s[1] = b; s[2] = c;`: an array of the
    /// function whose elements are stores like any other. Returns false for other `let`s, and
    /// when an element mentions the new name (`let s = [s[1], s[0]];` reads the old `s`).
    fn lower_array_literal_let(
        &mut self,
        pi: &syn::PatIdent,
        written_ty: Option<&syn::Type>,
        init: &syn::Expr,
        out: &mut Block,
    ) -> bool {
        let (elems, vec) = match strip_parens(init) {
            syn::Expr::Array(array) => (array.elems.clone(), false),
            // `vec![a, b, c]` (not `vec![x; n]`, which is a repeat).
            syn::Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                if m.mac.parse_body_with(parse_vec_repeat).is_ok() {
                    return false;
                }
                match m.mac.parse_body_with(
                    syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
                ) {
                    Ok(elems) => (elems, true),
                    Err(_) => return false,
                }
            }
            _ => return false,
        };
        let elems: Vec<&syn::Expr> = elems.iter().collect();
        let is_array = |e: &syn::Expr| {
            matches!(strip_parens(e), syn::Expr::Array(_)) || repeat_rank(e).is_some()
        };
        let name = pi.ident.to_string();
        let all: TokenStream = elems.iter().map(|e| e.to_token_stream()).collect();
        if elems.is_empty() {
            return false;
        }
        if mentions(all, std::slice::from_ref(&name)) {
            // `let s = [s[0] * 2.0, s[1]];` reads the old `s`: its values first, then the new
            // array of them.
            if elems.iter().any(|e| is_array(e)) {
                return false;
            }
            let base = self.vars.len();
            let names: Vec<Ident> = (0..elems.len())
                .map(|i| Ident::new(&format!("__elem{base}_{i}"), Span::mixed_site()))
                .collect();
            for (n, e) in names.iter().zip(&elems) {
                let value: syn::Stmt = syn::parse_quote!(let #n = #e;);
                self.lower_written(&value, out);
            }
            let array: syn::Expr = if vec {
                syn::parse_quote!(vec![#(#names),*])
            } else {
                syn::parse_quote!([#(#names),*])
            };
            return self.lower_array_literal_let(pi, written_ty, &array, out);
        }
        let (s, ty) = (&pi.ident, written_ty.map(|t| quote!(: #t)));
        if !elems.iter().any(|e| is_array(e)) {
            // `let v = [a, b, c];` → `let mut v = [a; 3]; v[1] = b; v[2] = c;`
            let (first, n) = (elems[0], elems.len());
            let new: syn::Stmt = if vec {
                syn::parse_quote!(let mut #s #ty = vec![#first; #n];)
            } else {
                syn::parse_quote!(let mut #s #ty = [#first; #n];)
            };
            self.lower_written(&new, out);
            for (i, e) in elems.iter().enumerate().skip(1) {
                let store: syn::Expr = syn::parse_quote!(#s[#i] = #e);
                self.lower_expr_stmt(&store, out);
            }
            return true;
        }
        // A matrix of values, `[[c, -s], [s, c]]`: rows written out, all of one length.
        let rows: Option<Vec<Vec<&syn::Expr>>> = elems
            .iter()
            .map(|row| match strip_parens(row) {
                syn::Expr::Array(r) if !r.elems.is_empty() && !r.elems.iter().any(is_array) => {
                    Some(r.elems.iter().collect())
                }
                _ => None,
            })
            .collect();
        let Some(rows) = rows.filter(|rows| rows.iter().all(|r| r.len() == rows[0].len())) else {
            return false;
        };
        let (first, m, n) = (rows[0][0], rows.len(), rows[0].len());
        let new: syn::Stmt = if vec {
            syn::parse_quote!(let mut #s #ty = vec![[#first; #n]; #m];)
        } else {
            syn::parse_quote!(let mut #s #ty = [[#first; #n]; #m];)
        };
        self.lower_written(&new, out);
        for (i, row) in rows.iter().enumerate() {
            for (j, e) in row.iter().enumerate() {
                if (i, j) != (0, 0) {
                    let store: syn::Expr = syn::parse_quote!(#s[#i][#j] = #e);
                    self.lower_expr_stmt(&store, out);
                }
            }
        }
        true
    }

    /// The array that `e` copies as a whole (`a`, `a.clone()`, `a.to_vec()`, `&a`), if `a`
    /// is an array of the function.
    fn whole_array(&self, e: &syn::Expr) -> Option<VarId> {
        let e = match strip_parens(e) {
            syn::Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(m.method.to_string().as_str(), "clone" | "to_vec") =>
            {
                &m.receiver
            }
            e => e,
        };
        let v = self.local_of(e)?;
        (self.array_locals.contains_key(&v)
            || self.call_arrays.contains(&v)
            || self.call_bound.contains(&v)
            || self.pushed.contains(&v)
            || matches!(self.vars[v].ty, Ty::FloatArray(_)))
        .then_some(v)
    }

    /// `h = [x; n]`, `h = vec![x; n]` (a reset) and `h = a` (a copy) for an array `h` of the
    /// function, lowered as the element-by-element loop a person would write, so that the
    /// reverse sweep treats them like any other stores. Returns false for other assignments.
    fn lower_array_assign(&mut self, a: &syn::ExprAssign, out: &mut Block) -> bool {
        let Some(target) = self.local_of(&a.left) else {
            return false;
        };
        if self.pushed.contains(&target) {
            self.errors.at(
                &a,
                "a vector grown by `push` is made once and not assigned as a whole: make a new \
                 one where it starts over (`let mut v = Vec::new();` at the top of the loop \
                 body), or keep one and fill it with `v[i] = ..`",
            );
            return true;
        }
        let rank = match self.array_locals.get(&target) {
            Some(a) => a.rank,
            None if self.call_arrays.contains(&target) => 1,
            None => match self.vars[target].ty {
                Ty::FloatArray(r) => usize::from(r),
                _ => {
                    // `let mut prev;` then `prev = cur.clone();`: an array copied into a name
                    // that has no array yet.
                    let source = self.whole_array(&a.right).filter(|&v| {
                        self.array_locals.contains_key(&v)
                            || self.call_arrays.contains(&v)
                            || self.pushed.contains(&v)
                            || matches!(self.vars[v].ty, Ty::FloatArray(_))
                    });
                    let Some(source) = source else {
                        return false;
                    };
                    self.errors.at(
                        &a,
                        format!(
                            "`{}` has no array to copy `{}` into: declare it with one (`let mut \
                             {0} = vec![0.0; n];` or `[0.0; N]`), then assign `{0} = {1};`",
                            self.vars[target].user_name, self.vars[source].user_name
                        ),
                    );
                    return true;
                }
            },
        };
        let h = &a.left;
        let j = Ident::new("__j", Span::call_site());
        let right = strip_parens(&a.right);
        let code: syn::Expr = if let Some((elem, len, vec)) = repeat_parts(right) {
            if rank != 1 || repeat_rank(&elem).is_some() {
                self.errors.at(
                    &a,
                    "resetting an array of rows as a whole is not supported in a \
                     `#[differentiate]` function: assign its elements in nested loops",
                );
                return true;
            }
            let check = vec.then(|| {
                let msg = format!(
                    "`{}` changes length: a `#[differentiate]` function resets an array only \
                     to its own length",
                    show(&a)
                );
                quote!(assert_eq!(#h.len(), #len, #msg);)
            });
            let lit = matches!(&elem, syn::Expr::Lit(_));
            let fill = Ident::new("__fill", Span::call_site());
            let (bind, value) = if lit {
                (None, quote!(#elem))
            } else {
                (Some(quote!(let #fill = #elem;)), quote!(#fill))
            };
            syn::parse_quote!({
                #check
                #bind
                for #j in 0..#h.len() {
                    #h[#j] = #value;
                }
            })
        } else if let Some(source) = self.whole_array(right) {
            if rank != 1 {
                self.errors.at(
                    &a,
                    "copying an array of rows as a whole is not supported in a \
                     `#[differentiate]` function: copy its elements in nested loops",
                );
                return true;
            }
            let src = Ident::new(&self.vars[source].user_name, right.span());
            let msg = format!("`{}`: the arrays have different lengths", show(&a));
            syn::parse_quote!({
                assert_eq!(#h.len(), #src.len(), #msg);
                for #j in 0..#h.len() {
                    #h[#j] = #src[#j];
                }
            })
        } else if let (syn::Expr::Array(values), 1) = (right, rank) {
            // `s = [a, b];`: every value is computed before any element changes, since they
            // may read the old ones (`s = [s[1], s[0]];`). The original function's types make
            // the lengths agree.
            let names: Vec<Ident> = (0..values.elems.len())
                .map(|i| Ident::new(&format!("__elem{i}"), Span::call_site()))
                .collect();
            let (values, index) = (values.elems.iter(), 0..names.len());
            syn::parse_quote!({
                #(let #names = #values;)*
                #(#h[#index] = #names;)*
            })
        } else if let (Some(right), 1) = (self.sibling_call_result(right), rank) {
            // `s = step(&s, h);` of a callee returning `[f64; N]`: its result, then a copy.
            let result = Ident::new("__result", Span::call_site());
            syn::parse_quote!({
                let #result = #right;
                for #j in 0..#h.len() {
                    #h[#j] = #result[#j];
                }
            })
        } else {
            self.errors.at(
                &a.right,
                "an array of a `#[differentiate]` function is assigned as a whole only from \
                 `[value; n]`, `vec![value; n]`, `[a, b, ..]`, another array of the function, or \
                 the `[f64; N]` result of a `#[differentiate]` function: assign its elements \
                 instead",
            );
            return true;
        };
        self.lower_expr_stmt(&code, out);
        true
    }

    /// `let (a, mut b) = (x, y);` and `let (s, c) = x.sin_cos();` as one `let` per name.
    /// Returns false (nothing lowered) for other forms, and when a value mentions a name the
    /// pattern binds (`let (a, b) = (b, a);`), which one `let` after another would change.
    fn lower_tuple_let(
        &mut self,
        local: &syn::Local,
        tuple: &syn::PatTuple,
        written_ty: Option<&syn::Type>,
        out: &mut Block,
    ) -> bool {
        let Some(init) = &local.init else {
            return false;
        };
        let arity = tuple.elems.len();
        let values: Vec<syn::Expr> = match strip_parens(&init.expr) {
            syn::Expr::Tuple(t) if t.elems.len() == arity => t.elems.iter().cloned().collect(),
            syn::Expr::MethodCall(m)
                if m.method == "sin_cos" && m.args.is_empty() && arity == 2 =>
            {
                let r = &m.receiver;
                vec![syn::parse_quote!((#r).sin()), syn::parse_quote!((#r).cos())]
            }
            syn::Expr::Call(c)
                if arity == 2
                    && c.args.len() == 1
                    && matches!(&*c.func, syn::Expr::Path(p)
                        if p.path.segments.len() == 2
                            && p.path.segments[0].ident == "f64"
                            && p.path.segments[1].ident == "sin_cos") =>
            {
                let a = &c.args[0];
                vec![
                    syn::parse_quote!(f64::sin(#a)),
                    syn::parse_quote!(f64::cos(#a)),
                ]
            }
            // `self.link(x, y)` is a method of the same type, lowered as `Self::link(self, ..)`.
            e if self.is_sibling_call(e) => {
                return self.lower_call_let(&tuple.elems, false, written_ty, e, out);
            }
            _ => return false,
        };
        let types: Vec<Option<syn::Type>> = match written_ty {
            None => vec![None; arity],
            Some(syn::Type::Tuple(t)) if t.elems.len() == arity => {
                t.elems.iter().cloned().map(Some).collect()
            }
            Some(_) => return false,
        };
        let mut names = Vec::new();
        pattern_idents(&Pat::Tuple(tuple.clone()), &mut names);
        let names: Vec<String> = names.iter().map(|(i, _)| i.to_string()).collect();
        let mut values = values;
        if values.iter().any(|v| mentions(v.to_token_stream(), &names)) {
            // `let (k, n) = (k as f64, n as f64);` or a swap `let (b, a) = (a, b);`: every
            // value first, under a name of its own, as Rust evaluates them.
            let base = self.vars.len();
            for (i, v) in values.iter_mut().enumerate() {
                let tmp = Ident::new(&format!("__value{base}_{i}"), Span::mixed_site());
                let stmt: syn::Stmt = syn::parse_quote_spanned!(v.span()=> let #tmp = #v;);
                self.lower_written(&stmt, out);
                *v = syn::parse_quote!(#tmp);
            }
        }
        for ((pat, value), ty) in tuple.elems.iter().zip(values).zip(types) {
            let pat = match ty {
                Some(ty) => Pat::Type(syn::PatType {
                    attrs: Vec::new(),
                    pat: Box::new(pat.clone()),
                    colon_token: Default::default(),
                    ty: Box::new(ty),
                }),
                None => pat.clone(),
            };
            let one = syn::Local {
                attrs: Vec::new(),
                let_token: local.let_token,
                pat,
                init: Some(syn::LocalInit {
                    eq_token: init.eq_token,
                    expr: Box::new(value),
                    diverge: None,
                }),
                semi_token: local.semi_token,
            };
            self.lower_local(&one, out);
        }
        true
    }

    /// A call of another function by path (not of a local closure), or a method of the same
    /// type on `self`: a function that may be `#[differentiate]`d.
    fn is_sibling_call(&self, e: &syn::Expr) -> bool {
        if is_empty_vec(e) {
            return false;
        }
        match strip_parens(e) {
            syn::Expr::Call(c) => {
                matches!(&*c.func, syn::Expr::Path(_)) && self.closure_called(c).is_none()
            }
            syn::Expr::MethodCall(m) => self.self_receiver(&m.receiver).is_some(),
            _ => false,
        }
    }

    /// `std::mem::swap(&mut a, &mut b)` of two floats or two arrays of the function, and
    /// `v.swap(i, j)` of an array, as the assignments a person would write (element by element
    /// for arrays, whose lengths must agree, as `swap` of two `Vec`s would not require).
    fn swap(&self, e: &syn::Expr) -> Option<syn::Expr> {
        let float_array = |v: VarId| {
            self.array_locals
                .get(&v)
                .is_some_and(|a| a.rank == 1 && a.float)
                || self.call_arrays.contains(&v)
                || self.vars[v].ty == Ty::FloatArray(1)
        };
        match e {
            syn::Expr::Call(c) if c.args.len() == 2 => {
                let syn::Expr::Path(p) = &*c.func else {
                    return None;
                };
                let names: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if !(names.ends_with(&["mem".into(), "swap".into()])) {
                    return None;
                }
                // `swap(&mut a[i], &mut b[j])` of two elements: their indices first, then the
                // three assignments.
                let element = |a: &syn::Expr| match strip_parens(a) {
                    syn::Expr::Reference(r) if r.mutability.is_some() => {
                        match strip_parens(&r.expr) {
                            syn::Expr::Index(i) if self.local_of(&i.expr).is_some() => {
                                Some(((*i.expr).clone(), (*i.index).clone()))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                if let (Some((a, i)), Some((b, j))) = (element(&c.args[0]), element(&c.args[1])) {
                    let (ti, tj, t) = (
                        Ident::new("__swap_i", Span::call_site()),
                        Ident::new("__swap_j", Span::call_site()),
                        Ident::new("__swapped", Span::call_site()),
                    );
                    return Some(syn::parse_quote!({
                        let #ti = #i;
                        let #tj = #j;
                        let #t = #a[#ti];
                        #a[#ti] = #b[#tj];
                        #b[#tj] = #t;
                    }));
                }
                let place = |a: &syn::Expr| match strip_parens(a) {
                    syn::Expr::Reference(r) if r.mutability.is_some() => {
                        match strip_parens(&r.expr) {
                            syn::Expr::Path(p) => p.path.get_ident().cloned(),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let (a, b) = (place(&c.args[0])?, place(&c.args[1])?);
                let (va, vb) = (self.resolve(&a.to_string())?, self.resolve(&b.to_string())?);
                let j = Ident::new("__j", Span::call_site());
                let t = Ident::new("__swapped", Span::call_site());
                if float_array(va) && float_array(vb) {
                    let msg =
                        format!("`swap` of `{a}` and `{b}`: the arrays have different lengths");
                    Some(syn::parse_quote!({
                        assert_eq!(#a.len(), #b.len(), #msg);
                        for #j in 0..#a.len() {
                            let #t = #a[#j];
                            #a[#j] = #b[#j];
                            #b[#j] = #t;
                        }
                    }))
                } else {
                    Some(syn::parse_quote!({
                        let #t = #a;
                        #a = #b;
                        #b = #t;
                    }))
                }
            }
            syn::Expr::MethodCall(m) if m.method == "swap" && m.args.len() == 2 => {
                let v = self.local_of(&m.receiver)?;
                if !float_array(v) {
                    return None;
                }
                let (recv, i, k) = (&m.receiver, &m.args[0], &m.args[1]);
                let (ti, tk) = (
                    Ident::new("__i", Span::call_site()),
                    Ident::new("__k", Span::call_site()),
                );
                let t = Ident::new("__swapped", Span::call_site());
                Some(syn::parse_quote!({
                    let #ti = #i;
                    let #tk = #k;
                    let #t = #recv[#ti];
                    #recv[#ti] = #recv[#tk];
                    #recv[#tk] = #t;
                }))
            }
            _ => None,
        }
    }

    /// `g(x)` or `g(x).to_vec()` of a function that may be `#[differentiate]`d: the call.
    fn sibling_call_result<'e>(&self, e: &'e syn::Expr) -> Option<&'e syn::Expr> {
        let call = match strip_parens(e) {
            syn::Expr::MethodCall(m) if m.method == "to_vec" && m.args.is_empty() => &m.receiver,
            e => e,
        };
        self.is_sibling_call(call).then_some(call)
    }

    /// `let (a, b) = g(x);`: the outputs of a function with several, one immutable local each;
    /// `let [a, b] = g(x);` (`array`) of one returning `[f64; 2]`.
    fn lower_call_let(
        &mut self,
        elems: &syn::punctuated::Punctuated<Pat, syn::Token![,]>,
        array: bool,
        written_ty: Option<&syn::Type>,
        call: &syn::Expr,
        out: &mut Block,
    ) -> bool {
        let types: Vec<Option<syn::Type>> = match written_ty {
            None => vec![None; elems.len()],
            Some(syn::Type::Array(_)) if array => vec![None; elems.len()],
            Some(syn::Type::Tuple(t)) if t.elems.len() == elems.len() && !array => {
                t.elems.iter().cloned().map(Some).collect()
            }
            Some(_) => return false,
        };
        let mut idents = Vec::new();
        for p in elems {
            match p {
                Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                    if pi.mutability.is_some() {
                        self.errors.at(
                            &pi,
                            format!(
                                "the outputs of a call are bound immutably in a \
                                 `#[differentiate]` function: write `let (a, b) = g(..);` and \
                                 copy the one you change (`let mut {0} = a;`)",
                                pi.ident
                            ),
                        );
                    }
                    idents.push(Some(pi.ident.clone()));
                }
                Pat::Wild(_) => idents.push(None),
                _ => return false,
            }
        }
        let span = call.span();
        let kind = self.lower_expr(call, out).kind;
        if !matches!(kind, ExprKind::Call { .. }) {
            self.errors.at(
                &call,
                "destructuring `let` of a call is supported for a `#[differentiate]` function \
                 with several outputs called by name (`let (a, b) = g(x);`)",
            );
            return true;
        }
        let vars: Vec<Option<VarId>> = idents
            .iter()
            .zip(types)
            .map(|(id, ty)| {
                id.as_ref().map(|id| {
                    let t = ty.as_ref().map_or(Ty::Unknown, classify_type);
                    let written = ty.filter(|_| t != Ty::Unknown);
                    self.new_var(id, t, written, false, VarKind::Local)
                })
            })
            .collect();
        out.push(Stmt::LetCall {
            vars: vars.clone(),
            call: Expr {
                kind,
                span,
                end: last_span(call),
            },
            array,
        });
        for v in vars.into_iter().flatten() {
            self.bind(v);
        }
        true
    }

    /// A statement that is an expression: assignment, `if`, `match`, block, `return`, or a call
    /// made for its effect.
    fn lower_expr_stmt(&mut self, expr: &syn::Expr, out: &mut Block) {
        // `*h = ..` and `*h += ..` of an element bound by `iter_mut`.
        let elem_store = match expr {
            syn::Expr::Assign(a) => self.elem_of(&a.left).map(|e| (e, None, &*a.right)),
            syn::Expr::Binary(b) if compound_op(&b.op).is_some() => self
                .elem_of(&b.left)
                .map(|e| (e, compound_op(&b.op), &*b.right)),
            _ => None,
        };
        if let Some(((var, index), op, right)) = elem_store {
            let span = expr.span();
            let value = self.lower_expr(right, out);
            out.push(Stmt::Store {
                var,
                index: vec![Expr {
                    kind: ExprKind::Var(index),
                    span,
                    end: span,
                }],
                op,
                value,
                span,
            });
            return;
        }
        match expr {
            syn::Expr::Assign(a) if matches!(strip_parens(&a.left), syn::Expr::Index(_)) => {
                self.lower_store(&a.left, None, &a.right, a.span(), out)
            }
            syn::Expr::Binary(b)
                if compound_op(&b.op).is_some()
                    && matches!(strip_parens(&b.left), syn::Expr::Index(_)) =>
            {
                self.lower_store(&b.left, compound_op(&b.op), &b.right, b.span(), out)
            }
            // `*out = [r, g, b];` through a `&mut` array parameter: the assignment `out = ..`.
            syn::Expr::Assign(a)
                if matches!(strip_parens(&a.left), syn::Expr::Unary(syn::ExprUnary {
                        op: syn::UnOp::Deref(_), expr, ..
                    }) if self.lent_output(expr).is_some()) =>
            {
                let syn::Expr::Unary(u) = strip_parens(&a.left) else {
                    unreachable!("matched above")
                };
                let plain = syn::ExprAssign {
                    left: u.expr.clone(),
                    ..a.clone()
                };
                if !self.lower_array_assign(&plain, out) {
                    self.unsupported(expr);
                }
            }
            syn::Expr::Assign(a) if self.lower_array_assign(a, out) => {}
            syn::Expr::Assign(a) => {
                if let Some(var) = self.assign_target(&a.left) {
                    let value = self.lower_expr(&a.right, out);
                    out.push(Stmt::Assign {
                        var,
                        op: None,
                        value,
                        span: a.span(),
                    });
                }
            }
            syn::Expr::Binary(b) if compound_op(&b.op).is_some() => {
                let op = compound_op(&b.op);
                if let Some(var) = self.assign_target(&b.left) {
                    let value = self.lower_expr(&b.right, out);
                    out.push(Stmt::Assign {
                        var,
                        op,
                        value,
                        span: b.span(),
                    });
                }
            }
            syn::Expr::If(_) | syn::Expr::Match(_) | syn::Expr::Block(_) => {
                self.lower_tail(expr, Sink::Discard, out)
            }
            syn::Expr::Return(r) => self.lower_return(r, out),
            syn::Expr::ForLoop(f) => self.lower_for(f, out),
            syn::Expr::While(w) => {
                if let syn::Expr::Let(l) = &*w.cond {
                    // `while let P = e { body }` is `loop { match e { P => body, _ => break } }`.
                    let (scrutinee, pat, body, label) = (&l.expr, &l.pat, &w.body, &w.label);
                    let desugared: syn::Expr = syn::parse_quote_spanned!(l.span()=>
                        #label loop {
                            match #scrutinee {
                                #pat => #body,
                                _ => break,
                            }
                        }
                    );
                    self.lower_expr_stmt(&desugared, out);
                    return;
                }
                let mut pre = Vec::new();
                let cond = self.lower_expr(&w.cond, &mut pre);
                let mut body = self.lower_block(&w.body, Sink::Discard);
                let label = w.label.as_ref().map(|l| l.name.clone());
                if pre.is_empty() {
                    out.push(Stmt::Loop {
                        kind: LoopKind::While { cond },
                        body,
                        label,
                    });
                    return;
                }
                // A condition that needs statements of its own (a closure called, a call of
                // a `#[differentiate]` function): `loop { <them>; if !cond { break; } body }`.
                let (span, end) = (cond.span, cond.end);
                pre.push(Stmt::If {
                    cond: Expr {
                        kind: ExprKind::Unary(UnOp::Not, Box::new(cond)),
                        span,
                        end,
                    },
                    then: vec![Stmt::Exit {
                        kind: ExitKind::Break,
                        label: None,
                    }],
                    els: Vec::new(),
                });
                pre.append(&mut body);
                out.push(Stmt::Loop {
                    kind: LoopKind::Infinite,
                    body: pre,
                    label,
                });
            }
            syn::Expr::Loop(l) => {
                let body = self.lower_block(&l.body, Sink::Discard);
                out.push(Stmt::Loop {
                    kind: LoopKind::Infinite,
                    body,
                    label: l.label.as_ref().map(|l| l.name.clone()),
                });
            }
            syn::Expr::Break(b) => {
                if let Some(e) = &b.expr {
                    self.errors.at(
                        &e,
                        "`break` with a value is supported for a `loop` whose value is one \
                         float (`let r = loop { .. break v; };`): for this one, assign the value \
                         to a variable declared before the loop, then `break`",
                    );
                }
                out.push(Stmt::Exit {
                    kind: ExitKind::Break,
                    label: b.label.clone(),
                });
            }
            syn::Expr::Continue(c) => out.push(Stmt::Exit {
                kind: ExitKind::Continue,
                label: c.label.clone(),
            }),
            syn::Expr::Paren(p) => self.lower_expr_stmt(&p.expr, out),
            syn::Expr::Macro(m) => self.lower_macro_stmt(&m.mac, out),
            syn::Expr::Call(c) if self.closure_called(c).is_some() => {
                let closure = self.closure_called(c).expect("checked");
                self.inline_closure(closure, c, true, out);
            }
            e @ (syn::Expr::Call(_) | syn::Expr::MethodCall(_)) if self.swap(e).is_some() => {
                let swapped = self.swap(e).expect("checked");
                self.lower_expr_stmt(&swapped, out);
            }
            // `h.fill(x);` of an array of the function: `for k in 0..h.len() { h[k] = x; }`.
            syn::Expr::MethodCall(m)
                if m.method == "fill"
                    && m.args.len() == 1
                    && self
                        .local_of(&m.receiver)
                        .is_some_and(|v| self.is_array_local(v)) =>
            {
                let (target, value) = (&m.receiver, &m.args[0]);
                let fill: syn::Expr = syn::parse_quote_spanned!(m.span()=> {
                    let __fill_value = #value;
                    for __k in 0..#target.len() {
                        #target[__k] = __fill_value;
                    }
                });
                self.lower_expr_stmt(&fill, out);
            }
            // `u[1..n - 1].copy_from_slice(&next[1..n - 1]);` (either side a range or whole):
            // the element loop, its lengths checked as `copy_from_slice` does.
            syn::Expr::MethodCall(m)
                if m.method == "copy_from_slice"
                    && m.args.len() == 1
                    && (matches!(strip_parens(&m.receiver), syn::Expr::Index(_))
                        || matches!(strip_parens(&m.args[0]), syn::Expr::Reference(r)
                            if matches!(strip_parens(&r.expr), syn::Expr::Index(_)))) =>
            {
                match (range_of(&m.receiver), range_of(&m.args[0])) {
                    (Some((dst, d0, d1)), Some((src, s0, s1))) => {
                        let copy: syn::Expr = syn::parse_quote_spanned!(m.span()=> {
                            let __dst_start: usize = #d0;
                            let __len: usize = #d1 - __dst_start;
                            let __src_start: usize = #s0;
                            assert_eq!(__len, #s1 - __src_start,
                                "copy_from_slice: the ranges have different lengths");
                            for __k in 0..__len {
                                #dst[__dst_start + __k] = #src[__src_start + __k];
                            }
                        });
                        self.lower_expr_stmt(&copy, out);
                    }
                    _ => self.unsupported(expr),
                }
            }
            // `u.copy_from_slice(&next);` of two whole arrays: the copy `u = next`, element by
            // element (its lengths checked, as `copy_from_slice` does).
            syn::Expr::MethodCall(m)
                if m.method == "copy_from_slice"
                    && m.args.len() == 1
                    && self.local_of(&m.receiver).is_some()
                    && self.whole_array(&m.args[0]).is_some() =>
            {
                let (target, source) = (&m.receiver, &m.args[0]);
                let source = match strip_parens(source) {
                    syn::Expr::Reference(r) => &*r.expr,
                    e => e,
                };
                let assign: syn::ExprAssign =
                    syn::parse_quote_spanned!(m.span()=> #target = #source);
                if !self.lower_array_assign(&assign, out) {
                    self.unsupported(expr);
                }
            }
            syn::Expr::MethodCall(m)
                if m.method == "push"
                    && m.args.len() == 1
                    && self
                        .local_of(&m.receiver)
                        .is_some_and(|v| self.pushed.contains(&v)) =>
            {
                let var = self.local_of(&m.receiver).expect("checked");
                let value = self.lower_expr(&m.args[0], out);
                out.push(Stmt::Push { var, value });
                let span = m.span();
                out.push(Stmt::Assign {
                    var: self.pushed_lens[&var],
                    op: Some(BinOp::Add),
                    value: Expr {
                        kind: ExprKind::Lit(syn::parse_quote!(1usize)),
                        span,
                        end: span,
                    },
                    span,
                });
            }
            syn::Expr::Call(c) if self.lends_array(c) => {
                // `matvec(w, &x, &mut h);`: a call for what it writes into `h`, which must be a
                // `#[differentiate]` function (its result, if any, is dropped).
                let call = self.lower_expr(expr, out);
                out.push(Stmt::LetCall {
                    vars: vec![None],
                    call,
                    array: false,
                });
            }
            syn::Expr::Call(_) | syn::Expr::MethodCall(_) => {
                let e = self.lower_expr(expr, out);
                let mut refs = Vec::new();
                collect_refs(&e, &mut refs);
                let growth = match expr {
                    syn::Expr::MethodCall(m) => matches!(
                        m.method.to_string().as_str(),
                        "push" | "insert" | "extend" | "extend_from_slice" | "append" | "resize"
                    )
                    .then_some(&m.method),
                    _ => None,
                };
                let floats = refs.iter().any(|&v| self.vars[v].ty == Ty::Float);
                // Growing a float array of the function (made with a length, or collected).
                let of_array = match expr {
                    syn::Expr::MethodCall(m) => self.local_of(&m.receiver).is_some_and(|v| {
                        self.array_locals.get(&v).is_some_and(|a| a.float)
                            || matches!(self.vars[v].ty, Ty::FloatArray(_))
                    }),
                    _ => false,
                };
                if let (Some(method), true) = (growth, floats || of_array) {
                    self.errors.at(
                        method,
                        format!(
                            "growing a vector of floats is supported by `.push()` onto a vector \
                             made empty in the function (`let mut v = Vec::new();`); for this \
                             one, `.{method}()` is not: make it with its final length \
                             (`vec![0.0; n]`) and assign its elements (`v[i] = ..`)"
                        ),
                    );
                } else if floats {
                    self.errors.at(
                        &expr,
                        "a call whose result is unused cannot pass a derivative anywhere: assign \
                         its result or remove it",
                    );
                } else {
                    self.effect_calls.push(EffectCall {
                        tokens: expr.to_token_stream(),
                        refs,
                        mac: None,
                    });
                    let tokens = self.rename_tokens(expr.to_token_stream());
                    out.push(Stmt::Passive(quote!(#tokens;)));
                }
            }
            other => {
                self.unsupported(other);
            }
        }
    }

    /// `loop { .. break value; }` whose value goes to `sink`: each `break value` that leaves this
    /// loop becomes `{ target = value; break; }`.
    fn lower_loop_value(&mut self, l: &syn::ExprLoop, sink: Sink, out: &mut Block) {
        let span = l.span();
        let target = match sink {
            Sink::Assign(v) => {
                // Assigned in a loop: storage.
                self.vars[v].mutable = true;
                v
            }
            _ => {
                let t = self.temp(span);
                out.push(Stmt::Let { var: t, init: None });
                t
            }
        };
        let name = Ident::new("__loop_value", Span::mixed_site());
        let mut rewriter = BreakValues {
            label: l.label.as_ref().map(|l| l.name.ident.to_string()),
            depth: 0,
            target: name.clone(),
        };
        let mut body = l.body.clone();
        rewriter.visit_block_mut(&mut body);
        let rewritten = syn::Expr::Loop(syn::ExprLoop { body, ..l.clone() });
        self.in_scope(|cx| {
            let scope = cx.scopes.last_mut().expect("a scope");
            scope.push((name.to_string(), Binding::Var(target)));
            cx.lower_expr_stmt(&rewritten, out);
        });
        if let Sink::Return = sink {
            self.copy_back(out);
            out.push(Stmt::Return {
                values: vec![Expr {
                    kind: ExprKind::Var(target),
                    span,
                    end: span,
                }],
            });
        }
    }

    /// Copies each `&mut` array parameter's local back into the parameter, before a return.
    fn copy_back(&mut self, out: &mut Block) {
        for (param, local) in self.inout.clone() {
            let span = self.vars[param].span;
            self.in_scope(|cx| {
                let scope = cx.scopes.last_mut().expect("a scope");
                scope.push(("__ad_output".into(), Binding::Var(param)));
                scope.push(("__ad_work".into(), Binding::Var(local)));
                let copy: syn::Stmt = syn::parse_quote_spanned!(span=>
                    for __ad_i in 0..__ad_work.len() {
                        __ad_output[__ad_i] = __ad_work[__ad_i];
                    }
                );
                cx.lower_written(&copy, out);
            });
        }
    }

    fn lower_return(&mut self, r: &syn::ExprReturn, out: &mut Block) {
        match &r.expr {
            None if self.ret == Some(RetShape::Unit) => {
                self.copy_back(out);
                out.push(Stmt::Return { values: Vec::new() });
            }
            Some(e) => {
                let values = self.return_values(e, out);
                self.copy_back(out);
                out.push(Stmt::Return { values });
            }
            None => self.errors.at(
                &r,
                "`return` needs the function's value: `return <expression>`",
            ),
        }
    }

    /// The output expressions of a returned value: one for `f64`, one per element of a tuple or
    /// array literal.
    fn return_values(&mut self, e: &syn::Expr, out: &mut Block) -> Vec<Expr> {
        match strip_parens(e) {
            syn::Expr::Tuple(t) => t.elems.iter().map(|x| self.lower_expr(x, out)).collect(),
            syn::Expr::Array(a) => a.elems.iter().map(|x| self.lower_expr(x, out)).collect(),
            other => {
                // `-> [f64; N]` returning an array of the function: its `N` elements.
                let array = self.local_of(other).filter(|v| {
                    self.array_locals
                        .get(v)
                        .is_some_and(|a| a.rank == 1 && a.float)
                        || self.vars[*v].ty == Ty::FloatArray(1)
                });
                match (self.ret, array) {
                    (Some(RetShape::Array(n)), Some(var)) => {
                        let span = other.span();
                        let at = |kind| Expr {
                            kind,
                            span,
                            end: span,
                        };
                        (0..n)
                            .map(|i| {
                                let i = syn::LitInt::new(&format!("{i}usize"), span);
                                at(ExprKind::Index {
                                    var,
                                    index: vec![at(ExprKind::Lit(syn::Lit::Int(i)))],
                                })
                            })
                            .collect()
                    }
                    (Some(shape @ (RetShape::Tuple(_) | RetShape::Array(_))), _)
                        if self.is_sibling_call(other) =>
                    {
                        // `g(x)` of a callee with as many outputs: `let (a, b) = g(x);` (or
                        // `[a, b]`), and those.
                        let n = self.vars.len();
                        let elems: syn::punctuated::Punctuated<Pat, syn::Token![,]> = (0..shape
                            .len())
                            .map(|i| -> Pat {
                                let id = Ident::new(&format!("__out{n}_{i}"), Span::mixed_site());
                                syn::parse_quote!(#id)
                            })
                            .collect();
                        let array = matches!(shape, RetShape::Array(_));
                        self.lower_call_let(&elems, array, None, other, out);
                        let span = other.span();
                        match out.last() {
                            Some(Stmt::LetCall { vars, .. }) => vars
                                .iter()
                                .flatten()
                                .map(|&v| Expr {
                                    kind: ExprKind::Var(v),
                                    span,
                                    end: last_span(other),
                                })
                                .collect(),
                            // Reported.
                            _ => (0..shape.len()).map(|_| self.error_expr(span)).collect(),
                        }
                    }
                    (Some(shape @ (RetShape::Tuple(_) | RetShape::Array(_))), _) => {
                        self.errors.at(
                            &other,
                            "a function with several outputs returns them written out (`(a, b)`, \
                             `[a, b]`) or, for `[f64; N]`, as a local array: the result of a \
                             call, or another value taken as a whole, is not supported yet",
                        );
                        let span = other.span();
                        (0..shape.len()).map(|_| self.error_expr(span)).collect()
                    }
                    _ => vec![self.lower_expr(other, out)],
                }
            }
        }
    }

    /// The last expression of a block, whose value goes to `sink`.
    fn lower_tail(&mut self, expr: &syn::Expr, sink: Sink, out: &mut Block) {
        match expr {
            syn::Expr::If(i) => {
                let stmt = self.lower_if(i, sink, out);
                out.push(stmt);
            }
            syn::Expr::Match(m) => {
                let stmt = self.lower_match(m, sink, out);
                out.push(stmt);
            }
            syn::Expr::Block(b) if b.label.is_none() => {
                let inner = self.lower_block(&b.block, sink);
                out.push(Stmt::Block(inner));
            }
            syn::Expr::Block(b) => {
                self.errors.at(
                    &b.label,
                    "a labelled block is not supported in a `#[differentiate]` function: \
                     write its early exit with `if`/`else`, or move it into a function",
                );
            }
            syn::Expr::Paren(p) => self.lower_tail(&p.expr, sink, out),
            syn::Expr::Loop(l)
                if matches!(sink, Sink::Assign(_))
                    || (matches!(sink, Sink::Return) && self.ret == Some(RetShape::Scalar)) =>
            {
                self.lower_loop_value(l, sink, out)
            }
            syn::Expr::Return(r) => self.lower_return(r, out),
            syn::Expr::ForLoop(_)
            | syn::Expr::While(_)
            | syn::Expr::Loop(_)
            | syn::Expr::Break(_)
            | syn::Expr::Continue(_) => self.lower_expr_stmt(expr, out),
            other => match sink {
                // The tail of a function without a result (`double(v)` after `&mut` work).
                Sink::Return if self.ret == Some(RetShape::Unit) => {
                    self.lower_expr_stmt(other, out);
                    self.copy_back(out);
                    out.push(Stmt::Return { values: Vec::new() });
                }
                // The return type was reported: the value it gives would add errors of its own.
                Sink::Return if self.ret.is_none() => {}
                Sink::Return => {
                    let values = self.return_values(other, out);
                    self.copy_back(out);
                    out.push(Stmt::Return { values });
                }
                Sink::Assign(var) => {
                    let value = self.lower_expr(other, out);
                    out.push(Stmt::Assign {
                        var,
                        op: None,
                        value,
                        span: other.span(),
                    });
                }
                Sink::Tuple(k) => {
                    let vars = self.tuple_sinks[k].clone();
                    match strip_parens(other) {
                        syn::Expr::Tuple(t) if t.elems.len() == vars.len() => {
                            for (var, e) in vars.into_iter().zip(&t.elems) {
                                let value = self.lower_expr(e, out);
                                if let Some(var) = var {
                                    out.push(Stmt::Assign {
                                        var,
                                        op: None,
                                        value,
                                        span: e.span(),
                                    });
                                }
                            }
                        }
                        e => self.errors.at(
                            &e,
                            format!(
                                "each branch of this value gives a tuple of {} values written \
                                 out (`(a, b)`)",
                                vars.len()
                            ),
                        ),
                    }
                }
                Sink::Discard => match other {
                    // A value nobody uses (`{ count += v; count }` as a statement).
                    syn::Expr::Path(_)
                    | syn::Expr::Lit(_)
                    | syn::Expr::Unary(_)
                    | syn::Expr::Index(_)
                    | syn::Expr::Field(_)
                    | syn::Expr::Cast(_) => {
                        let _ = self.lower_expr(other, out);
                    }
                    syn::Expr::Binary(b) if compound_op(&b.op).is_none() => {
                        let _ = self.lower_expr(other, out);
                    }
                    _ => self.lower_expr_stmt(other, out),
                },
            },
        }
    }

    fn lower_if(&mut self, i: &syn::ExprIf, sink: Sink, out: &mut Block) -> Stmt {
        if let syn::Expr::Let(l) = &*i.cond {
            // `if let P = e { a } else { b }` is `match e { P => a, _ => b }`.
            if let (None, Sink::Assign(_) | Sink::Tuple(_)) = (&i.else_branch, sink) {
                self.errors
                    .at(&i, "an `if let` used as a value needs an `else` branch");
            }
            let (scrutinee, pat, then) = (&l.expr, &l.pat, &i.then_branch);
            let els: syn::Expr = match &i.else_branch {
                Some((_, e)) => (**e).clone(),
                None => syn::parse_quote!({}),
            };
            let m: syn::ExprMatch = syn::parse_quote_spanned!(l.span()=>
                match #scrutinee {
                    #pat => #then,
                    _ => #els,
                }
            );
            return self.lower_match(&m, sink, out);
        }
        let cond = self.lower_expr(&i.cond, out);
        let then = self.lower_block(&i.then_branch, sink);
        let els = match &i.else_branch {
            Some((_, e)) => match &**e {
                syn::Expr::Block(b) if b.label.is_none() => self.lower_block(&b.block, sink),
                e => {
                    let mut els = Vec::new();
                    self.in_scope(|cx| cx.lower_tail(e, sink, &mut els));
                    els
                }
            },
            None => {
                if let Sink::Assign(_) | Sink::Tuple(_) = sink {
                    self.errors
                        .at(&i, "an `if` used as a value needs an `else` branch");
                }
                Vec::new()
            }
        };
        Stmt::If { cond, then, els }
    }

    fn lower_match(&mut self, m: &syn::ExprMatch, sink: Sink, out: &mut Block) -> Stmt {
        let scrutinee = match strip_parens(&m.expr) {
            // `match (x > 0.0, k) { .. }`: each part in a variable of its own, matched as a
            // tuple of those variables.
            syn::Expr::Tuple(t) if !t.elems.is_empty() => {
                let mut idents = Vec::new();
                let mut refs = Vec::new();
                for part in &t.elems {
                    let init = self.lower_expr(part, out);
                    let id = self.vars.len();
                    let var = self.new_var(
                        &Ident::new(&format!("__part{id}"), Span::mixed_site()),
                        Ty::Unknown,
                        None,
                        false,
                        VarKind::Temp,
                    );
                    out.push(Stmt::Let {
                        var,
                        init: Some(init),
                    });
                    idents.push(self.vars[var].ident.clone());
                    refs.push(var);
                }
                let span = m.expr.span();
                Expr {
                    kind: ExprKind::Opaque {
                        tokens: quote!((#(#idents,)*)),
                        refs,
                    },
                    span,
                    end: last_span(&m.expr),
                }
            }
            e => self.lower_expr(e, out),
        };
        let mut arms = Vec::new();
        for arm in &m.arms {
            let arm = self.in_scope(|cx| {
                let (pat, bound) = cx.lower_pattern(&arm.pat);
                let guard = arm.guard.as_ref().map(|(_, g)| {
                    let mut pre = Vec::new();
                    let g = cx.lower_expr(g, &mut pre);
                    if !pre.is_empty() {
                        cx.errors.push(
                            g.span,
                            "a `match` guard must be a simple condition (no `if`/`match` inside)",
                        );
                    }
                    g
                });
                // The arm's body reads each binding through a local of its own, which the
                // reverse sweep can keep (a float bound by `Act::Leaky(a)` may be needed there,
                // where the pattern's binding does not exist).
                let mut body = Vec::new();
                for (hidden, ident) in bound {
                    let mutable = std::mem::replace(&mut cx.vars[hidden].mutable, false);
                    let var = cx.new_var(&ident, Ty::Unknown, None, mutable, VarKind::Local);
                    let (span, hidden_ident) = (ident.span(), &cx.vars[hidden].ident);
                    // Opaque, so that the local's type comes from its uses: a float is lifted
                    // into the scalar type in `_generic`, anything else passes as it is.
                    // `.clone()` by method call gives the value for a binding by value and
                    // through a reference alike (`match mode { Scaled { n } => .. }` of a
                    // `mode: &Mode` binds `n: &f64`).
                    body.push(Stmt::Let {
                        var,
                        init: Some(Expr {
                            kind: ExprKind::Opaque {
                                tokens: quote!(#hidden_ident.clone()),
                                refs: vec![hidden],
                            },
                            span,
                            end: span,
                        }),
                    });
                    cx.bind(var);
                }
                cx.lower_tail(&arm.body, sink, &mut body);
                Arm { pat, guard, body }
            });
            arms.push(arm);
        }
        Stmt::Match { scrutinee, arms }
    }

    /// A `match` pattern: its bindings become variables of a type the macro does not look into,
    /// under hidden names (`__bound_a`), returned for the arm to bind to the user's names.
    fn lower_pattern(&mut self, pat: &Pat) -> (TokenStream, Vec<(VarId, Ident)>) {
        let mut pat = pat.clone();
        struct Binder<'a, 'e> {
            cx: &'a mut Lowering<'e>,
            bound: Vec<(VarId, Ident)>,
        }
        impl VisitMut for Binder<'_, '_> {
            fn visit_pat_ident_mut(&mut self, pi: &mut syn::PatIdent) {
                // A lone identifier that starts with an upper-case letter is a constant or unit
                // variant, not a binding.
                let name = pi.ident.to_string();
                if name.chars().next().is_some_and(|c| c.is_uppercase()) && pi.subpat.is_none() {
                    return;
                }
                // The same name in another alternative of an or-pattern (`A(c) | B(c)`) is the
                // same binding.
                if let Some((var, _)) = self.bound.iter().find(|(_, user)| *user == pi.ident) {
                    pi.ident = self.cx.vars[*var].ident.clone();
                    pi.mutability = None;
                    return;
                }
                let hidden = Ident::new(
                    &format!("__bound_{}", name.trim_start_matches("r#")),
                    Span::mixed_site(),
                );
                let var = self.cx.new_var(
                    &hidden,
                    Ty::Other,
                    None,
                    pi.mutability.is_some(),
                    VarKind::Local,
                );
                self.cx.vars[var].span = pi.ident.span();
                self.bound.push((var, pi.ident.clone()));
                // The guard reads the binding under the user's name.
                self.cx
                    .scopes
                    .last_mut()
                    .expect("a scope")
                    .push((name.clone(), Binding::Var(var)));
                pi.ident = self.cx.vars[var].ident.clone();
                // The binding itself is moved into the local, which may change.
                pi.mutability = None;
                if let Some((_, sub)) = &mut pi.subpat {
                    self.visit_pat_mut(sub);
                }
            }
            fn visit_field_pat_mut(&mut self, f: &mut syn::FieldPat) {
                // `Mix { w, k }` names the fields by the bindings: renamed, they are written
                // out (`Mix { w: __bound_w, k: __bound_k }`).
                f.colon_token.get_or_insert_with(Default::default);
                self.visit_pat_mut(&mut f.pat);
            }
            fn visit_expr_mut(&mut self, _: &mut syn::Expr) {}
        }
        let mut binder = Binder {
            cx: self,
            bound: Vec::new(),
        };
        binder.visit_pat_mut(&mut pat);
        let bound = binder.bound;
        (pat.to_token_stream(), bound)
    }

    /// `a[i] = v` or `a[i][j] op= v`: a store into a local array.
    fn lower_store(
        &mut self,
        left: &syn::Expr,
        op: Option<BinOp>,
        right: &syn::Expr,
        span: Span,
        out: &mut Block,
    ) {
        let (base, indices) = flatten_index(left);
        let var = match strip_parens(base) {
            syn::Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                let name = p
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                self.resolve(&name)
            }
            _ => None,
        };
        let Some(var) = var else {
            if self.in_self(base) {
                self.errors.at(&left, self_write(left));
                return;
            }
            let reported = matches!(strip_parens(base), syn::Expr::Path(p)
                if p.path.get_ident().is_some_and(|id| self.rejected.contains(&id.to_string())));
            if reported {
                return;
            }
            self.errors.at(
                &base,
                "only elements of the function's own arrays can be assigned: declare one with \
                 `let mut a = vec![0.0; n];` or `[0.0; N]`",
            );
            return;
        };
        let output = self.inout.iter().any(|&(p, _)| p == var);
        if matches!(self.vars[var].kind, VarKind::Param { .. })
            && !self.vars[var].mutable
            && !output
        {
            self.errors.at(
                &base,
                format!(
                    "`{}` is a parameter: a `#[differentiate]` function does not write to its \
                     inputs; copy it into a local array first",
                    self.vars[var].user_name
                ),
            );
            return;
        }
        let index = indices.iter().map(|i| self.lower_expr(i, out)).collect();
        let value = self.lower_expr(right, out);
        out.push(Stmt::Store {
            var,
            index,
            op,
            value,
            span,
        });
    }

    fn assign_target(&mut self, left: &syn::Expr) -> Option<VarId> {
        match strip_parens(left) {
            syn::Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                let name = p
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match self.resolve(&name) {
                    Some(v) => Some(v),
                    None => {
                        self.errors.at(
                            &left,
                            format!(
                                "`{name}` is not a local variable of this function: a \
                                 `#[differentiate]` function can assign only its own variables"
                            ),
                        );
                        None
                    }
                }
            }
            other if self.in_self(other) => {
                self.errors.at(&other, self_write(other));
                None
            }
            syn::Expr::Tuple(t) => {
                self.errors.at(
                    &t,
                    format!(
                        "assigning to a tuple `{}` is not supported in a `#[differentiate]` \
                         function: bind the values first, `let (a, b) = ..;`, then assign each",
                        show(t)
                    ),
                );
                None
            }
            other => {
                self.errors.at(
                    &other,
                    format!(
                        "cannot assign to `{}` in a `#[differentiate]` function: assign a local \
                         variable",
                        show(other)
                    ),
                );
                None
            }
        }
    }

    /// Whether `e` is a place inside the receiver: `self.x`, `self.v[i]`, `self.a.b`.
    fn in_self(&self, e: &syn::Expr) -> bool {
        match strip_parens(e) {
            syn::Expr::Field(f) => self.self_receiver(&f.base).is_some() || self.in_self(&f.base),
            syn::Expr::Index(i) => self.in_self(&i.expr),
            _ => false,
        }
    }

    // ---------------------------------------------------------------- expressions

    /// An expression of the function. A call inside it that lends an array `&mut`
    /// (`if relax(t, &mut v) > 1e-3`) is made first, as a statement of its own: only there
    /// does the reverse sweep follow what it changes.
    fn lower_expr(&mut self, expr: &syn::Expr, out: &mut Block) -> Expr {
        self.expr_depth += 1;
        let e = self.lower_expr_inner(expr, out);
        self.expr_depth -= 1;
        e
    }

    fn lower_expr_inner(&mut self, expr: &syn::Expr, out: &mut Block) -> Expr {
        let span = expr.span();
        if let Some(elem) = self.elem_of(expr) {
            return self.elem_expr(elem, span);
        }
        let kind = match expr {
            syn::Expr::Lit(l) => match &l.lit {
                lit @ (syn::Lit::Float(_) | syn::Lit::Int(_) | syn::Lit::Bool(_)) => {
                    ExprKind::Lit(lit.clone())
                }
                _ => ExprKind::Opaque {
                    tokens: l.to_token_stream(),
                    refs: Vec::new(),
                },
            },
            syn::Expr::Path(p) => {
                if p.qself.is_none() {
                    if let Some(id) = p.path.get_ident() {
                        if let Some(v) = self.resolve(&id.to_string()) {
                            return Expr {
                                kind: ExprKind::Var(v),
                                span,
                                end: span,
                            };
                        }
                        if let Some(view) = self.view_of(expr) {
                            return Expr {
                                kind: self.view_value(view),
                                span,
                                end: span,
                            };
                        }
                        if self.resolve_closure(&id.to_string()).is_some() {
                            self.errors.at(
                                &p,
                                format!(
                                    "a local closure can only be called in a `#[differentiate]` \
                                     function (`{id}(x)`), not used as a value"
                                ),
                            );
                            return self.error_expr(span);
                        }
                    }
                }
                ExprKind::Path(p.clone())
            }
            syn::Expr::Paren(p) => return self.lower_expr(&p.expr, out),
            syn::Expr::Group(g) => return self.lower_expr(&g.expr, out),
            syn::Expr::Unary(u) => match u.op {
                syn::UnOp::Neg(_) => {
                    ExprKind::Unary(UnOp::Neg, Box::new(self.lower_expr(&u.expr, out)))
                }
                syn::UnOp::Not(_) => {
                    ExprKind::Unary(UnOp::Not, Box::new(self.lower_expr(&u.expr, out)))
                }
                // `*x` of an element bound by `for x in xs.iter()` (`**x` in a `.filter()`):
                // elements are bound by value.
                syn::UnOp::Deref(_) if self.local_of(strip_derefs(&u.expr)).is_some() => {
                    return self.lower_expr(strip_derefs(&u.expr), out)
                }
                _ => self.opaque(expr),
            },
            syn::Expr::Binary(b) => {
                let Some(op) = binary_op(&b.op) else {
                    self.errors.at(
                        &b.op,
                        "a compound assignment is a statement here: write it on its own line",
                    );
                    return self.error_expr(span);
                };
                // `x > &0.0` of a value bound from a reference (`.filter(|&x| x > &0.0)`):
                // values are bound as values here, so the operand is the value.
                let l = self.lower_expr(strip_ref(&b.left), out);
                let lazy = matches!(op, BinOp::And | BinOp::Or);
                self.short_circuit += usize::from(lazy);
                // What the left operand read, which a call on the right must not change.
                let mark = self.read_before.len();
                collect_refs(&l, &mut self.read_before);
                let r = self.lower_expr(strip_ref(&b.right), out);
                self.read_before.truncate(mark);
                self.short_circuit -= usize::from(lazy);
                ExprKind::Binary(op, Box::new(l), Box::new(r))
            }
            syn::Expr::MethodCall(m) => self.lower_method(m, out),
            syn::Expr::Call(c)
                if self.expr_depth > 1
                    && self.closure_called(c).is_none()
                    && self.lends_array(c) =>
            {
                if self.short_circuit > 0 {
                    self.errors.at(
                        expr,
                        "a call that changes an array (`&mut`) on the right of `&&` or `||` \
                         runs only when the left side lets it: make the call in a `let` of \
                         its own, inside an `if` on the left side",
                    );
                }
                let kind = self.lower_call(c, out);
                let call = Expr {
                    kind,
                    span,
                    end: last_span(expr),
                };
                let mut lent = Vec::new();
                if let ExprKind::Call { args, .. } = &call.kind {
                    for a in args.iter().filter(|a| is_mut_borrow(a)) {
                        collect_refs(a, &mut lent);
                    }
                }
                if let Some(&v) = lent.iter().find(|v| self.read_before.contains(v)) {
                    let name = &self.vars[v].user_name;
                    self.errors.at(
                        expr,
                        format!(
                            "this call changes `{name}` (`&mut {name}`), which the expression \
                             read before it: make the call in a `let` of its own, before or \
                             after that read as you mean it"
                        ),
                    );
                }
                let tmp = self.temp(span);
                out.push(Stmt::LetCall {
                    vars: vec![Some(tmp)],
                    call,
                    array: false,
                });
                ExprKind::Var(tmp)
            }
            syn::Expr::Call(c) => self.lower_call(c, out),
            syn::Expr::Cast(c) => {
                if classify_type(&c.ty) == Ty::Unknown {
                    self.errors.at(
                        &c.ty,
                        format!(
                            "casting to `{}` is not supported: derivatives are carried in `f64`",
                            show(&c.ty)
                        ),
                    );
                }
                ExprKind::Cast(Box::new(self.lower_expr(&c.expr, out)), (*c.ty).clone())
            }
            syn::Expr::If(_) | syn::Expr::Match(_) | syn::Expr::Block(_) | syn::Expr::Loop(_) => {
                // Control flow in the middle of an expression: its value goes to a temporary.
                let tmp = self.temp(span);
                out.push(Stmt::Let {
                    var: tmp,
                    init: None,
                });
                self.lower_tail(expr, Sink::Assign(tmp), out);
                ExprKind::Var(tmp)
            }
            syn::Expr::Index(i) if self.view_of(&i.expr).is_some() => {
                let view = self.view_of(&i.expr).expect("checked");
                self.view_index(view, &i.index, out)
            }
            // `g(x)[i]` of a callee returning `[f64; N]`: its result in a local, indexed.
            syn::Expr::Index(i) if self.is_sibling_call(&i.expr) => {
                let name = Ident::new(&format!("__result{}", self.vars.len()), i.expr.span());
                self.array_names.insert(name.to_string());
                let call = &i.expr;
                let local: syn::Stmt = syn::parse_quote!(let #name = #call;);
                self.lower_written(&local, out);
                let index = &i.index;
                return self.lower_expr(&syn::parse_quote!(#name[#index]), out);
            }
            syn::Expr::Index(_) => {
                let (base, indices) = flatten_index(expr);
                match self.local_of(base) {
                    Some(var) => ExprKind::Index {
                        var,
                        index: indices.iter().map(|i| self.lower_expr(i, out)).collect(),
                    },
                    None => self.opaque(expr),
                }
            }
            syn::Expr::Repeat(r) => ExprKind::ArrayNew {
                elem: Box::new(self.lower_expr(&r.expr, out)),
                len: Box::new(self.lower_expr(&r.len, out)),
                vec: false,
            },
            syn::Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                match m.mac.parse_body_with(parse_vec_repeat) {
                    Ok((elem, len)) => ExprKind::ArrayNew {
                        elem: Box::new(self.lower_expr(&elem, out)),
                        len: Box::new(self.lower_expr(&len, out)),
                        vec: true,
                    },
                    Err(_) => {
                        self.errors.at(
                            &m,
                            "write a vector as `vec![value; length]` and assign its elements",
                        );
                        return self.error_expr(span);
                    }
                }
            }
            // `&row[1..]` of a view `row` (passed to a callee): a view of it.
            syn::Expr::Reference(r)
                if r.mutability.is_none()
                    && matches!(strip_parens(&r.expr), syn::Expr::Index(i)
                        if self.view_of(&i.expr).is_some()
                            && matches!(strip_parens(&i.index), syn::Expr::Range(_))) =>
            {
                match self.slice_view(expr, span, out) {
                    Some(view) => self.view_value(view),
                    None => self.opaque(expr),
                }
            }
            syn::Expr::Field(_) | syn::Expr::Reference(_) | syn::Expr::Macro(_) => {
                self.opaque(expr)
            }
            syn::Expr::Array(_) => {
                self.errors.push(
                    span,
                    "an array of values is supported as a local of its own (`let s = [a, b];`, \
                     `let m = [[c, -s], [s, c]];` with rows of one length) and as the returned \
                     value",
                );
                return self.error_expr(span);
            }
            syn::Expr::Tuple(_) => {
                self.errors.push(
                    span,
                    "a tuple of values is supported only as the returned value: use one local \
                     per value",
                );
                return self.error_expr(span);
            }
            other => {
                self.unsupported(other);
                return self.error_expr(span);
            }
        };
        Expr {
            kind,
            span,
            end: last_span(expr),
        }
    }

    fn lower_method(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> ExprKind {
        let name = m.method.to_string();
        if let (Some(receiver), None) = (self.self_receiver(&m.receiver), &m.turbofish) {
            // `self.energy(a, b)`: a method of the same type, modelled as the call
            // `Self::energy(self, a, b)`, so that a derivative flows through its siblings like
            // through those of any other callee (they are printed as `self.energy_generic(..)`).
            let span = m.receiver.span();
            let mut args = vec![Expr {
                kind: ExprKind::Var(receiver),
                span,
                end: span,
            }];
            args.extend(m.args.iter().map(|a| self.lower_call_arg(a, out)));
            let method = &m.method;
            return ExprKind::Call {
                path: syn::parse_quote_spanned!(method.span()=> Self::#method),
                args,
            };
        }
        if let Some(rule) = rules::lookup(&name) {
            let expected = rule.float_args - 1 + usize::from(rule.int_arg);
            if m.args.len() != expected {
                self.errors
                    .at(&m, format!("`.{name}()` takes {expected} argument(s)"));
                return ExprKind::Lit(syn::parse_quote!(0.0));
            }
            // The receiver is read before the arguments (which a call lending `&mut` must not
            // change: `v[0].max(halve(&mut v))`).
            let mark = self.read_before.len();
            let mut args = vec![self.lower_expr(&m.receiver, out)];
            collect_refs(&args[0], &mut self.read_before);
            let mut int_arg = None;
            for (i, a) in m.args.iter().enumerate() {
                if rule.int_arg && i + 1 == m.args.len() {
                    int_arg = Some(Box::new(self.lower_expr(a, out)));
                } else {
                    let arg = self.lower_expr(a, out);
                    collect_refs(&arg, &mut self.read_before);
                    args.push(arg);
                }
            }
            self.read_before.truncate(mark);
            return ExprKind::Rule {
                rule,
                args,
                int_arg,
            };
        }
        if let Some(test) = FLOAT_TESTS.iter().find(|t| **t == name) {
            if m.args.is_empty() {
                let x = self.lower_expr(&m.receiver, out);
                return ExprKind::Unary(UnOp::Test(test), Box::new(x));
            }
        }
        if let (Some(view), "len", true) =
            (self.view_of(&m.receiver), name.as_str(), m.args.is_empty())
        {
            return ExprKind::Var(view.len);
        }
        // The length of a pushed vector: the local counting its pushes.
        let pushed_len = self
            .local_of(&m.receiver)
            .and_then(|v| self.pushed_lens.get(&v).copied());
        if let (Some(len), true) = (pushed_len, m.args.is_empty()) {
            let at = |kind| Expr {
                kind,
                span: m.span(),
                end: m.span(),
            };
            match name.as_str() {
                "len" => return ExprKind::Var(len),
                "is_empty" => {
                    return ExprKind::Binary(
                        BinOp::Eq,
                        Box::new(at(ExprKind::Var(len))),
                        Box::new(at(ExprKind::Lit(syn::parse_quote!(0usize)))),
                    )
                }
                _ => {}
            }
        }
        let local = self
            .local_of(&m.receiver)
            .and_then(|v| self.array_locals.get(&v));
        if let (Some(a), true) = (local, name == "len" && m.args.is_empty()) {
            // The length of a local array is its constant `N` or the variable that holds it,
            // which the reverse sweep can read where the array does not exist (it may live only
            // in a loop's body).
            match (&a.len, a.len_var) {
                (Some(n), _) => {
                    return ExprKind::Opaque {
                        tokens: quote!((#n)),
                        refs: Vec::new(),
                    }
                }
                (None, Some(v)) => return ExprKind::Var(v),
                (None, None) => {}
            }
        }
        if matches!(name.as_str(), "len" | "is_empty") && self.local_of(&m.receiver).is_some() {
            // The length of an array carries no derivative. That of a call's result (`let k =
            // g(x);`) is read from it, which may not exist where the reverse sweep needs the
            // length (a loop's body): it keeps the array among its variables, to be recorded.
            let ExprKind::Opaque { tokens, refs } = self.opaque(&syn::Expr::MethodCall(m.clone()))
            else {
                unreachable!("opaque() returns an opaque expression")
            };
            let of_call = self
                .local_of(&m.receiver)
                .filter(|v| self.call_arrays.contains(v));
            return ExprKind::Opaque {
                tokens,
                refs: if of_call.is_some() { refs } else { Vec::new() },
            };
        }
        if matches!(name.as_str(), "sum" | "product") && m.args.is_empty() {
            return self.lower_reduction(m, name == "sum", out);
        }
        let filtered =
            matches!(strip_parens(&m.receiver), syn::Expr::MethodCall(f) if f.method == "filter");
        if name == "count" && m.args.is_empty() && filtered {
            return self.lower_count(m, out);
        }
        // `xs.iter().any(|&v| v <= 0.0)` is `xs.iter().filter(|&v| v <= 0.0).count() > 0`, and
        // `.all(p)` counts the items where `p` fails (a loop without the early exit: the
        // predicates read values, never change them).
        if matches!(name.as_str(), "any" | "all") && m.args.len() == 1 {
            if let syn::Expr::Closure(c) = strip_parens(&m.args[0]) {
                let recv = &m.receiver;
                let span = m.span();
                let counted: syn::Expr = if name == "any" {
                    syn::parse_quote_spanned!(span=> (#recv.filter(#c).count() > 0))
                } else {
                    let (inputs, body) = (&c.inputs, &c.body);
                    syn::parse_quote_spanned!(span=>
                        (#recv.filter(|#inputs| !(#body)).count() == 0))
                };
                return self.lower_expr(&counted, out).kind;
            }
        }
        if name == "fold" && m.args.len() == 2 {
            return self.lower_fold(m, out);
        }
        if let Some(hint) = rules::unsupported_hint(&name).filter(|_| !integer_receiver(m)) {
            self.errors.at(
                &m.method,
                format!("`.{name}()` has no derivative rule: {hint}"),
            );
        }
        // Any other method: on non-float values (`xs.len()`, `n.pow(2)`), passed through.
        self.opaque(&syn::Expr::MethodCall(m.clone()))
    }

    fn lower_call(&mut self, c: &syn::ExprCall, out: &mut Block) -> ExprKind {
        if let Some(closure) = self.closure_called(c) {
            return self.inline_closure(closure, c, false, out);
        }
        let syn::Expr::Path(p) = &*c.func else {
            self.errors.at(
                &c.func,
                "only calls of named functions and of local closures are supported in a \
                 `#[differentiate]` function (no function values)",
            );
            return ExprKind::Lit(syn::parse_quote!(0.0));
        };
        let segs: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        // `f64::sin(x)`, `f64::max(a, b)`: the rule table in function-call form.
        if segs.len() == 2 && segs[0] == "f64" {
            if let Some(rule) = rules::lookup(&segs[1]) {
                let expected = rule.float_args + usize::from(rule.int_arg);
                if c.args.len() != expected {
                    self.errors.at(
                        &c,
                        format!("`f64::{}` takes {expected} argument(s)", segs[1]),
                    );
                    return ExprKind::Lit(syn::parse_quote!(0.0));
                }
                let mark = self.read_before.len();
                let mut args = Vec::new();
                let mut int_arg = None;
                for (i, a) in c.args.iter().enumerate() {
                    if rule.int_arg && i + 1 == c.args.len() {
                        int_arg = Some(Box::new(self.lower_expr(a, out)));
                    } else {
                        let arg = self.lower_expr(a, out);
                        collect_refs(&arg, &mut self.read_before);
                        args.push(arg);
                    }
                }
                self.read_before.truncate(mark);
                return ExprKind::Rule {
                    rule,
                    args,
                    int_arg,
                };
            }
            if let Some(test) = FLOAT_TESTS.iter().find(|t| **t == segs[1]) {
                if c.args.len() == 1 {
                    let x = self.lower_expr(&c.args[0], out);
                    return ExprKind::Unary(UnOp::Test(test), Box::new(x));
                }
            }
            if segs[1] == "from" && c.args.len() == 1 {
                let inner = self.lower_expr(&c.args[0], out);
                return ExprKind::Cast(Box::new(inner), syn::parse_quote!(f64));
            }
            if let Some(hint) = rules::unsupported_hint(&segs[1]) {
                self.errors.at(
                    &c.func,
                    format!("`f64::{}` has no derivative rule: {hint}", segs[1]),
                );
                return ExprKind::Lit(syn::parse_quote!(0.0));
            }
        }
        // A constructor (`Some(x)`, `Point(x, y)`, `Act::Leaky(a)`) builds a value of a type the
        // macro does not look into: a float that carries a derivative cannot go in (reported by
        // inference), data can.
        let constructor = p.path.segments.last().is_some_and(|s| {
            s.ident
                .to_string()
                .trim_start_matches("r#")
                .starts_with(|c: char| c.is_ascii_uppercase())
        });
        if constructor
            || p.qself.is_some()
            || p.path.segments.iter().any(|s| !s.arguments.is_empty())
        {
            return self.opaque(&syn::Expr::Call(c.clone()));
        }
        let mark = self.read_before.len();
        let mut args = Vec::new();
        for a in &c.args {
            let arg = self.lower_call_arg(a, out);
            collect_refs(&arg, &mut self.read_before);
            args.push(arg);
        }
        self.read_before.truncate(mark);
        ExprKind::Call {
            path: p.path.clone(),
            args,
        }
    }

    /// An argument of a call of another function. An array written out (`&[a, b]`,
    /// `[a, b]`, `&vec![a, b]`, `&[0.0; 3]`) becomes a local array first, passed the way it
    /// was written.
    fn lower_call_arg(&mut self, a: &syn::Expr, out: &mut Block) -> Expr {
        // `&*y` and `&mut *y` (a reborrow of a `&mut` parameter) are `&y` and `&mut y`.
        if let syn::Expr::Reference(r) = strip_parens(a) {
            if let syn::Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr: inner,
                ..
            }) = strip_parens(&r.expr)
            {
                if self.local_of(inner).is_some() {
                    let (and, m) = (&r.and_token, &r.mutability);
                    let plain: syn::Expr = syn::parse_quote_spanned!(a.span()=> #and #m #inner);
                    return self.lower_call_arg(&plain, out);
                }
            }
        }
        if let Some(name) = self.lent_output(a) {
            // A `&mut` array parameter passed on as it is: the body's copy of it, lent.
            let lent: syn::Expr = syn::parse_quote_spanned!(a.span()=> &mut #name);
            return self.lower_expr(&lent, out);
        }
        let (inner, by_ref) = match strip_parens(a) {
            syn::Expr::Reference(r) if r.mutability.is_none() => (strip_parens(&r.expr), true),
            e => (e, false),
        };
        let written_out = match inner {
            syn::Expr::Array(_) | syn::Expr::Repeat(_) => true,
            syn::Expr::Macro(m) => m.mac.path.is_ident("vec") && by_ref,
            _ => false,
        };
        if !written_out {
            return self.lower_expr(a, out);
        }
        let name = Ident::new(&format!("__arg{}", self.vars.len()), inner.span());
        let local: syn::Stmt = syn::parse_quote!(let #name = #inner;);
        self.lower_written(&local, out);
        let passed: syn::Expr = if by_ref {
            syn::parse_quote!(&#name)
        } else {
            syn::parse_quote!(#name)
        };
        self.lower_expr(&passed, out)
    }

    /// The name of a `&mut` array parameter passed on as it is (`g(x, out)`), if `a` is one.
    fn lent_output(&self, a: &syn::Expr) -> Option<Ident> {
        let syn::Expr::Path(p) = strip_parens(a) else {
            return None;
        };
        let id = p.path.get_ident()?;
        let v = self.resolve(&id.to_string())?;
        self.inout
            .iter()
            .any(|&(_, local)| local == v)
            .then(|| id.clone())
    }

    /// Whether a call lends one of the function's arrays `&mut` (`g(x, &mut h)`,
    /// `g(x, &mut h[a..b])`, or a `&mut` parameter passed on: `g(x, out)`).
    fn lends_array(&self, c: &syn::ExprCall) -> bool {
        c.args.iter().any(|a| {
            self.lent_output(a).is_some()
                || match strip_parens(a) {
                    syn::Expr::Reference(r) if r.mutability.is_some() => {
                        let base = match strip_parens(&r.expr) {
                            syn::Expr::Index(i) => &*i.expr,
                            syn::Expr::Unary(syn::ExprUnary {
                                op: syn::UnOp::Deref(_),
                                expr,
                                ..
                            }) => expr,
                            e => e,
                        };
                        self.local_of(base).is_some_and(|v| self.is_array_local(v))
                    }
                    _ => false,
                }
        })
    }

    /// Whether `v` is an array as far as lowering can tell (a `&mut f64` lent to a function
    /// is not a lent array: its call is reported as one that may change a float).
    fn is_array_local(&self, v: VarId) -> bool {
        matches!(self.vars[v].ty, Ty::FloatArray(_))
            || self.array_locals.contains_key(&v)
            || self.call_arrays.contains(&v)
            || self.pushed.contains(&v)
            || self.inout.iter().any(|&(_, local)| local == v)
    }

    /// The local variable that `e` names, if it is one (`x`, `(x)`, `&x`).
    fn local_of(&self, e: &syn::Expr) -> Option<VarId> {
        match strip_parens(e) {
            syn::Expr::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .and_then(|id| self.resolve(&id.to_string())),
            syn::Expr::Reference(r) if r.mutability.is_none() => self.local_of(&r.expr),
            _ => None,
        }
    }

    fn lower_for(&mut self, f: &syn::ExprForLoop, out: &mut Block) {
        // `for x in &mut buf` is `for x in buf.iter_mut()`.
        if let syn::Expr::Reference(r) = strip_parens(&f.expr) {
            let inner = match strip_parens(&r.expr) {
                syn::Expr::Unary(syn::ExprUnary {
                    op: syn::UnOp::Deref(_),
                    expr,
                    ..
                }) => &**expr,
                e => e,
            };
            if r.mutability.is_some() && self.local_of(inner).is_some() {
                let walked = syn::ExprForLoop {
                    expr: Box::new(syn::parse_quote_spanned!(f.expr.span()=> #inner.iter_mut())),
                    ..f.clone()
                };
                return self.lower_for(&walked, out);
            }
        }
        let label = f.label.as_ref().map(|l| l.name.clone());
        let Some((source_expr, stages)) = self.mapped_source(&f.expr, "a `for` loop") else {
            return;
        };
        let Some(source) = self.iteration_source(source_expr, out) else {
            return;
        };
        if !stages.is_empty() {
            // `for x in xs.iter().filter(|x| ..).map(|x| ..)`: the steps, then the body.
            let stmt = self.in_scope(|cx| {
                let item = cx.item_pattern(&stages, Some(&f.pat));
                let (var, mut body) = cx.bind_iteration(&source, &item)?;
                let mut finish = |cx: &mut Self, value: Option<Expr>, out: &mut Block| {
                    match value {
                        Some(v) => cx.bind_closure_param(&f.pat, v, out),
                        None => {
                            cx.alias_pattern(&f.pat, &item);
                        }
                    }
                    out.extend(cx.lower_block(&f.body, Sink::Discard));
                };
                cx.lower_stages(&stages, &item, None, &mut finish, &mut body);
                Some(Stmt::Loop {
                    kind: source.kind(var),
                    body,
                    label: label.clone(),
                })
            });
            out.extend(stmt);
            return;
        }
        let stmt = self.in_scope(|cx| {
            let (var, mut body) = cx.bind_iteration(&source, &f.pat)?;
            // The user's block shares the loop body's scope with the elements it reads, so that
            // its locals are in scope where the loop's end records them.
            body.extend(cx.lower_block(&f.body, Sink::Discard));
            Some(Stmt::Loop {
                kind: source.kind(var),
                body,
                label,
            })
        });
        out.extend(stmt);
    }

    /// `xs.iter().sum()`, `xs.iter().map(|x| ...).sum()`, `(0..n).map(|i| ...).product()`:
    /// a loop that accumulates into a temporary.
    fn lower_reduction(&mut self, m: &syn::ExprMethodCall, sum: bool, out: &mut Block) -> ExprKind {
        let Some((source_expr, stages)) =
            self.mapped_source(&m.receiver, &format!("`.{}()`", m.method))
        else {
            return ExprKind::Lit(syn::parse_quote!(0.0));
        };
        let Some(source) = self.iteration_source(source_expr, out) else {
            return ExprKind::Lit(syn::parse_quote!(0.0));
        };
        let acc = self.temp(m.span());
        self.vars[acc].ty = Ty::Float;
        let init: syn::Lit = if sum {
            syn::parse_quote!(0.0)
        } else {
            syn::parse_quote!(1.0)
        };
        out.push(Stmt::Let {
            var: acc,
            init: Some(Expr {
                kind: ExprKind::Lit(init),
                span: m.span(),
                end: m.span(),
            }),
        });
        let op = if sum { BinOp::Add } else { BinOp::Mul };
        let span = m.span();
        let stmt = self.mapped_loop(&source, &stages, |_, value| Stmt::Assign {
            var: acc,
            op: Some(op),
            value,
            span,
        });
        out.extend(stmt);
        ExprKind::Var(acc)
    }

    /// `xs.iter().filter(|x| ..).count()`: a loop that counts the items kept, as a `usize`.
    fn lower_count(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> ExprKind {
        let Some((source_expr, mut stages)) = self.mapped_source(&m.receiver, "`.count()`") else {
            return ExprKind::Lit(syn::parse_quote!(0usize));
        };
        let Some(source) = self.iteration_source(source_expr, out) else {
            return ExprKind::Lit(syn::parse_quote!(0usize));
        };
        let span = m.span();
        let count = self.temp(span);
        self.vars[count].ty = Ty::Int;
        self.vars[count].written_ty = Some(syn::parse_quote!(usize));
        let at = |kind| Expr {
            kind,
            span,
            end: span,
        };
        out.push(Stmt::Let {
            var: count,
            init: Some(at(ExprKind::Lit(syn::parse_quote!(0usize)))),
        });
        // Each item kept counts one, whatever its shape.
        stages.push(Stage::Map(syn::parse_quote!(|_| 1usize)));
        let stmt = self.mapped_loop(&source, &stages, |_, one| Stmt::Assign {
            var: count,
            op: Some(BinOp::Add),
            value: one,
            span,
        });
        out.extend(stmt);
        ExprKind::Var(count)
    }

    /// The loop of a reduction or a collection: each item of `source` through the `.map()`
    /// and `.filter()` steps, given to `step` with the loop's variable for the statement that
    /// uses it.
    fn mapped_loop(
        &mut self,
        source: &Source,
        stages: &[Stage],
        step: impl FnOnce(VarId, Expr) -> Stmt,
    ) -> Option<Stmt> {
        self.in_scope(|cx| {
            let item = cx.item_pattern(stages, None);
            let (var, mut body) = cx.bind_iteration(source, &item)?;
            let mut step = Some(step);
            let mut finish = |cx: &mut Self, value: Option<Expr>, out: &mut Block| {
                let value = value.unwrap_or_else(|| match &item {
                    Pat::Ident(pi) => cx.lower_expr(&path_expr(&pi.ident), out),
                    // A tuple item of `.zip()` or `.enumerate()` without a `.map()`: reported
                    // where the item was bound.
                    _ => cx.error_expr(Span::call_site()),
                });
                if let Some(step) = step.take() {
                    out.push(step(var, value));
                }
            };
            cx.lower_stages(stages, &item, None, &mut finish, &mut body);
            Some(Stmt::Loop {
                kind: source.kind(var),
                body,
                label: None,
            })
        })
    }

    fn lower_fold(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> ExprKind {
        let step: syn::ExprClosure = match strip_parens(&m.args[1]) {
            syn::Expr::Closure(c) if c.inputs.len() == 2 => c.clone(),
            // `f64::max`, a local closure, a `#[differentiate]` function of two floats.
            syn::Expr::Path(p) => syn::parse_quote!(|__acc, __x| #p(__acc, __x)),
            other => {
                self.errors.at(
                    &other,
                    "`.fold()` takes a closure of two arguments (`|acc, x| ...`) or the name of \
                     a function of two floats (`f64::max`)",
                );
                return ExprKind::Lit(syn::parse_quote!(0.0));
            }
        };
        let Some((source_expr, stages)) =
            self.mapped_source(&m.receiver, &format!("`.{}()`", m.method))
        else {
            return ExprKind::Lit(syn::parse_quote!(0.0));
        };
        let init = self.lower_expr(&m.args[0], out);
        let Some(source) = self.iteration_source(source_expr, out) else {
            return ExprKind::Lit(syn::parse_quote!(0.0));
        };
        let span = m.span();
        let acc = self.temp(span);
        out.push(Stmt::Let {
            var: acc,
            init: Some(init),
        });
        let stmt = self.in_scope(|cx| {
            // Without a `.map()`, the items are bound to the step's second parameter too.
            let item = cx.item_pattern(&stages, Some(&step.inputs[1]));
            let (index, mut body) = cx.bind_iteration(&source, &item)?;
            let mut finish = |cx: &mut Self, mapped: Option<Expr>, out: &mut Block| {
                let value = cx.in_scope(|cx| {
                    let acc_value = Expr {
                        kind: ExprKind::Var(acc),
                        span,
                        end: span,
                    };
                    cx.bind_closure_param(&step.inputs[0], acc_value, out);
                    match mapped {
                        Some(e) => cx.bind_closure_param(&step.inputs[1], e, out),
                        None => {
                            cx.alias_pattern(&step.inputs[1], &item);
                        }
                    }
                    cx.lower_expr(&step.body, out)
                });
                out.push(Stmt::Assign {
                    var: acc,
                    op: None,
                    value,
                    span,
                });
            };
            cx.lower_stages(&stages, &item, None, &mut finish, &mut body);
            Some(Stmt::Loop {
                kind: source.kind(index),
                body,
                label: None,
            })
        });
        out.extend(stmt);
        ExprKind::Var(acc)
    }

    /// The source of a reduction and the `.map()` and `.filter()` steps between it and the
    /// reduction, in the order they apply; `None` after an error. A function named in `.map(f)`
    /// (a local closure, a `#[differentiate]` function, `f64::sqrt`) is called by a closure
    /// `|x| f(x)`.
    fn mapped_source<'a>(
        &mut self,
        receiver: &'a syn::Expr,
        consumer: &str,
    ) -> Option<(&'a syn::Expr, Vec<Stage>)> {
        let mut stages = Vec::new();
        let mut cur = strip_parens(receiver);
        while let syn::Expr::MethodCall(m) = cur {
            let map = m.method == "map";
            if !(map || m.method == "filter") || m.args.len() != 1 {
                break;
            }
            let closure = match strip_parens(&m.args[0]) {
                syn::Expr::Closure(c) if c.inputs.len() == 1 => c.clone(),
                syn::Expr::Path(p) if map => syn::parse_quote!(|__x| #p(__x)),
                other => {
                    let method = &m.method;
                    self.errors.at(
                        &other,
                        format!(
                            "`.{method}()` before {consumer} takes a closure of one argument \
                             (`.{method}(|x| ...)`){}",
                            if map {
                                " or the name of a function"
                            } else {
                                ""
                            }
                        ),
                    );
                    return None;
                }
            };
            stages.push(if map {
                Stage::Map(closure)
            } else {
                Stage::Filter(closure)
            });
            cur = strip_parens(&m.receiver);
        }
        stages.reverse();
        Some((cur, stages))
    }

    /// One pattern for an item that several closures take apart (`.filter(|&(i, _)| ..)` then
    /// `.map(|(_, x)| ..)`): a name of its own wherever any of them names a part, `_` where
    /// none does. Each closure's names then stand for the parts ([`Self::alias_pattern`]).
    fn merged_pattern(&mut self, pats: &[&Pat]) -> Pat {
        let pats: Vec<&Pat> = pats
            .iter()
            .map(|p| strip_refs(p))
            .filter(|p| !matches!(p, Pat::Wild(_)))
            .collect();
        match pats.first() {
            None => syn::parse_quote!(_),
            Some(Pat::Tuple(t)) => {
                let parts = (0..t.elems.len()).map(|i| -> Pat {
                    let ith: Vec<&Pat> = pats
                        .iter()
                        .filter_map(|p| match p {
                            Pat::Tuple(t) => t.elems.iter().nth(i),
                            _ => None,
                        })
                        .collect();
                    self.merged_pattern(&ith)
                });
                let parts: Vec<Pat> = parts.collect();
                syn::parse_quote!((#(#parts),*))
            }
            Some(_) => {
                let id = Ident::new(&format!("__item{}", self.merged_names), Span::mixed_site());
                self.merged_names += 1;
                syn::parse_quote!(#id)
            }
        }
    }

    /// Names `pat`'s parts as the parts of `item` (bound by [`Self::merged_pattern`]), in the
    /// innermost scope.
    fn alias_pattern(&mut self, pat: &Pat, item: &Pat) -> bool {
        match (strip_refs(pat), strip_refs(item)) {
            (Pat::Wild(_), _) => true,
            (Pat::Ident(pi), Pat::Ident(it)) if pi.subpat.is_none() => {
                let Some(b) = self.binding(&it.ident.to_string()) else {
                    return false;
                };
                self.scopes
                    .last_mut()
                    .expect("a scope")
                    .push((pi.ident.to_string(), b));
                true
            }
            (Pat::Tuple(a), Pat::Tuple(b)) if a.elems.len() == b.elems.len() => a
                .elems
                .iter()
                .zip(&b.elems)
                .all(|(a, b)| self.alias_pattern(a, b)),
            (other, _) => {
                self.errors.at(
                    &other,
                    "this closure's parameter does not take the iterator's items apart as the \
                     other steps do: write it as a name or a tuple of names (`x`, `&x`, `(i, x)`)",
                );
                false
            }
        }
    }

    /// The statements of `stages` applied to one item of a loop, then `finish` with the last
    /// `.map()`'s value (`None` when there is none: the item as bound to `item`). A `.filter()`
    /// puts what follows it in an `if`.
    fn lower_stages(
        &mut self,
        stages: &[Stage],
        item: &Pat,
        value: Option<Expr>,
        finish: &mut dyn FnMut(&mut Self, Option<Expr>, &mut Block),
        out: &mut Block,
    ) {
        let Some((stage, rest)) = stages.split_first() else {
            finish(self, value, out);
            return;
        };
        let closure = stage.closure();
        let result = self.in_scope(|cx| {
            match &value {
                Some(v) => cx.bind_closure_param(&closure.inputs[0], v.clone(), out),
                None => {
                    if !cx.alias_pattern(&closure.inputs[0], item) {
                        return None;
                    }
                }
            }
            Some(cx.lower_expr(&closure.body, out))
        });
        let Some(result) = result else {
            return;
        };
        match stage {
            Stage::Filter(_) => {
                let mut then = Vec::new();
                self.lower_stages(rest, item, value, finish, &mut then);
                out.push(Stmt::If {
                    cond: result,
                    then,
                    els: Vec::new(),
                });
            }
            Stage::Map(_) if rest.is_empty() => finish(self, Some(result), out),
            Stage::Map(c) => {
                // Read again by the steps after it: a local of its own.
                let span = c.body.span();
                let t = self.temp(span);
                out.push(Stmt::Let {
                    var: t,
                    init: Some(result),
                });
                let v = Expr {
                    kind: ExprKind::Var(t),
                    span,
                    end: span,
                };
                self.lower_stages(rest, item, Some(v), finish, out)
            }
        }
    }

    /// The pattern an item is bound to for `stages`: the closures' patterns up to the first
    /// `.map()` (and `extra`'s, a `for` loop's, when there is none), merged.
    fn item_pattern(&mut self, stages: &[Stage], extra: Option<&Pat>) -> Pat {
        let upto = stages
            .iter()
            .position(|s| matches!(s, Stage::Map(_)))
            .map_or(stages.len(), |i| i + 1);
        let mut pats: Vec<&Pat> = stages[..upto]
            .iter()
            .map(|s| &s.closure().inputs[0])
            .collect();
        if upto == stages.len() && !stages.iter().any(|s| matches!(s, Stage::Map(_))) {
            pats.extend(extra);
        }
        if pats.is_empty() {
            return syn::parse_quote!(__element);
        }
        self.merged_pattern(&pats)
    }

    /// Binds a closure's parameter pattern (`x`, `mut x`, `x: f64`, `&x`) to a value: a
    /// variable of the function is named directly, anything else is copied into a new local.
    fn bind_closure_param(&mut self, pat: &Pat, value: Expr, out: &mut Block) {
        let (pat, written_ty) = match pat {
            Pat::Type(pt) => (&*pt.pat, Some((*pt.ty).clone())),
            p => (p, None),
        };
        let pat = match pat {
            Pat::Reference(r) => &*r.pat,
            p => p,
        };
        match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                if let (ExprKind::Var(v), None) = (&value.kind, pi.mutability) {
                    self.scopes
                        .last_mut()
                        .expect("a scope")
                        .push((pi.ident.to_string(), Binding::Var(*v)));
                    return;
                }
                let ty = written_ty
                    .as_ref()
                    .map(classify_type)
                    .unwrap_or(Ty::Unknown);
                let written = written_ty.filter(|_| ty != Ty::Unknown);
                let var = self.new_var(
                    &pi.ident,
                    ty,
                    written,
                    pi.mutability.is_some(),
                    VarKind::Local,
                );
                out.push(Stmt::Let {
                    var,
                    init: Some(value),
                });
                self.bind(var);
            }
            Pat::Wild(_) => {}
            other => self.errors.at(
                &other,
                "a closure's parameter is a plain name here (`|x: f64|`, `|&x|`)",
            ),
        }
    }

    /// What a `for` loop or a reduction walks: an integer range, or the elements of arrays.
    fn iteration_source(&mut self, e: &syn::Expr, out: &mut Block) -> Option<Source> {
        // `0..count(n)` with a local closure `count`: its value is computed before the loop.
        let hoisted = self.hoist_closure_calls(e, out);
        let e = strip_parens(&hoisted);
        if chain::needs_chain(self, e) {
            match self.chain_source(e, out) {
                Ok(Some(source)) => return Some(source),
                Err(()) => return None,
                Ok(None) => {}
            }
        }
        // Arrays: `xs`, `&xs`, `xs.iter()`, then `.zip(ys)` and `.enumerate()`.
        let mut methods = Vec::new();
        let mut cur = e;
        loop {
            match strip_parens(cur) {
                syn::Expr::MethodCall(m)
                    if matches!(
                        m.method.to_string().as_str(),
                        "iter" | "copied" | "cloned" | "zip" | "enumerate"
                    ) =>
                {
                    methods.push(m);
                    cur = &m.receiver;
                }
                _ => break,
            }
        }
        if let Some(base) = self.local_of(cur) {
            let mut arrays = vec![base];
            let mut enumerate = false;
            for m in methods.iter().rev() {
                match m.method.to_string().as_str() {
                    "iter" | "copied" | "cloned" => {}
                    "enumerate" => enumerate = true,
                    _ => {
                        let other = strip_iter(&m.args[0]);
                        match self.local_of(other) {
                            Some(v) if !enumerate => arrays.push(v),
                            _ => {
                                self.errors.at(
                                    &m.args[0],
                                    "`.zip()` takes another array of the function \
                                     (`xs.iter().zip(ys.iter())`) before any `.enumerate()`",
                                );
                                return None;
                            }
                        }
                    }
                }
            }
            // Rows of a parameter matrix (a local's type is known only after inference, which
            // reports it there).
            if let Some(&v) = arrays
                .iter()
                .find(|&&v| self.vars[v].ty == Ty::FloatArray(2))
            {
                let name = &self.vars[v].user_name;
                self.errors.at(
                    e,
                    format!(
                        "iterating over the rows of `{name}` is not supported: index them with \
                         `for i in 0..{name}.len()` and `{name}[i][j]`"
                    ),
                );
                return None;
            }
            return Some(Source::Elements { arrays, enumerate });
        }
        // Integers: a range, possibly reversed or stepped.
        if !range_based(e) {
            self.errors.at(
                &e,
                "this iterator is not supported in a `#[differentiate]` function: walk an integer \
                 range (`0..n`, `(0..=n).rev()`, `(0..n).step_by(k)`) and index the arrays, or \
                 walk the function's arrays (`xs.iter()`, `&xs[a..b]`, `xs.windows(k)`, \
                 `xs.chunks(k)`, with `.zip(ys)`, `.enumerate()`, `.skip(k)`, `.take(k)`, \
                 `.step_by(k)`, `.rev()`, and last `.filter(..)` and `.map(..)`); for anything \
                 else, write an `if` or a `break` in the loop",
            );
            return None;
        }
        let range = self.plain_range(e, out);
        let iter = match self.opaque(e) {
            ExprKind::Opaque { tokens, refs } => Expr {
                kind: ExprKind::Opaque { tokens, refs },
                span: e.span(),
                end: last_span(e),
            },
            _ => unreachable!("opaque() returns an opaque expression"),
        };
        Some(Source::Range { iter, range })
    }

    /// `a..b`, `a..=b`, `(a..b).rev()`: the range parts, for a reverse sweep that walks it
    /// backwards.
    fn plain_range(&mut self, e: &syn::Expr, out: &mut Block) -> Option<Range> {
        let (e, reversed) = match strip_parens(e) {
            syn::Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
                (strip_parens(&m.receiver), true)
            }
            e => (e, false),
        };
        match e {
            syn::Expr::Range(r) => {
                let (Some(start), Some(end)) = (&r.start, &r.end) else {
                    return None;
                };
                Some(Range {
                    start: self.lower_expr(start, out),
                    end: self.lower_expr(end, out),
                    inclusive: matches!(r.limits, syn::RangeLimits::Closed(_)),
                    reversed,
                })
            }
            _ => None,
        }
    }

    /// Declares the loop's variables for one iteration: the integer index, and for arrays the
    /// elements (`let x = xs[i];`) at the start of the body.
    fn bind_iteration(&mut self, source: &Source, pat: &Pat) -> Option<(VarId, Block)> {
        let mut body = Vec::new();
        match source {
            Source::Chain { walk, .. } => {
                let position = self.declare(&walk.position, Ty::Int, None, false, VarKind::Temp);
                self.bind_item(&walk.item, pat, &mut body)
                    .then_some((position, body))
            }
            Source::Range { .. } => {
                let var = match pat {
                    Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                        self.declare(&pi.ident, Ty::Int, None, false, VarKind::Local)
                    }
                    Pat::Wild(w) => {
                        let id = Ident::new("__index", w.span());
                        let v = self.declare(&id, Ty::Int, None, false, VarKind::Local);
                        self.vars[v].ident = Ident::new("_", w.span());
                        v
                    }
                    other => {
                        self.errors.at(
                            &other,
                            "the variable of a loop over a range is a plain name",
                        );
                        return None;
                    }
                };
                Some((var, body))
            }
            Source::Elements { arrays, enumerate } => {
                let pat = strip_pat_type(pat);
                let (index_pat, elems_pat) = if *enumerate {
                    match pat {
                        Pat::Tuple(t) if t.elems.len() == 2 => (Some(&t.elems[0]), &t.elems[1]),
                        other => {
                            self.errors.at(
                                &other,
                                "`.enumerate()` yields `(index, element)` pairs: write the \
                                 pattern as `(i, x)` or `(i, &x)`",
                            );
                            return None;
                        }
                    }
                } else {
                    (None, pat)
                };
                let index = match index_pat.map(strip_pat_type) {
                    Some(Pat::Ident(pi)) => {
                        self.declare(&pi.ident, Ty::Int, None, false, VarKind::Local)
                    }
                    Some(Pat::Wild(_)) | None => {
                        let id = Ident::new("__i", Span::mixed_site());
                        self.declare(&id, Ty::Int, None, false, VarKind::Temp)
                    }
                    Some(other) => {
                        self.errors
                            .at(&other, "the index of `.enumerate()` is a plain name");
                        return None;
                    }
                };
                let elem_pats: Vec<&Pat> = if arrays.len() == 1 {
                    vec![elems_pat]
                } else {
                    match strip_pat_type(elems_pat) {
                        Pat::Tuple(t) if t.elems.len() == arrays.len() => t.elems.iter().collect(),
                        other => {
                            self.errors.at(
                                &other,
                                format!(
                                    "`.zip()` yields tuples of {} elements: write the pattern \
                                     as `(a, b)` or `(&a, &b)`",
                                    arrays.len()
                                ),
                            );
                            return None;
                        }
                    }
                };
                for (array, p) in arrays.iter().zip(elem_pats) {
                    let by_ref = matches!(strip_pat_type(p), Pat::Reference(_));
                    let p = match strip_pat_type(p) {
                        Pat::Reference(r) => strip_pat_type(&r.pat),
                        p => p,
                    };
                    // `for &(i, j, r) in ratings`: the element under a name of its own, taken
                    // apart by a `let` after it.
                    let mut parts = None;
                    let ident = match p {
                        Pat::Ident(pi) if pi.subpat.is_none() => pi.ident.clone(),
                        Pat::Wild(_) => continue,
                        Pat::Tuple(_) | Pat::Slice(_) => {
                            let hidden = Ident::new(
                                &format!("__item{}", self.vars.len()),
                                Span::mixed_site(),
                            );
                            let stmt: syn::Stmt =
                                syn::parse_quote_spanned!(p.span()=> let #p = #hidden;);
                            parts = Some(stmt);
                            hidden
                        }
                        other => {
                            self.errors.at(
                                &other,
                                "bind each element of an array to a plain name (`x` or `&x`)",
                            );
                            return None;
                        }
                    };
                    let kind = if self.vars[*array].ty == Ty::Other && !by_ref {
                        // `for s in shapes` of a slice of another type: `s` is a reference,
                        // as in Rust (`area(s, ..)` takes `&Shape`).
                        let (a, i) = (&self.vars[*array].ident, &self.vars[index].ident);
                        ExprKind::Opaque {
                            tokens: quote!(&#a[#i]),
                            refs: vec![*array, index],
                        }
                    } else {
                        ExprKind::Index {
                            var: *array,
                            index: vec![Expr {
                                kind: ExprKind::Var(index),
                                span: ident.span(),
                                end: ident.span(),
                            }],
                        }
                    };
                    let elem = Expr {
                        kind,
                        span: ident.span(),
                        end: ident.span(),
                    };
                    let var = self.declare(&ident, Ty::Unknown, None, false, VarKind::Local);
                    body.push(Stmt::Let {
                        var,
                        init: Some(elem),
                    });
                    if let Some(stmt) = parts {
                        self.lower_written(&stmt, &mut body);
                    }
                }
                Some((index, body))
            }
        }
    }

    fn opaque(&mut self, expr: &syn::Expr) -> ExprKind {
        let mut e = expr.clone();
        let mut renamer = Renamer {
            cx: self,
            refs: Vec::new(),
            silenced: false,
        };
        renamer.visit_expr_mut(&mut e);
        let refs = if renamer.silenced {
            Vec::new()
        } else {
            renamer.refs
        };
        ExprKind::Opaque {
            tokens: e.to_token_stream(),
            refs,
        }
    }

    /// Renames the function's locals inside a macro invocation's tokens (best effort: an
    /// identifier not preceded by `.` that names a local in scope).
    fn rename_tokens(&mut self, tokens: TokenStream) -> TokenStream {
        let mut out = Vec::new();
        let mut after_dot = false;
        for tt in tokens {
            let next = match tt {
                TokenTree::Ident(id) if !after_dot => match self.resolve(&id.to_string()) {
                    Some(v) => {
                        let mut ident = self.vars[v].ident.clone();
                        if ident == id {
                            ident = id;
                        }
                        TokenTree::Ident(ident)
                    }
                    None => TokenTree::Ident(id),
                },
                TokenTree::Group(g) => {
                    let mut ng =
                        proc_macro2::Group::new(g.delimiter(), self.rename_tokens(g.stream()));
                    ng.set_span(g.span());
                    TokenTree::Group(ng)
                }
                other => other,
            };
            after_dot = matches!(&next, TokenTree::Punct(p) if p.as_char() == '.');
            out.push(next);
        }
        out.into_iter().collect()
    }

    fn unsupported(&mut self, expr: &syn::Expr) {
        let (what, instead) = describe_unsupported(expr);
        self.errors.at(
            &expr,
            format!("{what} is not supported in a `#[differentiate]` function: {instead}"),
        );
    }

    fn error_expr(&self, span: Span) -> Expr {
        Expr {
            end: span,
            kind: ExprKind::Lit(syn::parse_quote!(0.0)),
            span,
        }
    }
}

/// `return` and `?` in a closure's body (not in closures nested in it), which inlining would
/// turn into exits of the whole function.
#[derive(Default)]
struct ClosureExits {
    spans: Vec<Span>,
}

impl<'ast> syn::visit::Visit<'ast> for ClosureExits {
    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        self.spans.push(r.span());
    }
    fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
        self.spans.push(t.question_token.span());
        syn::visit::visit_expr_try(self, t);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
}

/// The closure that a helper `fn` inside the body stands for, if it is a plain one (no
/// generics, no `async`/`const`/`unsafe`, parameters that are names).
fn nested_fn_closure(f: &syn::ItemFn) -> Option<syn::ExprClosure> {
    let sig = &f.sig;
    if !sig.generics.params.is_empty()
        || sig.asyncness.is_some()
        || sig.constness.is_some()
        || sig.unsafety.is_some()
        || sig.variadic.is_some()
    {
        return None;
    }
    let mut params = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Typed(pt) if matches!(&*pt.pat, Pat::Ident(_)) => {
                let (pat, ty) = (&pt.pat, &pt.ty);
                params.push(quote!(#pat: #ty));
            }
            _ => return None,
        }
    }
    let (output, block) = (&sig.output, &f.block);
    let body = match output {
        syn::ReturnType::Default => quote!(#block),
        syn::ReturnType::Type(..) => quote!(#output #block),
    };
    syn::parse2(quote!(|#(#params),*| #body)).ok()
}

/// Rewrites idioms over arrays into forms the lowering follows: `*x.last().unwrap()` (also
/// `.copied()`/`.cloned()`, `first`) into `x[x.len() - 1]` and `x[0]`, and the maximum or
/// minimum by `partial_cmp`/`total_cmp` (`xs.iter().copied().max_by(|a, b|
/// a.partial_cmp(b).unwrap()).unwrap()`) into `.fold(f64::NEG_INFINITY, f64::max)` (or
/// `INFINITY`, `min`). The fold gives `-inf` for no elements where `max_by` panics.
struct Idioms;

impl Idioms {
    /// `recv.method()` with no arguments: `recv`.
    fn call0<'a>(e: &'a syn::Expr, method: &str) -> Option<&'a syn::Expr> {
        match strip_parens(e) {
            syn::Expr::MethodCall(m) if m.method == method && m.args.is_empty() => {
                Some(&m.receiver)
            }
            _ => None,
        }
    }

    /// `x.last()` / `x.first()` behind `.unwrap()` (and `.copied()`/`.cloned()` when `owned`).
    fn end_of(e: &syn::Expr, owned: bool) -> Option<syn::Expr> {
        let mut inner = Self::call0(e, "unwrap")?;
        if owned {
            inner = Self::call0(inner, "copied").or_else(|| Self::call0(inner, "cloned"))?;
        }
        if let Some(x) = Self::call0(inner, "last").or_else(|| Self::call0(inner, "last_mut")) {
            return Some(syn::parse_quote_spanned!(e.span()=> #x[#x.len() - 1]));
        }
        let x = Self::call0(inner, "first").or_else(|| Self::call0(inner, "first_mut"))?;
        Some(syn::parse_quote_spanned!(e.span()=> #x[0]))
    }

    /// `it.max_by(|a, b| a.partial_cmp(b).unwrap())` (or `total_cmp`, `min_by`): `it` and
    /// whether it is the maximum.
    fn extremum(e: &syn::Expr) -> Option<(&syn::Expr, bool)> {
        let syn::Expr::MethodCall(m) = strip_parens(e) else {
            return None;
        };
        let max = match m.method.to_string().as_str() {
            "max_by" => true,
            "min_by" => false,
            _ => return None,
        };
        let [syn::Expr::Closure(c)] = m.args.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        let names: Vec<String> = c
            .inputs
            .iter()
            .map(|p| match p {
                Pat::Ident(pi) => pi.ident.to_string(),
                _ => String::new(),
            })
            .collect();
        let [a, b] = names.as_slice() else {
            return None;
        };
        let body = match strip_parens(&c.body) {
            syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(e, None) => e,
                _ => return None,
            },
            e => e,
        };
        let cmp = Self::call0(body, "unwrap").unwrap_or(body);
        let syn::Expr::MethodCall(cm) = strip_parens(cmp) else {
            return None;
        };
        let ordered = matches!(cm.method.to_string().as_str(), "partial_cmp" | "total_cmp")
            && cm.args.len() == 1
            && cm.receiver.to_token_stream().to_string() == *a
            && cm.args[0].to_token_stream().to_string() == *b;
        ordered.then_some((&*m.receiver, max))
    }
}

impl VisitMut for Idioms {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        // Outermost first: `*x.last().unwrap()` is rewritten whole, not its `x.last().unwrap()`.
        // `*it.max_by(..).unwrap()` walks references (`.copied()` first); `it` of a
        // `.copied()` chain walks values.
        let (inner, deref) = match &*e {
            syn::Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr,
                ..
            }) => (&**expr, true),
            other => (other, false),
        };
        let replaced = Self::end_of(inner, !deref).or_else(|| {
            let (it, max) = Self::extremum(Self::call0(inner, "unwrap")?)?;
            let (start, f) = if max {
                (quote!(f64::NEG_INFINITY), quote!(f64::max))
            } else {
                (quote!(f64::INFINITY), quote!(f64::min))
            };
            let copied = deref.then(|| quote!(.copied()));
            Some(syn::parse_quote_spanned!(e.span()=> #it #copied.fold(#start, #f)))
        });
        if let Some(r) = replaced {
            *e = r;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// Puts arrays written out as an iterator's source (`for v in [x, y, z]`, `[a, b].iter().sum()`)
/// in locals of their own, declared just before the statement: `let __lit0 = [x, y, z];`.
#[derive(Default)]
struct LiteralSources {
    count: usize,
    found: Vec<(Ident, syn::Expr)>,
}

impl LiteralSources {
    /// Whether `e` is an array of values written out (not of tuples or rows).
    fn literal(e: &syn::Expr) -> bool {
        let elems = match strip_parens(e) {
            syn::Expr::Array(a) => a.elems.iter().cloned().collect::<Vec<_>>(),
            _ => return false,
        };
        !elems.is_empty()
            && elems.iter().all(|x| {
                !matches!(strip_parens(x), syn::Expr::Tuple(_) | syn::Expr::Array(_))
                    && repeat_rank(x).is_none()
            })
    }

    fn replace(&mut self, e: &mut syn::Expr) {
        let target = match e {
            syn::Expr::Reference(r) => &mut *r.expr,
            e => e,
        };
        if Self::literal(target) {
            let name = Ident::new(&format!("__lit{}", self.count), target.span());
            self.count += 1;
            let lit = std::mem::replace(target, syn::parse_quote!(#name));
            self.found.push((name, lit));
        }
    }
}

impl VisitMut for LiteralSources {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        let outer = std::mem::take(&mut self.found);
        let mut stmts = Vec::new();
        for mut stmt in std::mem::take(&mut b.stmts) {
            self.visit_stmt_mut(&mut stmt);
            for (name, lit) in self.found.drain(..) {
                stmts.push(syn::parse_quote_spanned!(lit.span()=> let #name = #lit;));
            }
            stmts.push(stmt);
        }
        b.stmts = stmts;
        self.found = outer;
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        match e {
            // Closures keep their own statements.
            syn::Expr::Closure(_) => return,
            syn::Expr::ForLoop(f) => self.replace(&mut f.expr),
            syn::Expr::MethodCall(m)
                if matches!(m.method.to_string().as_str(), "iter" | "into_iter") =>
            {
                self.replace(&mut m.receiver)
            }
            // `dy.copy_from_slice(&[a, b]);`
            syn::Expr::MethodCall(m) if m.method == "copy_from_slice" && m.args.len() == 1 => {
                self.replace(&mut m.args[0])
            }
            _ => {}
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// Rewrites the `break value`s that leave one loop (unlabelled ones outside inner loops, and
/// those with the loop's label) as `{ target = value; break; }`.
struct BreakValues {
    label: Option<String>,
    /// How many loops inside the loop enclose the current expression.
    depth: usize,
    target: Ident,
}

impl VisitMut for BreakValues {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        match e {
            syn::Expr::Closure(_) => return,
            syn::Expr::Loop(_) | syn::Expr::While(_) | syn::Expr::ForLoop(_) => {
                self.depth += 1;
                syn::visit_mut::visit_expr_mut(self, e);
                self.depth -= 1;
                return;
            }
            syn::Expr::Break(b) if b.expr.is_some() => {
                let ours = match &b.label {
                    Some(l) => self.label.as_deref() == Some(l.ident.to_string().as_str()),
                    None => self.depth == 0,
                };
                if ours {
                    if let Some(value) = b.expr.as_mut() {
                        self.visit_expr_mut(value);
                    }
                    let (target, label) = (&self.target, &b.label);
                    let value = b.expr.take();
                    let span = b.span();
                    *e = syn::parse_quote_spanned!(span=> { #target = #value; break #label; });
                    return;
                }
            }
            _ => {}
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// Renames the loop labels of a closure's body (`'outer` → `'outer_f`).
struct LabelRenamer {
    suffix: String,
}

impl LabelRenamer {
    fn rename(&self, l: &mut syn::Lifetime) {
        l.ident = Ident::new(&format!("{}{}", l.ident, self.suffix), l.ident.span());
    }
}

impl VisitMut for LabelRenamer {
    fn visit_label_mut(&mut self, l: &mut syn::Label) {
        self.rename(&mut l.name);
    }
    fn visit_expr_break_mut(&mut self, b: &mut syn::ExprBreak) {
        if let Some(l) = &mut b.label {
            self.rename(l);
        }
        syn::visit_mut::visit_expr_break_mut(self, b);
    }
    fn visit_expr_continue_mut(&mut self, c: &mut syn::ExprContinue) {
        if let Some(l) = &mut c.label {
            self.rename(l);
        }
    }
}

/// Replaces the calls of local closures in an expression by temporaries that hold their
/// values, computed before (see [`Lowering::hoist_closure_calls`]).
struct CallHoister<'a, 'e> {
    cx: &'a mut Lowering<'e>,
    out: &'a mut Block,
}

impl VisitMut for CallHoister<'_, '_> {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        if let syn::Expr::Call(c) = e {
            if self.cx.closure_called(c).is_some() {
                let span = c.span();
                let value = self.cx.lower_expr(e, self.out);
                // A temporary in scope under its own name, which the rewritten expression reads.
                let var = self.cx.temp(span);
                self.out.push(Stmt::Let {
                    var,
                    init: Some(value),
                });
                self.cx.bind(var);
                let name = Ident::new(&self.cx.vars[var].user_name, span);
                *e = syn::Expr::Path(syn::ExprPath {
                    attrs: Vec::new(),
                    qself: None,
                    path: name.into(),
                });
                return;
            }
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
}

/// The names that `let`s in an expression bind (closures nested in it included).
#[derive(Default)]
struct LetNames {
    names: Vec<(Ident, bool)>,
}

impl<'ast> syn::visit::Visit<'ast> for LetNames {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        pattern_idents(&l.pat, &mut self.names);
        syn::visit::visit_local(self, l);
    }
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        for p in &c.inputs {
            pattern_idents(p, &mut self.names);
        }
        syn::visit::visit_expr_closure(self, c);
    }
}

/// Every identifier in `tokens`, except those right after `.` (fields and methods).
fn idents_in(tokens: TokenStream, out: &mut Vec<String>) {
    let mut after_dot = false;
    for tt in tokens {
        match &tt {
            TokenTree::Ident(id) if !after_dot => out.push(id.to_string()),
            TokenTree::Group(g) => idents_in(g.stream(), out),
            _ => {}
        }
        after_dot = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '.');
    }
}

/// An array or a range of it as `copy_from_slice` takes it (`u`, `u[a..b]`, `&next[a..]`):
/// the array and the bounds of the range (`0` and `u.len()` when not written).
fn range_of(e: &syn::Expr) -> Option<(syn::Expr, syn::Expr, syn::Expr)> {
    let e = match strip_parens(e) {
        syn::Expr::Reference(r) => strip_parens(&r.expr),
        e => e,
    };
    let (array, range) = match e {
        syn::Expr::Index(i) => match strip_parens(&i.index) {
            syn::Expr::Range(r) => ((*i.expr).clone(), Some(r.clone())),
            _ => return None,
        },
        syn::Expr::Path(_) => (e.clone(), None),
        _ => return None,
    };
    let start = range
        .as_ref()
        .and_then(|r| r.start.clone())
        .map_or_else(|| syn::parse_quote!(0), |s| *s);
    let end = match range
        .as_ref()
        .and_then(|r| r.end.as_ref().map(|e| (e, &r.limits)))
    {
        Some((e, syn::RangeLimits::Closed(_))) => syn::parse_quote!(#e + 1),
        Some((e, _)) => (**e).clone(),
        None => syn::parse_quote!(#array.len()),
    };
    Some((array, start, end))
}

/// Whether a method call's receiver is visibly an integer (`(i as i64).rem_euclid(8)`, `7.pow(2)`):
/// its method is not a float's, whatever its name.
fn integer_receiver(m: &syn::ExprMethodCall) -> bool {
    fn integer(e: &syn::Expr) -> bool {
        match strip_parens(e) {
            syn::Expr::Cast(c) => classify_type(&c.ty) == Ty::Int,
            syn::Expr::Lit(l) => matches!(l.lit, syn::Lit::Int(_)),
            // Rust adds no float to an integer literal: either side says it.
            syn::Expr::Binary(b) => integer(&b.left) || integer(&b.right),
            syn::Expr::Unary(u) => integer(&u.expr),
            syn::Expr::MethodCall(m) => m.method == "len" && m.args.is_empty(),
            _ => false,
        }
    }
    integer(&m.receiver)
}

/// Renames locals inside an opaque expression and records which it mentions.
struct Renamer<'a, 'e> {
    cx: &'a mut Lowering<'e>,
    refs: Vec<VarId>,
    /// An error was reported inside: `refs` are not checked again.
    silenced: bool,
}

impl VisitMut for Renamer<'_, '_> {
    fn visit_expr_call_mut(&mut self, c: &mut syn::ExprCall) {
        // Inside an expression the macro does not look into, a call that changes an array
        // would change it unseen.
        if self.cx.closure_called(c).is_none() && self.cx.lends_array(c) {
            self.cx.errors.at(
                &*c,
                "this call changes an array (`&mut`) inside an expression `#[differentiate]` \
                 does not look into: make the call in a `let` of its own before it",
            );
            self.silenced = true;
        }
        syn::visit_mut::visit_expr_call_mut(self, c);
    }

    fn visit_expr_method_call_mut(&mut self, m: &mut syn::ExprMethodCall) {
        let hint = rules::unsupported_hint(&m.method.to_string()).filter(|_| !integer_receiver(m));
        if let Some(hint) = hint {
            self.cx.errors.at(
                &m.method,
                format!("`.{}()` has no derivative rule: {hint}", m.method),
            );
            // Reported: the expression's variables need no second error.
            self.silenced = true;
        }
        // The length of an array carries no derivative (see `lower_method` for a call's result).
        let of_call = self
            .cx
            .local_of(&m.receiver)
            .is_some_and(|v| self.cx.call_arrays.contains(&v));
        if matches!(m.method.to_string().as_str(), "len" | "is_empty")
            && m.args.is_empty()
            && !of_call
        {
            let refs = self.refs.len();
            syn::visit_mut::visit_expr_method_call_mut(self, m);
            self.refs.truncate(refs);
        } else {
            syn::visit_mut::visit_expr_method_call_mut(self, m);
        }
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        // `r.len()` of a view `r` (`let r = &xs[a..b];`) is the local that holds its length,
        // and so is `v.len()` of a vector grown by `push`.
        if let syn::Expr::MethodCall(m) = e {
            let len = if m.method == "len" && m.args.is_empty() {
                self.cx.view_of(&m.receiver).map(|v| v.len).or_else(|| {
                    self.cx
                        .local_of(&m.receiver)
                        .and_then(|v| self.cx.pushed_lens.get(&v).copied())
                })
            } else {
                None
            };
            if let Some(len) = len {
                self.refs.push(len);
                let ident = self.cx.vars[len].ident.clone();
                *e = syn::parse_quote!(#ident);
                return;
            }
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }

    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        if let Some(id) = p.path.get_ident().filter(|_| p.qself.is_none()) {
            if self.cx.view_of(&syn::Expr::Path(p.clone())).is_some() {
                self.cx.errors.at(
                    &p,
                    format!(
                        "`{id}` is a run of an array (`.windows()`, `.chunks()`, `&xs[a..b]`): \
                         read it as `{id}[j]`, `{id}.len()` or `{id}.iter()`, or pass it to a \
                         `#[differentiate]` function"
                    ),
                );
                self.silenced = true;
                return;
            }
        }
        if p.qself.is_none() {
            if let Some(id) = p.path.get_ident() {
                if let Some(v) = self.cx.resolve(&id.to_string()) {
                    self.refs.push(v);
                    let ident = self.cx.vars[v].ident.clone();
                    p.path = ident.into();
                }
            }
        }
    }
    fn visit_expr_closure_mut(&mut self, c: &mut syn::ExprClosure) {
        self.cx.errors.at(
            &c,
            "a closure is supported here only as a local that is called \
             (`let f = |t: f64| t * t; f(x)`), in `.map(..).sum()` and `.fold(..)`, and in \
             `let v: Vec<f64> = xs.iter().map(..).collect();`: write a loop, or a separate \
             `#[differentiate]` function",
        );
    }
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        m.tokens = self.cx.rename_tokens(m.tokens.clone());
    }
}

pub fn collect_refs(e: &Expr, out: &mut Vec<VarId>) {
    match &e.kind {
        ExprKind::Var(v) => out.push(*v),
        ExprKind::Lit(_) | ExprKind::Path(_) => {}
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => collect_refs(a, out),
        ExprKind::Binary(_, a, b) => {
            collect_refs(a, out);
            collect_refs(b, out);
        }
        ExprKind::Rule { args, int_arg, .. } => {
            args.iter().for_each(|a| collect_refs(a, out));
            if let Some(i) = int_arg {
                collect_refs(i, out);
            }
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| collect_refs(a, out)),
        ExprKind::Opaque { refs, .. } => out.extend(refs),
        ExprKind::Index { var, index } => {
            out.push(*var);
            index.iter().for_each(|i| collect_refs(i, out));
        }
        ExprKind::ArrayNew { elem, len, .. } => {
            collect_refs(elem, out);
            collect_refs(len, out);
        }
    }
}

fn strip_parens(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip_parens(&p.expr),
        syn::Expr::Group(g) => strip_parens(&g.expr),
        e => e,
    }
}

fn binary_op(op: &syn::BinOp) -> Option<BinOp> {
    use syn::BinOp as B;
    Some(match op {
        B::Add(_) => BinOp::Add,
        B::Sub(_) => BinOp::Sub,
        B::Mul(_) => BinOp::Mul,
        B::Div(_) => BinOp::Div,
        B::Rem(_) => BinOp::Rem,
        B::And(_) => BinOp::And,
        B::Or(_) => BinOp::Or,
        B::BitXor(_) => BinOp::BitXor,
        B::BitAnd(_) => BinOp::BitAnd,
        B::BitOr(_) => BinOp::BitOr,
        B::Shl(_) => BinOp::Shl,
        B::Shr(_) => BinOp::Shr,
        B::Eq(_) => BinOp::Eq,
        B::Lt(_) => BinOp::Lt,
        B::Le(_) => BinOp::Le,
        B::Ne(_) => BinOp::Ne,
        B::Ge(_) => BinOp::Ge,
        B::Gt(_) => BinOp::Gt,
        _ => return None,
    })
}

fn compound_op(op: &syn::BinOp) -> Option<BinOp> {
    use syn::BinOp as B;
    Some(match op {
        B::AddAssign(_) => BinOp::Add,
        B::SubAssign(_) => BinOp::Sub,
        B::MulAssign(_) => BinOp::Mul,
        B::DivAssign(_) => BinOp::Div,
        B::RemAssign(_) => BinOp::Rem,
        B::BitXorAssign(_) => BinOp::BitXor,
        B::BitAndAssign(_) => BinOp::BitAnd,
        B::BitOrAssign(_) => BinOp::BitOr,
        B::ShlAssign(_) => BinOp::Shl,
        B::ShrAssign(_) => BinOp::Shr,
        _ => return None,
    })
}

/// The error for an assignment to a place inside `self`.
fn self_write(place: &syn::Expr) -> String {
    format!(
        "cannot assign to `{}`: a `#[differentiate]` method reads `self` as data without a \
         derivative, and the derivatives would not follow a change to it. Return the new value \
         and assign it after the call",
        show(place)
    )
}

/// What an unsupported expression is called, and what to write instead.
fn describe_unsupported(expr: &syn::Expr) -> (&'static str, &'static str) {
    match expr {
        syn::Expr::Closure(_) => (
            "a closure",
            "write a separate `#[differentiate]` function and call it",
        ),
        syn::Expr::Async(_) | syn::Expr::Await(_) => {
            ("`async`/`.await`", "differentiate synchronous code")
        }
        syn::Expr::Try(_) => (
            "the `?` operator",
            "handle the error outside the differentiated function",
        ),
        syn::Expr::TryBlock(_) => ("a `try` block", "handle errors outside the function"),
        syn::Expr::Unsafe(_) => ("an `unsafe` block", "differentiate safe code only"),
        syn::Expr::Range(_) => (
            "a range",
            "ranges are supported only as what a `for` loop walks",
        ),
        syn::Expr::Struct(_) => (
            "a struct literal",
            "pass the fields as separate `f64` values",
        ),
        syn::Expr::Let(_) => ("`let` in an expression", "use `match`"),
        syn::Expr::Yield(_) => ("`yield`", "differentiate ordinary functions"),
        syn::Expr::Assign(_) => (
            "an assignment used as a value",
            "write the assignment as its own statement",
        ),
        syn::Expr::Return(_) => (
            "`return` inside an expression",
            "return from a statement position",
        ),
        syn::Expr::Loop(_) | syn::Expr::While(_) | syn::Expr::ForLoop(_) => (
            "a loop used as a value (`break value`)",
            "declare the variable before the loop, assign it inside, then `break`",
        ),
        _ => (
            "this expression",
            "rewrite it with `let`, arithmetic, method calls and `if`/`match`",
        ),
    }
}

/// What a loop walks.
enum Source {
    Range {
        iter: Expr,
        range: Option<Range>,
    },
    /// The elements of these arrays, in step (`zip`), with the index bound by `enumerate`.
    Elements {
        arrays: Vec<VarId>,
        enumerate: bool,
    },
    /// A chain of adaptors over arrays (`chain.rs`): a range of positions, and what each
    /// position yields.
    Chain {
        iter: Expr,
        range: Option<Range>,
        walk: std::rc::Rc<chain::Walk>,
    },
}

impl Source {
    fn kind(&self, var: VarId) -> LoopKind {
        match self {
            Source::Range { iter, range } | Source::Chain { iter, range, .. } => LoopKind::For {
                var,
                iter: iter.clone(),
                range: range.clone(),
            },
            Source::Elements { arrays, .. } => LoopKind::Elements {
                var,
                arrays: arrays.clone(),
            },
        }
    }
}

/// `x[i][j]` → (`x`, [`i`, `j`]).
fn flatten_index(e: &syn::Expr) -> (&syn::Expr, Vec<&syn::Expr>) {
    match strip_parens(e) {
        syn::Expr::Index(ix) => {
            let (base, mut idx) = flatten_index(&ix.expr);
            idx.push(&ix.index);
            (base, idx)
        }
        other => (other, Vec::new()),
    }
}

/// `ys.iter()` or `&ys` → `ys`.
fn strip_iter(e: &syn::Expr) -> &syn::Expr {
    match strip_parens(e) {
        syn::Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => {
            strip_iter(&m.receiver)
        }
        e => e,
    }
}

/// `p` without the references a closure's parameter matches (`&&x`, `&(i, x)`) and its type.
fn strip_refs(p: &Pat) -> &Pat {
    match strip_pat_type(p) {
        Pat::Reference(r) => strip_refs(&r.pat),
        p => p,
    }
}

/// The names `body` calls `.push(..)` on.
fn pushed_names(body: &syn::Block) -> std::collections::HashSet<String> {
    use syn::visit::Visit;
    struct Names(std::collections::HashSet<String>);
    impl<'ast> Visit<'ast> for Names {
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            if m.method == "push" && m.args.len() == 1 {
                if let syn::Expr::Path(p) = strip_parens(&m.receiver) {
                    if let Some(id) = p.path.get_ident() {
                        self.0.insert(id.to_string());
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut names = Names(std::collections::HashSet::new());
    names.visit_block(body);
    names.0
}

/// An empty vector: `Vec::new()`, `Vec::with_capacity(n)`, `vec![]`.
fn is_empty_vec(e: &syn::Expr) -> bool {
    match strip_parens(e) {
        syn::Expr::Call(c) => matches!(&*c.func, syn::Expr::Path(p)
            if p.path.segments.len() == 2
                && p.path.segments[0].ident == "Vec"
                && (p.path.segments[1].ident == "new" || p.path.segments[1].ident == "with_capacity")),
        syn::Expr::Macro(m) => m.mac.path.is_ident("vec") && m.mac.tokens.is_empty(),
        _ => false,
    }
}

/// The names `body` indexes (`k[i]`, `k[i][j]`), walks as arrays (`k.iter()`, `for x in &k`,
/// `k.len()`) or passes to a call as `&k` or `&k[a..b]`.
fn array_names(body: &syn::Block) -> std::collections::HashSet<String> {
    use syn::visit::Visit;
    struct Names(std::collections::HashSet<String>);
    impl Names {
        fn name(&mut self, e: &syn::Expr) {
            if let syn::Expr::Path(p) = strip_parens(e) {
                if let Some(id) = p.path.get_ident() {
                    self.0.insert(id.to_string());
                }
            }
        }
        fn argument(&mut self, a: &syn::Expr) {
            if let syn::Expr::Reference(r) = strip_parens(a) {
                match strip_parens(&r.expr) {
                    syn::Expr::Index(i) => self.name(&i.expr),
                    e => self.name(e),
                }
            }
        }
    }
    impl<'ast> Visit<'ast> for Names {
        fn visit_expr_index(&mut self, i: &'ast syn::ExprIndex) {
            self.name(&i.expr);
            syn::visit::visit_expr_index(self, i);
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            c.args.iter().for_each(|a| self.argument(a));
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            m.args.iter().for_each(|a| self.argument(a));
            // Walked as an array: `k.iter()`, `k.windows(2)`, `k.len()`, ...
            const ARRAY_METHODS: [&str; 9] = [
                "iter",
                "iter_mut",
                "into_iter",
                "windows",
                "chunks",
                "chunks_exact",
                "len",
                "to_vec",
                "is_empty",
            ];
            if ARRAY_METHODS.contains(&m.method.to_string().as_str()) {
                self.name(&m.receiver);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            // `for x in k` and `for x in &k`.
            match strip_parens(&f.expr) {
                syn::Expr::Reference(r) => self.name(&r.expr),
                e => self.name(e),
            }
            syn::visit::visit_expr_for_loop(self, f);
        }
    }
    let mut names = Names(std::collections::HashSet::new());
    names.visit_block(body);
    names.0
}

/// `e` without a `&` in front of it.
fn strip_ref(e: &syn::Expr) -> &syn::Expr {
    match strip_parens(e) {
        syn::Expr::Reference(r) if r.mutability.is_none() => &r.expr,
        _ => e,
    }
}

/// `e` without the `*`s in front of it.
fn strip_derefs(e: &syn::Expr) -> &syn::Expr {
    match strip_parens(e) {
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Deref(_),
            expr,
            ..
        }) => strip_derefs(expr),
        e => e,
    }
}

/// The expression naming `id`.
fn path_expr(id: &Ident) -> syn::Expr {
    syn::parse_quote!(#id)
}

/// A step between an iterator's source and what consumes it.
enum Stage {
    /// `.map(|x| ..)`: the items become the closure's values.
    Map(syn::ExprClosure),
    /// `.filter(|x| ..)`: only the items for which the closure holds go on.
    Filter(syn::ExprClosure),
}

impl Stage {
    fn closure(&self) -> &syn::ExprClosure {
        match self {
            Stage::Map(c) | Stage::Filter(c) => c,
        }
    }
}

fn strip_pat_type(p: &Pat) -> &Pat {
    match p {
        Pat::Type(t) => strip_pat_type(&t.pat),
        Pat::Paren(p) => strip_pat_type(&p.pat),
        p => p,
    }
}

/// Whether an iterator expression is built on an integer range.
fn range_based(e: &syn::Expr) -> bool {
    match strip_parens(e) {
        syn::Expr::Range(_) => true,
        syn::Expr::MethodCall(m) => range_based(&m.receiver),
        _ => false,
    }
}

/// The body of `vec![elem; len]`.
fn parse_vec_repeat(input: syn::parse::ParseStream) -> syn::Result<(syn::Expr, syn::Expr)> {
    let elem: syn::Expr = input.parse()?;
    input.parse::<syn::Token![;]>()?;
    let len: syn::Expr = input.parse()?;
    Ok((elem, len))
}

/// The number of nested `[x; n]` / `vec![x; n]` in `e`, if it is one.
fn repeat_rank(e: &syn::Expr) -> Option<usize> {
    let (elem, _, _) = repeat_parts(strip_parens(e))?;
    Some(1 + repeat_rank(&elem).unwrap_or(0))
}

/// `[elem; len]` or `vec![elem; len]` (with `true`).
fn repeat_parts(e: &syn::Expr) -> Option<(syn::Expr, syn::Expr, bool)> {
    match e {
        syn::Expr::Repeat(r) => Some(((*r.expr).clone(), (*r.len).clone(), false)),
        syn::Expr::Macro(m) if m.mac.path.is_ident("vec") => {
            let (elem, len) = m.mac.parse_body_with(parse_vec_repeat).ok()?;
            Some((elem, len, true))
        }
        _ => None,
    }
}

/// `assert!(c, ...)` as `if !(c) { panic!(...) }`, `assert_eq!(a, b, ...)` as
/// `if !(a == b) { panic!(...) }`, and the `debug_` forms guarded by
/// `cfg!(debug_assertions)`; `None` for any other macro or an assertion that does not parse
/// (which then passes through for rustc to judge).
fn assertion(mac: &syn::Macro) -> Option<syn::Expr> {
    use syn::punctuated::Punctuated;
    let name = mac.path.get_ident()?.to_string();
    let (debug, kind) = match name.strip_prefix("debug_") {
        Some(rest) => (true, rest),
        None => (false, name.as_str()),
    };
    if !matches!(kind, "assert" | "assert_eq" | "assert_ne") {
        return None;
    }
    let args = mac
        .parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.into_iter();
    let (cond, what): (syn::Expr, String) = match kind {
        "assert" => {
            let c = args.next()?;
            let what = format!("assertion failed: {}", c.to_token_stream());
            (c, what)
        }
        _ => {
            let (a, b) = (args.next()?, args.next()?);
            let op = if kind == "assert_eq" { "==" } else { "!=" };
            let what = format!(
                "assertion `left {op} right` failed: {} {op} {}",
                a.to_token_stream(),
                b.to_token_stream()
            );
            if kind == "assert_eq" {
                (syn::parse_quote!(#a == #b), what)
            } else {
                (syn::parse_quote!(#a != #b), what)
            }
        }
    };
    let message: Vec<syn::Expr> = args.collect();
    // The panic's location is the assertion's.
    let at = mac.path.span();
    let panic = if message.is_empty() {
        quote_spanned!(at=> ::core::panic!("{}", #what))
    } else {
        quote_spanned!(at=> ::core::panic!("{}: {}", #what, ::core::format_args!(#(#message),*)))
    };
    let failed = if debug {
        quote!(::core::cfg!(debug_assertions) && !(#cond))
    } else {
        quote!(!(#cond))
    };
    Some(syn::parse_quote!(if #failed { #panic; }))
}

/// The span of the last token of `node`.
fn last_span(node: &dyn ToTokens) -> Span {
    node.to_token_stream()
        .into_iter()
        .last()
        .map_or_else(Span::call_site, |t| t.span())
}

/// Code as a person writes it: `&mut f64`, not `& mut f64`.
pub fn show(node: &dyn ToTokens) -> String {
    let mut s = node.to_token_stream().to_string();
    for (from, to) in [
        ("& ", "&"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" ;", ";"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" . ", "."),
        (" :: ", "::"),
        ("* ", "*"),
    ] {
        s = s.replace(from, to);
    }
    s.replace("mut[", "mut [")
}

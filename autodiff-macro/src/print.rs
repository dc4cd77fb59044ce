//! Printing model expressions back to Rust, with the fewest parentheses that keep precedence.
//!
//! Two modes: `Plain` prints `f64` code as the user wrote it (used by the reverse sweep for
//! conditions and values without derivatives); `Generic` prints code over a scalar type `S`,
//! lifting every float constant with `S::from_f64` and calling the `_generic` version of
//! callees.

use crate::infer::{is_active, type_of};
use crate::model::*;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Generic,
}

pub struct Printer<'a> {
    pub vars: &'a [Var],
    pub mode: Mode,
    /// The function's return shape (for `return` statements).
    pub ret: RetShape,
}

/// Binding strength, higher binds tighter.
fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => match op {
            BinOp::Mul | BinOp::Div | BinOp::Rem => 10,
            BinOp::Add | BinOp::Sub => 9,
            BinOp::Shl | BinOp::Shr => 8,
            BinOp::BitAnd => 7,
            BinOp::BitXor => 6,
            BinOp::BitOr => 5,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => 4,
            BinOp::And => 3,
            BinOp::Or => 2,
        },
        ExprKind::Cast(..) => 12,
        ExprKind::Unary(UnOp::Test(_), _) => 20,
        ExprKind::Unary(..) => 13,
        ExprKind::Opaque { .. } => 1,
        _ => 20,
    }
}

fn paren_if(cond: bool, t: TokenStream) -> TokenStream {
    if cond {
        quote!((#t))
    } else {
        t
    }
}

impl Printer<'_> {
    pub fn generic(&self) -> bool {
        self.mode == Mode::Generic
    }

    fn lift(&self, t: TokenStream, span: proc_macro2::Span) -> TokenStream {
        quote_spanned!(span=> S::from_f64(#t))
    }

    /// Whether the elements of array `v` are of the scalar type being printed: always in plain
    /// mode; in generic mode all but the `#[constant]` array parameters (data stays `f64`).
    pub fn is_scalar_array(&self, v: VarId) -> bool {
        !self.generic() || is_s_array(&self.vars[v])
    }

    /// A call goes to the `_generic` sibling when a derivative flows through it.
    fn call_is_generic(&self, args: &[Expr]) -> bool {
        self.generic()
            && args.iter().any(|a| {
                is_active(a, self.vars)
                    || matches!(array_argument(a, self.vars),
                        Ok(Some((v, _))) if self.vars[v].active)
            })
    }

    /// Prints `e`. `float` says the context needs a float (an `S` in generic mode).
    pub fn expr(&self, e: &Expr, float: bool) -> TokenStream {
        let span = e.span;
        let lift = float && self.generic();
        match &e.kind {
            ExprKind::Lit(l) => {
                let t = l.to_token_stream();
                if lift {
                    self.lift(t, span)
                } else {
                    t
                }
            }
            ExprKind::Var(v) => {
                let id = &self.vars[*v].ident;
                if lift && self.vars[*v].ty != Ty::Float {
                    self.lift(quote!(#id), span)
                } else {
                    quote!(#id)
                }
            }
            ExprKind::Path(p) => {
                if lift {
                    self.lift(p.to_token_stream(), span)
                } else {
                    p.to_token_stream()
                }
            }
            ExprKind::Opaque { tokens, .. } => {
                if lift {
                    self.lift(tokens.clone(), span)
                } else {
                    tokens.clone()
                }
            }
            ExprKind::Unary(UnOp::Test(test), a) => {
                let x = self.expr(a, self.generic() && type_of(a, self.vars) == Ty::Float);
                let x = paren_if(prec(a) < 20, x);
                let test = Ident::new(test, span);
                quote_spanned!(span=> #x.#test())
            }
            ExprKind::Unary(op, a) => {
                let inner = self.expr(a, float);
                // `-(-x)` stays as written: `--x` is a lint (`double_negations`).
                let nested = matches!(a.kind, ExprKind::Unary(UnOp::Neg, _));
                let inner = paren_if(prec(a) < 13 || (nested && *op == UnOp::Neg), inner);
                match op {
                    UnOp::Neg => quote_spanned!(span=> -#inner),
                    UnOp::Not => quote_spanned!(span=> !#inner),
                    UnOp::Test(_) => unreachable!("printed above"),
                }
            }
            ExprKind::Binary(op, a, b) => {
                let operand_float = if op.is_comparison() {
                    self.generic()
                        && (type_of(a, self.vars) == Ty::Float
                            || type_of(b, self.vars) == Ty::Float)
                } else if op.is_logic() {
                    false
                } else {
                    float
                };
                let p = prec(e);
                // Comparisons do not chain (`(a < b) == c`), and `x as T < y` or
                // `x as T << k` would read `<` as the start of generic arguments.
                let left_paren = prec(a) < p
                    || (op.is_comparison() && prec(a) == p)
                    || (matches!(a.kind, ExprKind::Cast(..))
                        && matches!(op, BinOp::Lt | BinOp::Shl));
                let l = paren_if(left_paren, self.expr(a, operand_float));
                let r = paren_if(prec(b) <= p, self.expr(b, operand_float));
                let o = op.tokens();
                quote!(#l #o #r)
            }
            ExprKind::Rule {
                rule,
                args,
                int_arg,
            } => {
                let arg_float = float || type_of(e, self.vars) == Ty::Float;
                let method = format_ident!("{}", rule.name, span = span);
                let recv = paren_if(prec(&args[0]) < 20, self.expr(&args[0], arg_float));
                let rest = args[1..].iter().map(|a| self.expr(a, arg_float));
                let int = int_arg.iter().map(|i| self.expr(i, false));
                quote!(#recv.#method(#(#rest,)* #(#int)*))
            }
            ExprKind::Call { path, args } => {
                let method = is_method_call(path, args, self.vars);
                if self.call_is_generic(args) {
                    let callee = sibling_path(path, "", "_generic");
                    let args = args.iter().enumerate().map(|(i, a)| {
                        let f = type_of(a, self.vars) == Ty::Float;
                        let printed = self.expr(a, f);
                        match array_argument(a, self.vars) {
                            // An array of `f64` where the callee may take `S`s: a copy as
                            // whichever the callee's parameter is.
                            Ok(Some((v, range)))
                                if !self.vars[v].active
                                    && self.vars[v].ty == Ty::FloatArray(1)
                                    && matches!(self.vars[v].kind, VarKind::Param { .. }) =>
                            {
                                let var = &self.vars[v];
                                let (id, ty) = (&var.ident, var.written_ty.as_ref());
                                let is_ref = matches!(ty, Some(syn::Type::Reference(_)));
                                let fixed = match ty {
                                    Some(syn::Type::Reference(r)) => {
                                        matches!(&*r.elem, syn::Type::Array(_))
                                    }
                                    t => matches!(t, Some(syn::Type::Array(_))),
                                };
                                if fixed && range.is_none() {
                                    // `[f64; N]` stays an array of `N`: passed as written
                                    // (`c`) it is by value, as `&c` (or a reference `c`) by
                                    // reference.
                                    let src = if is_ref { quote!(#id) } else { quote!(&#id) };
                                    let lifted = quote!(::autodiff::__private::lift_array(#src));
                                    let by_ref = is_ref || !matches!(a.kind, ExprKind::Var(_));
                                    if by_ref {
                                        quote!(&#lifted)
                                    } else {
                                        lifted
                                    }
                                } else {
                                    quote!(&*::autodiff::__private::lift_slice(&(#printed)[..]))
                                }
                            }
                            // A local array that carries no derivative, passed by reference:
                            // its values, as whichever the callee's parameter takes (`S`, or
                            // `f64` for a `#[constant]` one).
                            Ok(Some((v, _)))
                                if !self.vars[v].active
                                    && self.vars[v].ty == Ty::FloatArray(1)
                                    && !matches!(a.kind, ExprKind::Var(_)) =>
                            {
                                quote!(&*::autodiff::__private::relift_slice(&(#printed)[..]))
                            }
                            // A `const`, a field or a user's value, whose type the macro
                            // does not know: an `f64` becomes an `S`, the rest passes as is.
                            Ok(None)
                                if (!method || i > 0)
                                    && !matches!(
                                        type_of(a, self.vars),
                                        Ty::Float | Ty::Int | Ty::Bool | Ty::FloatArray(_)
                                    ) =>
                            {
                                // Only one of the two traits is used at each call.
                                quote_spanned!(a.span=> {
                                    #[allow(unused_imports)]
                                    use ::autodiff::__private::{FloatArg as _, OtherArg as _};
                                    ::autodiff::__private::Arg::new(#printed).lift_arg::<S>()
                                })
                            }
                            _ => printed,
                        }
                    });
                    call_tokens(&callee, args.collect(), method, span)
                } else if self.generic() {
                    // No derivative flows through this call: evaluate the original function
                    // on the values (`Real::primal` of float arguments, which are `S` here).
                    let args = args.iter().map(|a| {
                        if type_of(a, self.vars) == Ty::Float && !is_constant_leaf(a) {
                            let v = self.expr(a, true);
                            quote!(::autodiff::Real::primal(#v))
                        } else {
                            self.expr(a, false)
                        }
                    });
                    let call = call_tokens(path, args.collect(), method, span);
                    if lift {
                        self.lift(call, span)
                    } else {
                        call
                    }
                } else {
                    let args = args.iter().map(|a| self.expr(a, false));
                    let call = call_tokens(path, args.collect(), method, span);
                    if lift {
                        self.lift(call, span)
                    } else {
                        call
                    }
                }
            }
            ExprKind::Index { var, index } => {
                let id = &self.vars[*var].ident;
                let idx = index.iter().map(|i| self.expr(i, false));
                let read = quote!(#id #([#idx])*);
                if lift && !self.is_scalar_array(*var) {
                    self.lift(read, span)
                } else {
                    read
                }
            }
            ExprKind::ArrayNew { elem, len, vec } => {
                let float = crate::infer::type_of(elem, self.vars) == Ty::Float;
                let elem = self.expr(elem, float);
                let len = self.expr(len, false);
                if *vec {
                    quote_spanned!(span=> ::std::vec![#elem; #len])
                } else {
                    quote_spanned!(span=> [#elem; #len])
                }
            }
            ExprKind::Cast(a, ty) => {
                let to_float = crate::lower::classify_type(ty) == Ty::Float;
                if to_float && type_of(a, self.vars) == Ty::Float {
                    // `x as f64` on an `f64`: a no-op.
                    return self.expr(a, float);
                }
                let from_float = type_of(a, self.vars) == Ty::Float;
                let cast = if from_float && !to_float && self.generic() {
                    // A float that carries no derivative (inference rejects the others) is an
                    // `S` here: its `f64` value is cast.
                    let inner = self.expr(a, true);
                    quote!(::autodiff::Real::primal(#inner) as #ty)
                } else {
                    let inner = paren_if(prec(a) < 12, self.expr(a, false));
                    quote!(#inner as #ty)
                };
                if lift {
                    self.lift(cast, span)
                } else {
                    cast
                }
            }
        }
    }
}

/// Whether a call of `Self::name` passes the receiver `self` first: a method call
/// `self.name(..)` (see `Lowering::lower_method`).
pub fn is_method_call(path: &syn::Path, args: &[Expr], vars: &[Var]) -> bool {
    path.segments.len() == 2
        && path.segments[0].ident == "Self"
        && matches!(args.first(), Some(Expr { kind: ExprKind::Var(v), .. }) if vars[*v].ident == "self")
}

/// `callee(args)`, or `self.name(rest)` for a method call whose first argument is `self`.
pub fn call_tokens(
    callee: &syn::Path,
    args: Vec<TokenStream>,
    method: bool,
    span: proc_macro2::Span,
) -> TokenStream {
    match (method, callee.segments.last()) {
        (true, Some(last)) => {
            let receiver = &args[0];
            let rest = &args[1..];
            quote_spanned!(span=> #receiver.#last(#(#rest),*))
        }
        _ => quote_spanned!(span=> #callee(#(#args),*)),
    }
}

/// Whether a float expression is a constant that needs no `S` in generic code.
fn is_constant_leaf(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Opaque { .. }
    )
}

/// `module::g` → `module::{prefix}g{suffix}`, keeping the user's spans for error messages.
pub fn sibling_path(path: &syn::Path, prefix: &str, suffix: &str) -> syn::Path {
    let mut p = path.clone();
    if let Some(last) = p.segments.last_mut() {
        let name = last.ident.to_string();
        last.ident = format_ident!(
            "{}{}{}",
            prefix,
            name.trim_start_matches("r#"),
            suffix,
            span = last.ident.span()
        );
    }
    p
}

/// Whether an array variable holds `S` elements in generic code.
pub fn is_s_array(v: &Var) -> bool {
    matches!(v.ty, Ty::FloatArray(_))
        && !matches!(
            v.kind,
            VarKind::Param {
                differentiated: false,
                ..
            }
        )
}

/// `ty` with every `f64` replaced by `S`.
pub fn substitute_f64(ty: &syn::Type) -> syn::Type {
    struct Sub;
    impl syn::visit_mut::VisitMut for Sub {
        fn visit_type_mut(&mut self, t: &mut syn::Type) {
            if let syn::Type::Path(p) = t {
                if p.qself.is_none() && p.path.is_ident("f64") {
                    *t = syn::parse_quote!(S);
                    return;
                }
            }
            syn::visit_mut::visit_type_mut(self, t);
        }
    }
    let mut ty = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Sub, &mut ty);
    ty
}

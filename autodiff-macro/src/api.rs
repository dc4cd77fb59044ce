//! The public siblings of an annotated function `f`: `f_jvp`, `f_vjp`, `f_grad` or
//! `f_jacobian`, and `f_hessian`. They are thin wrappers over the two generated bodies,
//! `f_generic` (forward mode through dual numbers) and `__f_pullback` (reverse mode).

use crate::forward::ret_type;
use crate::model::*;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

/// A generated function: its attributes and signature, and its body.
pub struct Generated {
    pub head: TokenStream,
    pub body: TokenStream,
}

impl Generated {
    pub fn full(&self) -> TokenStream {
        let (head, body) = (&self.head, &self.body);
        quote! {
            #[allow(dead_code, non_snake_case, clippy::all, clippy::pedantic)]
            #head { #body }
        }
    }

    /// The same signature with a body that is never run: emitted after a reported error so
    /// that callers of the siblings see that error rather than a cascade of missing items.
    pub fn stub(&self) -> TokenStream {
        let head = &self.head;
        quote! {
            #[allow(unused_variables, unreachable_code, non_snake_case)]
            #head {
                ::core::unreachable!("`#[differentiate]` reported an error for this function")
            }
        }
    }
}

fn siblings(f: &Function) -> Vec<Generated> {
    // A derivative with respect to an array has no place in a matrix of scalars; arrays of
    // data (`#[constant]`) are passed through.
    let arrays = f
        .params
        .iter()
        .any(|p| is_array(f, p) && is_differentiated(f, p));
    let mut out = vec![crate::forward::generic_fn(f), vjp(f)];
    if !f.inout.is_empty() {
        // Outputs through `&mut` arrays: forward and reverse mode, no gradient or matrices.
        out.push(jvp(f));
        if let RetShape::Array(n) = f.ret {
            out.push(zeros(f, n));
        }
        return out;
    }
    match f.ret {
        RetShape::Scalar => {
            out.push(grad(f));
            if !arrays {
                out.push(hessian(f));
            }
        }
        _ if !arrays => out.push(jacobian(f)),
        _ => {}
    }
    out.push(jvp(f));
    if let RetShape::Array(n) = f.ret {
        out.push(zeros(f, n));
    }
    out
}

/// `__f_zeros() -> [f64; M]` for a function returning `[f64; M]`: a caller that binds the
/// result (`let k = f(x);`) starts the result's adjoint from it, since only `f` knows `M`.
fn zeros(f: &Function, n: usize) -> Generated {
    let name = format_ident!("__{}_zeros", f.name);
    let vis = &f.vis;
    let n = lit(n);
    Generated {
        head: quote! {
            #[doc(hidden)]
            #[inline]
            #vis fn #name() -> [f64; #n]
        },
        body: quote!([0.0_f64; #n]),
    }
}

pub fn api_fns(f: &Function) -> TokenStream {
    siblings(f).iter().map(Generated::full).collect()
}

/// Stubs for every sibling (the pullback is private and has no callers outside generated code
/// that would compile anyway).
pub fn stubs(f: &Function) -> TokenStream {
    siblings(f)
        .iter()
        .filter(|g| !g.head.to_string().contains("impl Fn"))
        .map(Generated::stub)
        .collect()
}

fn is_differentiated(f: &Function, p: &Param) -> bool {
    matches!(
        f.vars[p.var].kind,
        VarKind::Param {
            differentiated: true,
            ..
        }
    )
}

fn is_array(f: &Function, p: &Param) -> bool {
    matches!(f.vars[p.var].ty, Ty::FloatArray(_))
}

/// Differentiated scalar parameters: the entries of the returned gradient.
fn scalar_slots(f: &Function) -> usize {
    f.params
        .iter()
        .filter(|p| is_differentiated(f, p) && !is_array(f, p))
        .count()
}

/// `&[f64; N]` (as opposed to a slice or a `Vec`).
fn is_fixed_array(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(r) => matches!(&*r.elem, syn::Type::Array(_)),
        t => matches!(t, syn::Type::Array(_)),
    }
}

/// A call of the sibling `name` of `f` with the arguments in parameter order (the receiver
/// first): `name(..)` beside a free function, `Self::name(..)` beside an associated function,
/// `self.name(..)` beside a method.
fn call_sibling(
    f: &Function,
    name: &Ident,
    scalar: Option<TokenStream>,
    args: &[TokenStream],
) -> TokenStream {
    // The scalar or adjoint type, then the const parameters, which the sibling declares too.
    // Passed even when nothing else is: a const parameter no argument's type fixes
    // (`fn f<const R: usize>(m: &[f64])`) must be given.
    let consts = f.const_args();
    let turbofish = match scalar {
        Some(t) => Some(quote!(::<#t #(, #consts)*>)),
        None if !consts.is_empty() => Some(quote!(::<#(#consts),*>)),
        None => None,
    };
    if f.receiver {
        let rest = &args[1..];
        quote!(self.#name #turbofish(#(#rest),*))
    } else if f.in_impl {
        quote!(Self::#name #turbofish(#(#args),*))
    } else {
        // At the attribute: if the function is in an `impl` after all, rustc's "cannot find
        // function" points at the `#[differentiate]` that needs `(method)`.
        let name = Ident::new(&name.to_string(), Span::call_site());
        quote!(#name #turbofish(#(#args),*))
    }
}

/// The documentation's link to the annotated function: `[`f`]`, or `[`Self::f`]` inside an
/// `impl` (where the plain name would not resolve).
fn link(f: &Function) -> String {
    if f.in_impl {
        format!("[`Self::{}`]", f.name)
    } else {
        format!("[`{}`]", f.name)
    }
}

/// `3`, not `3usize`, in generated code.
pub fn lit(n: usize) -> proc_macro2::Literal {
    proc_macro2::Literal::usize_unsuffixed(n)
}

fn mixed(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

fn adj_ty(ret: RetShape) -> TokenStream {
    ret_type(ret, quote!(f64))
}

/// The name of the buffer that goes with parameter `id`: `dx`, or `x_tangent` if `dx` is
/// taken.
fn shadow_ident(f: &Function, id: &Ident) -> Ident {
    let d = format!("d{id}");
    // `do` and `dyn` (of parameters `o` and `yn`) are keywords.
    let keyword = syn::parse_str::<Ident>(&d).is_err();
    let taken = f.params.iter().any(|p| f.vars[p.var].ident == d);
    if taken || keyword {
        format_ident!("{}_tangent", id)
    } else {
        format_ident!("d{}", id)
    }
}

/// The lifetime parameter of a reverse-mode wrapper whose parameters borrow, and the bound
/// of its backpropagator (which may keep those borrows).
fn lifetimes(f: &Function) -> (Option<TokenStream>, Option<TokenStream>) {
    let refs = f
        .params
        .iter()
        .any(|p| crate::reverse::has_reference(&p.ty));
    let lifetime = if refs { vec![quote!('ad)] } else { Vec::new() };
    (
        Some(f.generics(&lifetime)),
        crate::reverse::pullback_bound(f, None),
    )
}

fn decls_with_lifetimes(f: &Function) -> Vec<TokenStream> {
    f.params
        .iter()
        .map(|p| {
            let id = &f.vars[p.var].ident;
            // A `&mut` array is lent for the call only.
            let ty = if f.is_inout(p.var) {
                p.ty.clone()
            } else {
                crate::reverse::with_lifetime(&p.ty)
            };
            quote!(#id: #ty)
        })
        .collect()
}

fn vjp(f: &Function) -> Generated {
    let (_, args) = params(f);
    let decls = decls_with_lifetimes(f);
    let (lifetime, bound) = lifetimes(f);
    let n = lit(scalar_slots(f));
    let name = format_ident!("{}_vjp", f.name);
    let pullback = format_ident!("__{}_pullback", f.name);
    // A pullback generic over its adjoint type is given `f64` here.
    let adjoint = crate::reverse::lanes_pullback(f).then(|| quote!(f64));
    let vis = &f.vis;
    let ret = ret_type(f.ret, quote!(f64));
    let adj = adj_ty(f.ret);
    let mut slots = Vec::new();
    let mut grads = Vec::new();
    let mut buffers = Vec::new();
    let mut buffer_tys = Vec::new();
    let mut buffer_args = Vec::new();
    let mut checks = Vec::new();
    let mut lens = Vec::new();
    for (i, p) in f.params.iter().enumerate() {
        let id = &f.vars[p.var].ident;
        match (is_differentiated(f, p), is_array(f, p)) {
            (true, true) => {
                let b = shadow_ident(f, id);
                let ty = crate::reverse::shadow_type(&p.ty, true);
                let len = mixed(&format!("__len{i}"));
                lens.push(quote!(let #len = #id.len();));
                let msg = format!(
                    "{name}: the derivative buffer of `{id}` has length {{}} but `{id}` has length {{}}"
                );
                checks.push(quote!(::core::assert_eq!(#b.len(), #len, #msg, #b.len(), #len);));
                buffers.push(quote!(#b: #ty));
                buffer_tys.push(ty);
                buffer_args.push(quote!(::core::option::Option::Some(#b)));
            }
            (true, false) => {
                let g = mixed(&format!("__g{i}"));
                slots.push(quote!(#g));
                grads.push(g);
            }
            (false, true) => buffer_args.push(quote!(::core::option::Option::None)),
            (false, false) => slots.push(quote!(_)),
        }
    }
    let args: Vec<TokenStream> = args.iter().map(|a| quote!(#a)).collect();
    let call = call_sibling(f, &pullback, adjoint, &args);
    let doc = format!(
        "Reverse mode of {}: its value and the backpropagator. The backpropagator maps a \
         sensitivity of the output to the sensitivities of the differentiated scalar \
         parameters, and adds those of each differentiated array parameter into the buffer \
         passed for it. The forward sweep runs once, here; each call of the backpropagator \
         runs only the reverse sweep.",
        link(f)
    );
    Generated {
        head: quote! {
            #[doc = #doc]
            #[inline]
            #vis fn #name #lifetime(#(#decls),*)
                -> (#ret, impl Fn(#adj, #(#buffer_tys),*) -> [f64; #n] #bound)
        },
        body: {
            let (value, back, sensitivity) =
                (mixed("__value"), mixed("__back"), mixed("__sensitivity"));
            quote! {
                #(#lens)*
                let (#value, #back) = #call;
                (#value, move |#sensitivity: #adj, #(#buffers),*| {
                    #(#checks)*
                    let (#(#slots,)*) = #back(#sensitivity, #(#buffer_args),*);
                    [#(#grads),*]
                })
            }
        },
    }
}

fn grad(f: &Function) -> Generated {
    let n = scalar_slots(f);
    let name = format_ident!("{}_grad", f.name);
    let vjp = format_ident!("{}_vjp", f.name);
    let vis = &f.vis;
    let mut decls = Vec::new();
    let mut args = Vec::new();
    let mut buffers = Vec::new();
    let mut zeroing = Vec::new();
    for p in &f.params {
        let id = &f.vars[p.var].ident;
        let ty = &p.ty;
        decls.push(quote!(#id: #ty));
        args.push(quote!(#id));
        if is_differentiated(f, p) && is_array(f, p) {
            let b = shadow_ident(f, id);
            let bty = crate::reverse::shadow_type(&p.ty, true);
            decls.push(quote!(#b: #bty));
            buffers.push(quote!(&mut *#b));
            // Checked here too, so that the panic names this function and the caller's line.
            let msg = format!(
                "{name}: the derivative buffer of `{id}` has length {{}} but `{id}` has length {{}}"
            );
            zeroing.push(quote! {
                ::core::assert_eq!(#b.len(), #id.len(), #msg, #b.len(), #id.len());
                ::autodiff::__private::Zero::zero(&mut *#b);
            });
        }
    }
    // Names no user item has: a `const value` in scope would turn `value` into a pattern.
    let (v, back) = (mixed("__value"), mixed("__back"));
    let (ret, value) = if n == 0 && !buffers.is_empty() {
        (quote!(f64), quote!({ #back(1.0, #(#buffers),*); #v }))
    } else {
        let n = lit(n);
        (
            quote!((f64, [f64; #n])),
            quote!((#v, #back(1.0, #(#buffers),*))),
        )
    };
    let call = call_sibling(f, &vjp, None, &args);
    let doc = if buffers.is_empty() {
        format!(
            "Value and gradient of {} with respect to its {n} differentiated parameter(s), \
             from one reverse sweep.",
            link(f)
        )
    } else {
        format!(
            "Value and gradient of {}, from one reverse sweep: the derivatives with respect \
             to each differentiated array parameter are written into the buffer that follows it \
             (overwriting it), those with respect to differentiated scalars are returned.",
            link(f)
        )
    };
    let generics = f.generics(&[]);
    Generated {
        head: quote! {
            #[doc = #doc]
            #[inline]
            #[track_caller]
            #vis fn #name #generics(#(#decls),*) -> #ret
        },
        body: quote! {
            #(#zeroing)*
            let (#v, #back) = #call;
            #value
        },
    }
}

/// The Jacobian: one reverse sweep whose adjoints carry one lane per output when the pullback
/// is generic over its adjoint type, else one reverse sweep per output.
fn jacobian(f: &Function) -> Generated {
    let (decls, args) = params(f);
    let args: Vec<TokenStream> = args.iter().map(|a| quote!(#a)).collect();
    let outputs = f.ret.len();
    let n = lit(f.differentiated_params().len());
    let m = lit(outputs);
    let name = format_ident!("{}_jacobian", f.name);
    let vis = &f.vis;
    let back = mixed("__back");
    let (sweeps, body) = if crate::reverse::lanes_pullback(f) {
        let pullback = format_ident!("__{}_pullback", f.name);
        let units = (0..outputs).map(|i| {
            let i = lit(i);
            quote!(::autodiff::__private::Lanes::unit(#i))
        });
        let sensitivity = match f.ret {
            RetShape::Tuple(_) => quote!((#(#units,)*)),
            _ => quote!([#(#units),*]),
        };
        let mut slots = Vec::new();
        let mut columns = Vec::new();
        for (i, p) in f.params.iter().enumerate() {
            if is_differentiated(f, p) {
                let g = mixed(&format!("__g{i}"));
                slots.push(quote!(#g));
                columns.push(g);
            } else {
                slots.push(quote!(_));
            }
        }
        let rows = (0..outputs).map(|r| {
            let r = lit(r);
            quote!([#(#columns.0[#r]),*])
        });
        let call = call_sibling(
            f,
            &pullback,
            Some(quote!(::autodiff::__private::Lanes<#m>)),
            &args,
        );
        (
            format!("one reverse sweep that carries the {m} output sensitivities together"),
            quote! {
                let (_, #back) = #call;
                let (#(#slots,)*) = #back(#sensitivity);
                [#(#rows),*]
            },
        )
    } else {
        let vjp = format_ident!("{}_vjp", f.name);
        let call = call_sibling(f, &vjp, None, &args);
        let rows = (0..outputs).map(|i| {
            let unit = (0..outputs).map(|j| if i == j { quote!(1.0) } else { quote!(0.0) });
            match f.ret {
                RetShape::Tuple(_) => quote!(#back((#(#unit,)*))),
                _ => quote!(#back([#(#unit),*])),
            }
        });
        (
            format!("{m} reverse sweeps"),
            quote! {
                let (_, #back) = #call;
                [#(#rows),*]
            },
        )
    };
    let doc = format!(
        "The {m}×{n} Jacobian of {}: row i is the gradient of output i, from one forward \
         sweep and {sweeps}.",
        link(f)
    );
    let generics = f.generics(&[]);
    Generated {
        head: quote! {
            #[doc = #doc]
            #vis fn #name #generics(#(#decls),*) -> [[f64; #n]; #m]
        },
        body,
    }
}

fn jvp(f: &Function) -> Generated {
    let name = format_ident!("{}_jvp", f.name);
    let generic = format_ident!("{}_generic", f.name);
    let vis = &f.vis;
    let mut decls = Vec::new();
    let mut args = Vec::new();
    let mut seeds = Vec::new();
    let mut unseeds = Vec::new();
    for (i, p) in f.params.iter().enumerate() {
        let v = &f.vars[p.var];
        let id = &v.ident;
        let ty = &p.ty;
        decls.push(quote!(#id: #ty));
        let d = shadow_ident(f, id);
        if f.is_inout(p.var) {
            // Dual numbers in, and their values and tangents back out.
            let dty = crate::reverse::shadow_type(&p.ty, true);
            decls.push(quote!(#d: #dty));
            let seeded = mixed(&format!("__seeded{i}"));
            let msg =
                format!("{name}: the tangent of `{id}` has length {{}} but `{id}` has length {{}}");
            let seeding = if is_fixed_array(&p.ty) {
                quote!(seed_array(#id, #d))
            } else {
                quote!(seed_slice(#id, #d))
            };
            seeds.push(quote! {
                ::core::assert_eq!(#d.len(), #id.len(), #msg, #d.len(), #id.len());
                let mut #seeded = ::autodiff::__private::#seeding;
            });
            args.push(quote!(&mut #seeded));
            unseeds.push(
                quote!(::autodiff::__private::unseed(&#seeded[..], &mut #id[..], &mut #d[..]);),
            );
            continue;
        }
        match (is_differentiated(f, p), v.ty) {
            (true, Ty::FloatArray(_)) => {
                let dty = crate::reverse::shadow_type(&p.ty, false);
                decls.push(quote!(#d: #dty));
                let seeded = mixed(&format!("__seeded{i}"));
                let msg = format!(
                    "{name}: the tangent of `{id}` has length {{}} but `{id}` has length {{}}"
                );
                let by_ref = matches!(p.ty, syn::Type::Reference(_));
                let seeding = match (v.ty, by_ref) {
                    (Ty::FloatArray(2), _) => quote!(seed_rows(#id, #d)),
                    (_, false) => quote!(seed_array(&#id, #d)),
                    (_, true) if is_fixed_array(&p.ty) => quote!(seed_array(#id, #d)),
                    (_, true) => quote!(seed_slice(#id, #d)),
                };
                seeds.push(quote! {
                    ::core::assert_eq!(#d.len(), #id.len(), #msg, #d.len(), #id.len());
                    let #seeded = ::autodiff::__private::#seeding;
                });
                args.push(if by_ref {
                    quote!(&#seeded)
                } else {
                    quote!(#seeded)
                });
            }
            (true, _) => {
                decls.push(quote!(#d: f64));
                args.push(quote!(::autodiff::Dual::new(#id, [#d])));
            }
            (false, Ty::Float) => args.push(quote!(::autodiff::Dual::constant(#id))),
            (false, _) => args.push(quote!(#id)),
        }
    }
    let ret = ret_type(f.ret, quote!(f64));
    // The result under a name no parameter has (a `&mut` buffer named `r` is read after it).
    let r = mixed("__result");
    let split = match f.ret {
        RetShape::Scalar => quote!((#r.re, #r.eps[0])),
        RetShape::Tuple(m) => {
            let idx = (0..m).map(syn::Index::from);
            let idx2 = idx.clone();
            quote!(((#(#r.#idx.re,)*), (#(#r.#idx2.eps[0],)*)))
        }
        RetShape::Array(_) => quote!((#r.map(|d| d.re), #r.map(|d| d.eps[0]))),
        RetShape::Unit => quote!(),
    };
    let ret = match f.ret {
        RetShape::Unit => quote!(()),
        _ => quote!((#ret, #ret)),
    };
    let call = call_sibling(f, &generic, Some(quote!(::autodiff::Dual<f64, 1>)), &args);
    let doc = format!(
        "Forward mode of {}: its value and its directional derivative along the tangents \
         (each tangent follows its parameter), from one evaluation over dual numbers.",
        link(f)
    );
    let generics = f.generics(&[]);
    Generated {
        head: quote! {
            #[doc = #doc]
            #[inline]
            #[track_caller]
            #vis fn #name #generics(#(#decls),*) -> #ret
        },
        body: quote! {
            #(#seeds)*
            let #r = #call;
            #(#unseeds)*
            #split
        },
    }
}

fn hessian(f: &Function) -> Generated {
    let (decls, _) = params(f);
    let n = lit(f.differentiated_params().len());
    let name = format_ident!("{}_hessian", f.name);
    let generic = format_ident!("{}_generic", f.name);
    let vis = &f.vis;
    let mut slot = 0usize;
    let args = f.params.iter().map(|p| {
        let v = &f.vars[p.var];
        let id = &v.ident;
        if is_differentiated(f, p) {
            let i = lit(slot);
            slot += 1;
            quote!(::autodiff::__private::hessian_seed::<#n>(#id, #i))
        } else if v.ty == Ty::Float {
            quote!(::autodiff::__private::hessian_constant::<#n>(#id))
        } else {
            quote!(#id)
        }
    });
    let args: Vec<_> = args.collect();
    let call = call_sibling(
        f,
        &generic,
        Some(quote!(::autodiff::Dual<::autodiff::Dual<f64, #n>, #n>)),
        &args,
    );
    let doc = format!(
        "The {n}×{n} Hessian of {} with respect to its differentiated parameters, from one \
         evaluation over nested dual numbers.",
        link(f)
    );
    let generics = f.generics(&[]);
    Generated {
        head: quote! {
            #[doc = #doc]
            #vis fn #name #generics(#(#decls),*) -> [[f64; #n]; #n]
        },
        body: quote! {
            let r = #call;
            ::autodiff::__private::hessian_matrix(r)
        },
    }
}

/// `x: f64, n: usize, ...` as declared (without `mut`), and the argument list.
fn params(f: &Function) -> (Vec<TokenStream>, Vec<Ident>) {
    f.params
        .iter()
        .map(|p| {
            let id = f.vars[p.var].ident.clone();
            let ty = &p.ty;
            (quote!(#id: #ty), id)
        })
        .unzip()
}

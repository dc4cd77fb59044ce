//! Functions whose derivative the user supplies: `#[differentiate(partials = rule)]`.
//!
//! `rule::<S>(params...) -> (S, [S; K])` returns the value and the partial derivatives with respect
//! to the `K` differentiated parameters (its `f64` parameters are `S`, the others as declared). The
//! siblings use it instead of the body: the generic version applies the chain rule through
//! `autodiff::Real::apply` (so nesting gives higher derivatives when the rule is
//! itself differentiable), the pullback scales the partials.

use crate::model::*;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

fn rule_struct_name(f: &Function) -> syn::Ident {
    format_ident!("__{}_partials", f.name)
}

/// The rule's arguments for scalar type `T`: differentiated parameters from `args`, constant
/// floats lifted from `self`, others from `self`.
fn rule_args(f: &Function, scalar: TokenStream) -> Vec<TokenStream> {
    let mut k = 0usize;
    f.params
        .iter()
        .map(|p| {
            let v = &f.vars[p.var];
            let id = &v.ident;
            match (v.kind, v.ty) {
                (
                    VarKind::Param {
                        differentiated: true,
                        ..
                    },
                    _,
                ) => {
                    let i = crate::api::lit(k);
                    k += 1;
                    quote!(args[#i])
                }
                (_, Ty::Float) => quote!(<#scalar as ::autodiff::Real>::from_f64(self.#id)),
                _ => quote!(self.#id),
            }
        })
        .collect()
}

/// The struct that carries the non-differentiated arguments, and its `Partials` impl.
pub fn rule_struct(f: &Function) -> TokenStream {
    let name = rule_struct_name(f);
    let rule = f.partials.as_ref().expect("a custom function");
    let k = crate::api::lit(f.differentiated_params().len());
    let fields = f.params.iter().filter_map(|p| {
        let v = &f.vars[p.var];
        let id = &v.ident;
        let ty = &p.ty;
        match v.kind {
            VarKind::Param {
                differentiated: true,
                ..
            } => None,
            _ => Some(quote!(#id: #ty)),
        }
    });
    let args = rule_args(f, quote!(T));
    let vis = &f.vis;
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name { #(#fields),* }

        impl ::autodiff::Partials<#k> for #name {
            #[inline]
            fn eval<T: ::autodiff::Real>(&self, args: [T; #k]) -> (T, [T; #k]) {
                #rule::<T>(#(#args),*)
            }
        }
    }
}

/// The body of `f_generic`: `S::apply(&rule, [differentiated arguments])`.
pub fn generic_body(f: &Function) -> TokenStream {
    let name = rule_struct_name(f);
    let mut fields = Vec::new();
    let mut args = Vec::new();
    for p in &f.params {
        let v = &f.vars[p.var];
        let id = &v.ident;
        match (v.kind, v.ty) {
            (
                VarKind::Param {
                    differentiated: true,
                    ..
                },
                _,
            ) => args.push(quote!(#id)),
            (_, Ty::Float) => fields.push(quote!(#id: ::autodiff::Real::primal(#id))),
            _ => fields.push(quote!(#id)),
        }
    }
    quote!(<S as ::autodiff::Real>::apply(&#name { #(#fields),* }, [#(#args),*]))
}

/// The forward sweep and backpropagator of the pullback: the partials at the arguments, scaled
/// by the output sensitivity.
pub fn pullback_body(f: &Function) -> TokenStream {
    let rule = f.partials.as_ref().expect("a custom function");
    let args = f.params.iter().map(|p| {
        let id = &f.vars[p.var].ident;
        quote!(#id)
    });
    let mut k = 0usize;
    let outputs = f.params.iter().map(|p| {
        let v = &f.vars[p.var];
        if let VarKind::Param {
            differentiated: true,
            ..
        } = v.kind
        {
            let i = crate::api::lit(k);
            k += 1;
            quote!(sensitivity * partials[#i])
        } else {
            quote!(::autodiff::__private::Constant)
        }
    });
    quote! {
        let (value, partials) = #rule::<f64>(#(#args),*);
        (value, move |sensitivity: f64| (#(#outputs,)*))
    }
}

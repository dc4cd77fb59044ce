//! The `#[differentiate]` attribute of the `autodiff` crate.
//!
//! Users depend on `autodiff`, which re-exports this macro and documents the generated API.
//! The pipeline, one module per stage: [`lower`] (syntax → [`model`], reporting unsupported
//! code), [`infer`] (types and activity), then the emitters: [`forward`] (the generic version,
//! forward mode through dual numbers), [`reverse`] (the pullback, reverse mode as generated
//! source), and [`api`] (the public `_jvp`, `_vjp`, `_grad`, `_jacobian`, `_hessian`).
#![forbid(unsafe_code)]
// The model is built once per function at compile time: boxing its variants buys nothing.
#![allow(clippy::large_enum_variant)]

mod api;
mod args;
mod custom;
mod errors;
mod forward;
mod fuse;
mod infer;
mod lower;
mod model;
mod print;
mod reverse;
mod rules;
mod slices;
mod storage;

use proc_macro::TokenStream;
use quote::quote;

/// Generates derivative code for the annotated function at compile time; see the `autodiff`
/// crate's documentation for the generated API and the supported language.
#[proc_macro_attribute]
pub fn differentiate(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    expand(args, item).into()
}

fn expand(args: proc_macro2::TokenStream, mut item: syn::ItemFn) -> proc_macro2::TokenStream {
    let mut errors = errors::Errors::default();
    let args = if args.is_empty() {
        args::Args::default()
    } else {
        match syn::parse2::<args::Args>(args.clone()) {
            Ok(a) => a,
            Err(_) => {
                errors.at(
                    &args,
                    "`#[differentiate]` takes no arguments, `method` (an associated function \
                     without `self` inside an `impl`), or `partials = path` naming a function \
                     that returns the value and partial derivatives; mark data parameters with \
                     `#[constant]`",
                );
                args::Args::default()
            }
        }
    };
    let model = lower::lower(&item, args, &mut errors);
    strip_param_attrs(&mut item);
    let Some(mut model) = model else {
        let errs = errors.to_compile_errors();
        return quote!(#item #errs);
    };
    infer::infer(&mut model, &mut errors);
    if !errors.is_empty() {
        let errs = errors.to_compile_errors();
        let stubs = api::stubs(&model);
        return quote!(#item #errs #stubs);
    }
    fuse::fuse(&mut model);
    let pullback = slices::hoist(reverse::pullback_fn(&model));
    let api = api::api_fns(&model);
    quote! {
        // The function is the source of its siblings: using only `f_grad` is using `f`.
        #[allow(dead_code)]
        #item
        #pullback
        #api
    }
}

/// Removes our `#[constant]` markers so the original function compiles as written.
fn strip_param_attrs(item: &mut syn::ItemFn) {
    for input in &mut item.sig.inputs {
        if let syn::FnArg::Typed(pt) = input {
            pt.attrs
                .retain(|a| !a.path().is_ident(lower::CONSTANT_ATTR));
        }
    }
}

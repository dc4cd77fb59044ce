//! Errors collected over a whole function, so that one build reports them all.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// An error at one token.
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// An error underlining all of `node`.
    pub fn at(&mut self, node: &dyn ToTokens, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new_spanned(node, message));
    }

    /// An error underlining from `start` to `end`.
    pub fn range(&mut self, start: Span, end: Span, message: impl std::fmt::Display) {
        let a = proc_macro2::Punct::new('<', proc_macro2::Spacing::Alone);
        let b = proc_macro2::Punct::new('>', proc_macro2::Spacing::Alone);
        let mut a = proc_macro2::TokenTree::Punct(a);
        let mut b = proc_macro2::TokenTree::Punct(b);
        a.set_span(start);
        b.set_span(end);
        let tokens: TokenStream = [a, b].into_iter().collect();
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// One `compile_error!` per error, each at its own span.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

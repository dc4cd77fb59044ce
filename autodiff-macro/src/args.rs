//! The attribute's arguments: none, or `partials = path`.

use syn::parse::{Parse, ParseStream};

/// `#[differentiate(partials = my_rule)]`: `my_rule::<S>(params...) -> (S, [S; K])` gives the value
/// and the partial derivatives with respect to the `K` differentiated parameters, generically over
/// the scalar `S`, and is used instead of differentiating the body.
pub struct Args {
    pub partials: syn::Path,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: syn::Ident = input.parse()?;
        if key != "partials" {
            return Err(syn::Error::new(key.span(), "expected `partials = path`"));
        }
        input.parse::<syn::Token![=]>()?;
        let partials: syn::Path = input.parse()?;
        if !input.is_empty() {
            return Err(input.error("expected only `partials = path`"));
        }
        Ok(Args { partials })
    }
}

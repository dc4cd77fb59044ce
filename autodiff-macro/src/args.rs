//! The attribute's arguments: none, `method`, `partials = path`, or both separated by a comma.

use syn::parse::{Parse, ParseStream};

/// `#[differentiate(partials = my_rule)]`: `my_rule::<S>(params...) -> (S, [S; K])` gives the value
/// and the partial derivatives with respect to the `K` differentiated parameters, generically over
/// the scalar `S`, and is used instead of differentiating the body.
///
/// `#[differentiate(method)]`: the function is an associated function inside an `impl` block,
/// so its siblings call each other as `Self::name`. A proc macro sees only the function, not the
/// block around it; a receiver (`&self`) or a mention of `Self` says the same without the
/// argument.
#[derive(Default)]
pub struct Args {
    pub partials: Option<syn::Path>,
    /// The `method` keyword, as written (for errors at its span).
    pub method: Option<syn::Ident>,
}

/// Only a rule (or none): the arguments of a free function.
impl From<Option<syn::Path>> for Args {
    fn from(partials: Option<syn::Path>) -> Self {
        Args {
            partials,
            method: None,
        }
    }
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        loop {
            let key: syn::Ident = input.parse()?;
            if key == "partials" && args.partials.is_none() {
                input.parse::<syn::Token![=]>()?;
                args.partials = Some(input.parse()?);
            } else if key == "method" && args.method.is_none() {
                args.method = Some(key);
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    "expected `method` or `partials = path`",
                ));
            }
            if input.is_empty() {
                return Ok(args);
            }
            input.parse::<syn::Token![,]>()?;
            if input.is_empty() {
                return Ok(args);
            }
        }
    }
}

//! Source-transformation automatic differentiation for ordinary Rust functions.
#![forbid(unsafe_code)]

pub use autodiff_macro::differentiate;
pub use autodiff_runtime::*;

//! Runtime of the `autodiff` crate.
#![forbid(unsafe_code)]

mod shim;
pub use shim::{Dual, Real};

pub mod optim;

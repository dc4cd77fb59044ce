//! Runtime of the `autodiff` crate.
#![forbid(unsafe_code)]

pub mod optim;

//! ADBench objectives (bundle adjustment, Gaussian mixture model) and the Rosenbrock function, each as
//! a plain Rust function a user would write, a hand-written derivative, and the `num-dual` peer.
//!
//! Not a crate: tests, benches and examples include it with
//! `#[path = "../adbench/mod.rs"] mod adbench;`. Figures and commands: the README's "Benchmarks" section.
// Each including target uses a different subset of these items.
#![allow(dead_code)]

pub mod ba;
pub mod data;
pub mod gmm;
pub mod peer;
pub mod rosenbrock;
pub mod suite;

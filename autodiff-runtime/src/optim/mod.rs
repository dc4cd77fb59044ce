//! Hyper-stacked gradient descent: "Gradient Descent: The Ultimate Optimizer" (Chandra, Xie, Ragan-Kelley,
//! Meijer, NeurIPS 2022).
//!
//! A [`Stack`] is a list of optimizers: level 0 updates the weights, level `k + 1` updates the raw
//! hyperparameters of level `k`, and the top level's hyperparameters are constants. Write it as the paper
//! does: `Adam::default() / Sgd::new(1e-4) / Sgd::new(1e-4)`.
//!
//! The hypergradients are obtained by automatic differentiation of each optimizer's update rule: every rule
//! is written once, generically over [`Real`] ([`Optimizer::update`]), and the driver evaluates
//! it with [`Dual<f64, K>`](crate::Dual) seeded on the level's `K` raw hyperparameters. A new optimizer is
//! one implementation of [`Optimizer`] and stacks like the built-in ones.
//!
//! Built-in optimizers (raw hyperparameters → effective ones; defaults as in the reference implementation
//! `gdtuo` 1.0): [`Sgd`] (`α`, `μ`), [`SgdPerParam`] (one `α` per entry), [`AdaGrad`] (`α`), [`RMSProp`]
//! (`ρ = sqrt α`, `u = sq⁻¹ γ`), [`RMSPropAlpha`] (`ρ`), [`Adam`] (`α`, `u1 = sq⁻¹ β1`, `u2 = sq⁻¹ β2`),
//! [`AdamBaydin`] (`α`), with `sq(u) = (tanh u + 1)/2`.

mod adagrad;
mod adam;
mod error;
mod level;
mod rmsprop;
mod rule;
mod sgd;
mod stack;

pub use adagrad::AdaGrad;
pub use adam::{Adam, AdamBaydin, ADAM_EPS};
pub use error::Error;
pub use rmsprop::{RMSProp, RMSPropAlpha};
pub use rule::{Optimizer, RawArray};
pub use sgd::{Sgd, SgdPerParam};
pub use stack::{BoxedLevel, IntoLevel, LevelView, Stack};

use crate::Real;

/// The squashing map of bounded hyperparameters: `sq(u) = (tanh u + 1)/2`, from ℝ onto (0, 1).
///
/// Derivative `sq'(u) = (1 − tanh² u)/2` (obtained by the dual numbers, not written here).
///
/// ```
/// use autodiff_runtime::optim::{squash, unsquash};
/// assert!((squash(unsquash(0.9)) - 0.9).abs() < 1e-15);
/// assert!((squash(0.0f64) - 0.5).abs() < 1e-16);
/// ```
pub fn squash<T: Real>(u: T) -> T {
    (u.tanh() + T::one()) / T::from_f64(2.0)
}

/// The inverse of [`squash`]: `sq⁻¹(b) = atanh(2b − 1)`, for `b` in (0, 1).
pub fn unsquash(b: f64) -> f64 {
    (2.0 * b - 1.0).atanh()
}

//! RMSProp, with a tuned or a fixed decay.

use super::rule::Optimizer;
use super::{squash, unsquash};
use crate::Real;

/// RMSProp's rule, shared by [`RMSProp`] and [`RMSPropAlpha`]:
/// `s = γ·s_prev + (1 − γ)·g²`, `x' = x − α·g / sqrt(s + 1e-8)`; state `[s]`.
fn rmsprop_rule<T: Real>(alpha: T, gamma: T) -> impl Fn(T, T, &mut [T]) -> T {
    let one_minus_gamma = T::one() - gamma;
    let eps = T::from_f64(1e-8);
    move |x, g, state| {
        let s = gamma * state[0] + one_minus_gamma * (g * g);
        state[0] = s;
        x - alpha * g / (s + eps).sqrt()
    }
}

/// RMSProp with tuned step size and decay.
///
/// Raw hyperparameters `[ρ, u]` named `"alpha"`, `"gamma"`, with effective step `α = ρ²` and decay
/// `γ = sq(u) = (tanh u + 1)/2`; defaults `α = 0.01`, `γ = 0.99` (so `ρ = 0.1`, `u = atanh(0.98)`).
/// State `s = 0`. The current `s` depends on the live `γ`, so `γ` receives a hypergradient.
///
/// ```
/// use autodiff_runtime::optim::{RMSProp, Stack};
/// let stack = Stack::new(RMSProp::new(0.01, 0.99));
/// let raw = stack.level(0).raw();
/// assert!((raw[0] - 0.1).abs() < 1e-15);
/// let eff = stack.level(0).effective();
/// assert!((eff[0] - 0.01).abs() < 1e-15 && (eff[1] - 0.99).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RMSProp {
    alpha: f64,
    gamma: f64,
}

impl RMSProp {
    /// RMSProp with effective step size `alpha` (> 0) and decay `gamma` (in (0, 1)).
    pub fn new(alpha: f64, gamma: f64) -> Self {
        RMSProp { alpha, gamma }
    }
}

impl Default for RMSProp {
    /// `α = 0.01`, `γ = 0.99`.
    fn default() -> Self {
        RMSProp::new(0.01, 0.99)
    }
}

impl Optimizer for RMSProp {
    type Raw = [f64; 2];

    fn name(&self) -> &'static str {
        "RMSProp"
    }

    fn names(&self) -> &'static [&'static str] {
        &["alpha", "gamma"]
    }

    fn raw(&self) -> [f64; 2] {
        [self.alpha.sqrt(), unsquash(self.gamma)]
    }

    fn effective<T: Real>(&self, raw: &[T], eff: &mut [T]) {
        eff[0] = raw[0] * raw[0];
        eff[1] = squash(raw[1]);
    }

    fn state_len(&self) -> usize {
        1
    }

    fn update<T: Real>(&self, h: &[T], _t: u64) -> impl Fn(T, T, &mut [T]) -> T {
        rmsprop_rule(h[0], h[1])
    }
}

/// RMSProp tuning its step size only; the decay `γ` is a fixed constant.
///
/// Raw hyperparameter `[ρ]` (`"alpha"`), effective `α = ρ²`; defaults `α = 0.01`, `γ = 0.99`. State `s = 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RMSPropAlpha {
    alpha: f64,
    gamma: f64,
}

impl RMSPropAlpha {
    /// RMSProp with effective step size `alpha` (tuned) and fixed decay `gamma`.
    pub fn new(alpha: f64, gamma: f64) -> Self {
        RMSPropAlpha { alpha, gamma }
    }
}

impl Default for RMSPropAlpha {
    /// `α = 0.01`, `γ = 0.99`.
    fn default() -> Self {
        RMSPropAlpha::new(0.01, 0.99)
    }
}

impl Optimizer for RMSPropAlpha {
    type Raw = [f64; 1];

    fn name(&self) -> &'static str {
        "RMSPropAlpha"
    }

    fn names(&self) -> &'static [&'static str] {
        &["alpha"]
    }

    fn raw(&self) -> [f64; 1] {
        [self.alpha.sqrt()]
    }

    fn effective<T: Real>(&self, raw: &[T], eff: &mut [T]) {
        eff[0] = raw[0] * raw[0];
    }

    fn state_len(&self) -> usize {
        1
    }

    fn update<T: Real>(&self, h: &[T], _t: u64) -> impl Fn(T, T, &mut [T]) -> T {
        rmsprop_rule(h[0], T::from_f64(self.gamma))
    }
}

//! Adam, with tuned or fixed moment decays.

use super::rule::Optimizer;
use super::{squash, unsquash};
use crate::Real;

/// Adam's fixed ε, added to `sqrt(v̂)` and used as the initial `v`.
pub const ADAM_EPS: f64 = 1e-8;

/// Adam's rule, shared by [`Adam`] and [`AdamBaydin`]: `m = β1·m_prev + (1 − β1)·g`,
/// `v = β2·v_prev + (1 − β2)·g²`, `m̂ = m/(1 − β1^t)`, `v̂ = v/(1 − β2^t)`, `x' = x − α·m̂/(sqrt(v̂) + ε)`;
/// state `[m, v]`. The bias corrections are computed once per step.
fn adam_rule<T: Real>(alpha: T, beta1: T, beta2: T, t: u64) -> impl Fn(T, T, &mut [T]) -> T {
    let one = T::one();
    let t = T::from_f64(t as f64);
    let (one_minus_beta1, one_minus_beta2) = (one - beta1, one - beta2);
    let (correction1, correction2) = (one - beta1.powf(t), one - beta2.powf(t));
    let eps = T::from_f64(ADAM_EPS);
    move |x, g, state| {
        let m = beta1 * state[0] + one_minus_beta1 * g;
        let v = beta2 * state[1] + one_minus_beta2 * g * g;
        state[0] = m;
        state[1] = v;
        let m_hat = m / correction1;
        let v_hat = v / correction2;
        x - alpha * (m_hat / (v_hat.sqrt() + eps))
    }
}

/// Adam with tuned step size and moment decays.
///
/// Raw hyperparameters `[α, u1, u2]` named `"alpha"`, `"beta1"`, `"beta2"`, with effective
/// `β1 = sq(u1)`, `β2 = sq(u2)` where `sq(u) = (tanh u + 1)/2`; defaults `α = 1e-3`, `β1 = 0.9`,
/// `β2 = 0.999`; ε = 1e-8 fixed. State `m = 0`, `v = ε`; `t` counts this optimizer's steps from 1. The
/// current `m`, `v` depend on the live `β1`, `β2`, so both receive hypergradients.
///
/// ```
/// use autodiff_runtime::optim::{Adam, Sgd};
/// let stack = Adam::default() / Sgd::new(1e-4);
/// let eff = stack.level(0).effective();
/// assert!((eff[1] - 0.9).abs() < 1e-15 && (eff[2] - 0.999).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    alpha: f64,
    beta1: f64,
    beta2: f64,
}

impl Adam {
    /// Adam with step size `alpha` and decays `beta1`, `beta2` (each in (0, 1)).
    pub fn new(alpha: f64, beta1: f64, beta2: f64) -> Self {
        Adam {
            alpha,
            beta1,
            beta2,
        }
    }
}

impl Default for Adam {
    /// `α = 1e-3`, `β1 = 0.9`, `β2 = 0.999`.
    fn default() -> Self {
        Adam::new(1e-3, 0.9, 0.999)
    }
}

impl Optimizer for Adam {
    type Raw = [f64; 3];

    fn name(&self) -> &'static str {
        "Adam"
    }

    fn names(&self) -> &'static [&'static str] {
        &["alpha", "beta1", "beta2"]
    }

    fn raw(&self) -> [f64; 3] {
        [self.alpha, unsquash(self.beta1), unsquash(self.beta2)]
    }

    fn effective<T: Real>(&self, raw: &[T], eff: &mut [T]) {
        eff[0] = raw[0];
        eff[1] = squash(raw[1]);
        eff[2] = squash(raw[2]);
    }

    fn state_len(&self) -> usize {
        2
    }

    fn init_state(&self, state: &mut [f64]) {
        state[0] = 0.0;
        state[1] = ADAM_EPS;
    }

    fn update<T: Real>(&self, h: &[T], t: u64) -> impl Fn(T, T, &mut [T]) -> T {
        adam_rule(h[0], h[1], h[2], t)
    }
}

/// Adam tuning its step size only (Baydin et al.'s hypergradient Adam); `β1`, `β2`, ε are fixed.
///
/// Raw hyperparameter `[α]` (`"alpha"`), effective = raw; defaults as [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamBaydin {
    alpha: f64,
    beta1: f64,
    beta2: f64,
}

impl AdamBaydin {
    /// Adam with tuned step size `alpha` and fixed decays `beta1`, `beta2`.
    pub fn new(alpha: f64, beta1: f64, beta2: f64) -> Self {
        AdamBaydin {
            alpha,
            beta1,
            beta2,
        }
    }
}

impl Default for AdamBaydin {
    /// `α = 1e-3`, `β1 = 0.9`, `β2 = 0.999`.
    fn default() -> Self {
        AdamBaydin::new(1e-3, 0.9, 0.999)
    }
}

impl Optimizer for AdamBaydin {
    type Raw = [f64; 1];

    fn name(&self) -> &'static str {
        "AdamBaydin"
    }

    fn names(&self) -> &'static [&'static str] {
        &["alpha"]
    }

    fn raw(&self) -> [f64; 1] {
        [self.alpha]
    }

    fn state_len(&self) -> usize {
        2
    }

    fn init_state(&self, state: &mut [f64]) {
        state[0] = 0.0;
        state[1] = ADAM_EPS;
    }

    fn update<T: Real>(&self, h: &[T], t: u64) -> impl Fn(T, T, &mut [T]) -> T {
        adam_rule(h[0], T::from_f64(self.beta1), T::from_f64(self.beta2), t)
    }
}

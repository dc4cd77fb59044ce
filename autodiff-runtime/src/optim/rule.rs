//! The one trait an optimizer implements.

use std::fmt;

use crate::{Dual, Real};

/// A gradient-descent update rule whose scalar hyperparameters can themselves be tuned by gradient descent.
///
/// Implement this trait and the optimizer stacks like the built-in ones, at any level: the driver
/// ([`Stack`](super::Stack)) evaluates [`update`](Optimizer::update) with dual numbers seeded on the raw
/// hyperparameters and so obtains `∂x'/∂θ` — the hypergradients — by automatic differentiation of the rule
/// as written. Nothing is derived by hand.
///
/// The rule comes in two stages: [`update`](Optimizer::update) receives this step's effective
/// hyperparameters and step count and returns the per-element update `(x, g, state) ↦ x'`. Whatever does
/// not depend on the element (Adam's bias corrections `1 − β^t`) is computed once, in the first stage.
///
/// Three kinds of value reach the rule:
/// - the *raw* hyperparameters `θ` ([`Raw`](Optimizer::Raw), `[f64; K]`), what the level above updates by
///   gradient descent;
/// - the *effective* hyperparameters, the values the rule uses, computed from the raw ones by
///   [`effective`](Optimizer::effective) (identity by default; Adam squashes `u ↦ (tanh u + 1)/2`);
/// - the old value `x`, its gradient `g` and the state carried from the previous step, which are constants
///   (the detach rule): only what is computed from the effective hyperparameters within this step is live.
///
/// ```
/// use autodiff_runtime::optim::{Optimizer, Sgd, Stack};
/// use autodiff_runtime::Real;
///
/// /// SGD whose step size is `exp(λ)`: a positive step size, tuned on the log scale.
/// #[derive(Clone, Debug)]
/// struct LogSgd { log_alpha: f64 }
///
/// impl Optimizer for LogSgd {
///     type Raw = [f64; 1];
///     fn name(&self) -> &'static str { "LogSGD" }
///     fn names(&self) -> &'static [&'static str] { &["alpha"] }
///     fn raw(&self) -> [f64; 1] { [self.log_alpha] }
///     fn effective<T: Real>(&self, raw: &[T], eff: &mut [T]) { eff[0] = raw[0].exp(); }
///     fn update<T: Real>(&self, h: &[T], _t: u64) -> impl Fn(T, T, &mut [T]) -> T {
///         let alpha = h[0];
///         move |x, g, _state| x - alpha * g
///     }
/// }
///
/// // LogSGD on the weights, tuned by an SGD.
/// let mut stack = Stack::new(LogSgd { log_alpha: 0.1f64.ln() }) / Sgd::new(0.01);
/// let mut w = [3.0];
/// for _ in 0..3 {
///     stack.step(&mut w, |w, g| { g[0] = 2.0 * w[0]; w[0] * w[0] }).unwrap();
/// }
/// // L = w², w' = w − α·2w with α = e^λ: ∂L(w')/∂λ = 2w'·(−α·2w).
/// let alpha = stack.level(0).effective()[0];
/// assert!((alpha - stack.level(0).raw()[0].exp()).abs() < 1e-15);
/// assert!(alpha > 0.1, "the step size grew, as it should on a convex bowl");
/// ```
pub trait Optimizer: Clone + fmt::Debug + Send + Sync + 'static {
    /// The raw hyperparameters as an array `[f64; K]`; `K` is also the number of effective ones.
    type Raw: RawArray;

    /// Short name for display (`"SGD"`, `"Adam"`).
    fn name(&self) -> &'static str;

    /// Names of the `K` hyperparameters in order (`["alpha", "beta1", "beta2"]`). They name both the raw and
    /// the effective values, and they are the entries a [`SgdPerParam`](super::SgdPerParam) one level up
    /// refers to.
    fn names(&self) -> &'static [&'static str];

    /// The initial raw hyperparameters.
    fn raw(&self) -> Self::Raw;

    /// The effective hyperparameters computed from the raw ones (`eff.len() == raw.len()`). Generic so that
    /// the driver differentiates through it; the default is the identity.
    fn effective<T: Real>(&self, raw: &[T], eff: &mut [T]) {
        eff.copy_from_slice(raw);
    }

    /// Number of state values kept per updated element (Adam: 2, for `m` and `v`).
    fn state_len(&self) -> usize {
        0
    }

    /// Initial state of one element (`state.len() == self.state_len()`), e.g. Adam's `m = 0, v = ε`.
    fn init_state(&self, state: &mut [f64]) {
        state.fill(0.0);
    }

    /// The update rule of this step: given the effective hyperparameters `h` and this optimizer's own step
    /// count `t` (from 1), returns the update of one element, `(x, g, state) ↦ x'`, which also overwrites
    /// `state` (holding the previous state on entry, as constants) with the new state.
    ///
    /// `x` and `g` (the gradient of `x`) are constants. Write it once, generically: the driver calls it with
    /// `T = Dual<f64, K>` seeded on the raw hyperparameters.
    fn update<T: Real>(&self, h: &[T], t: u64) -> impl Fn(T, T, &mut [T]) -> T;
}

mod sealed {
    pub trait Sealed {}
    impl<const K: usize> Sealed for [f64; K] {}
}

/// The raw hyperparameter storage of an [`Optimizer`]: implemented for `[f64; K]` only.
///
/// It ties the count `K` to the dual number `Dual<f64, K>` the driver evaluates the rule with.
pub trait RawArray:
    sealed::Sealed + Copy + fmt::Debug + Send + Sync + 'static + AsRef<[f64]>
{
    /// `Dual<f64, K>`: one tangent slot per raw hyperparameter.
    #[doc(hidden)]
    type Dual: Real;

    /// Fills `out` with one dual per raw value, the i-th seeded with the unit tangent in slot i.
    #[doc(hidden)]
    fn seed(raw: &[f64], out: &mut Vec<Self::Dual>);

    /// Copies the tangent of `d` into `out` (`out.len() == K`).
    #[doc(hidden)]
    fn tangent(d: &Self::Dual, out: &mut [f64]);
}

impl<const K: usize> RawArray for [f64; K] {
    type Dual = Dual<f64, K>;

    fn seed(raw: &[f64], out: &mut Vec<Self::Dual>) {
        out.clear();
        out.extend(raw.iter().enumerate().map(|(i, &r)| Dual::variable(r, i)));
    }

    fn tangent(d: &Self::Dual, out: &mut [f64]) {
        out.copy_from_slice(&d.eps);
    }
}

//! Stochastic gradient descent, with and without momentum, and with one step size per entry.

use super::rule::Optimizer;
use crate::Real;

/// Gradient descent: `x' = x − α·g`; with momentum, `b = g` on the first step, then `b = μ·b_prev + g`,
/// and `x' = x − α·b`.
///
/// Raw hyperparameters `[α, μ]` (names `"alpha"`, `"mu"`), effective = raw, defaults `α = 0.01`, `μ = 0`.
/// Momentum is on if and only if the constructor's `μ` is nonzero; this is decided once, so a level above
/// that later drives `μ` to 0 leaves momentum on, and with momentum off `μ` is unused (its hypergradient
/// is 0).
///
/// Hypergradients (by the driver's dual numbers): `∂x'/∂α = −g` (or `−b`), `∂x'/∂μ = −α·b_prev`.
///
/// ```
/// use autodiff_runtime::optim::{Sgd, Stack};
/// // Minimise (w − 3)² with SGD/SGD: the step size adapts.
/// let mut stack = Sgd::new(0.1) / Sgd::new(0.01);
/// let mut w = [0.0];
/// for _ in 0..50 {
///     stack.step(&mut w, |w, g| { g[0] = 2.0 * (w[0] - 3.0); (w[0] - 3.0).powi(2) }).unwrap();
/// }
/// assert!((w[0] - 3.0).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    alpha: f64,
    mu: f64,
    momentum: bool,
}

impl Sgd {
    /// SGD without momentum, step size `alpha`.
    pub fn new(alpha: f64) -> Self {
        Sgd {
            alpha,
            mu: 0.0,
            momentum: false,
        }
    }

    /// SGD with momentum coefficient `mu`; momentum is on if and only if `mu != 0`.
    pub fn with_momentum(alpha: f64, mu: f64) -> Self {
        Sgd {
            alpha,
            mu,
            momentum: mu != 0.0,
        }
    }

    /// Whether momentum is on (decided at construction).
    pub fn has_momentum(&self) -> bool {
        self.momentum
    }
}

impl Default for Sgd {
    /// `α = 0.01`, no momentum.
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

impl Optimizer for Sgd {
    type Raw = [f64; 2];

    fn name(&self) -> &'static str {
        "SGD"
    }

    fn names(&self) -> &'static [&'static str] {
        &["alpha", "mu"]
    }

    fn raw(&self) -> [f64; 2] {
        [self.alpha, self.mu]
    }

    fn state_len(&self) -> usize {
        usize::from(self.momentum)
    }

    /// Uses `h[0] = α`, and `h[1] = μ` only with momentum (so it may be called with `h = [α]` without).
    fn update<T: Real>(&self, h: &[T], t: u64) -> impl Fn(T, T, &mut [T]) -> T {
        let alpha = h[0];
        let mu = if self.momentum { h[1] } else { T::zero() };
        let momentum = self.momentum;
        move |x, g, state| {
            if momentum {
                let b = if t == 1 { g } else { state[0] * mu + g };
                state[0] = b;
                x - b * alpha
            } else {
                x - g * alpha
            }
        }
    }
}

/// SGD with one step size per named entry of the level below: `x_i' = x_i − α_e·g_i` for `i` in entry `e`;
/// entries without a step size pass through unchanged.
///
/// The entries of the weights are declared with [`Stack::with_weight_entries`](super::Stack::with_weight_entries)
/// (by default one entry `"w"` covering all weights); the entries of a higher level are the raw
/// hyperparameters of the level below, by name (`"alpha"`, `"beta1"`, …). The raw hyperparameter for entry
/// `e` is named `"e_alpha"`. The update is [`Sgd`]'s rule, applied per entry.
///
/// ```
/// use autodiff_runtime::optim::{Sgd, SgdPerParam};
/// // SGD with momentum; only its step size is tuned, μ passes through unchanged.
/// let stack = Sgd::with_momentum(0.1, 0.5) / SgdPerParam::new([("alpha", 1e-3)]);
/// assert_eq!(stack.level(1).names(), ["alpha_alpha"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SgdPerParam {
    steps: Vec<(String, f64)>,
}

impl SgdPerParam {
    /// One `(entry name, step size)` pair per tuned entry.
    pub fn new<S: Into<String>>(steps: impl IntoIterator<Item = (S, f64)>) -> Self {
        SgdPerParam {
            steps: steps.into_iter().map(|(n, a)| (n.into(), a)).collect(),
        }
    }

    /// The `(entry name, step size)` pairs.
    pub fn steps(&self) -> &[(String, f64)] {
        &self.steps
    }
}

//! AdaGrad.

use super::rule::Optimizer;
use crate::Real;

/// AdaGrad: `G = G_prev + g²`, `x' = x − α·g / sqrt(G + 1e-10)`, with `G = 0.1` at the start.
///
/// Raw hyperparameter `[α]` (`"alpha"`, default 0.01), effective = raw. `G` does not depend on `α`, so the
/// denominator is a constant for the hypergradient: `∂x'/∂α = −g / sqrt(G + 1e-10)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaGrad {
    alpha: f64,
}

impl AdaGrad {
    /// AdaGrad with step size `alpha`.
    pub fn new(alpha: f64) -> Self {
        AdaGrad { alpha }
    }
}

impl Default for AdaGrad {
    /// `α = 0.01`.
    fn default() -> Self {
        AdaGrad::new(0.01)
    }
}

impl Optimizer for AdaGrad {
    type Raw = [f64; 1];

    fn name(&self) -> &'static str {
        "AdaGrad"
    }

    fn names(&self) -> &'static [&'static str] {
        &["alpha"]
    }

    fn raw(&self) -> [f64; 1] {
        [self.alpha]
    }

    fn state_len(&self) -> usize {
        1
    }

    fn init_state(&self, state: &mut [f64]) {
        state[0] = 0.1;
    }

    fn update<T: Real>(&self, h: &[T], _t: u64) -> impl Fn(T, T, &mut [T]) -> T {
        let alpha = h[0];
        let eps = T::from_f64(1e-10);
        move |x, g, state| {
            let big_g = state[0] + g * g;
            state[0] = big_g;
            x - alpha * g / (big_g + eps).sqrt()
        }
    }
}

//! The two-dimensional Rosenbrock function, the smallest objective of the suite.

use autodiff::differentiate;

/// `(1 − x)² + 100 (y − x²)²`, minimum 0 at `(1, 1)`. `#[differentiate]` generates
/// `rosenbrock_grad` and the rest beside it.
#[differentiate]
pub fn rosenbrock(x: f64, y: f64) -> f64 {
    let a = 1.0 - x;
    let b = y - x * x;
    a * a + 100.0 * b * b
}

/// Hand-written value and gradient of [`rosenbrock`]:
/// `∂f/∂x = −2(1 − x) − 400 x (y − x²)`, `∂f/∂y = 200 (y − x²)`.
pub fn rosenbrock_gradient(x: f64, y: f64) -> (f64, [f64; 2]) {
    let a = 1.0 - x;
    let b = y - x * x;
    let b200 = 200.0 * b;
    (a * a + 100.0 * b * b, [-2.0 * a - 2.0 * x * b200, b200])
}

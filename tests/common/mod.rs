//! Helpers shared by the runtime tests: finite differences and tolerance checks.
#![allow(dead_code)]

/// Five-point central difference `f'(x) ≈ (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h`.
/// Truncation error `h⁴ f⁽⁵⁾/30`, rounding error about `1.5 ε |f| / h`.
pub fn fd5(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (-f(x + 2.0 * h) + 8.0 * f(x + h) - 8.0 * f(x - h) + f(x - 2.0 * h)) / (12.0 * h)
}

/// Asserts `|got - want| <= tol · max(|want|, 1)`: relative for large values, absolute below 1.
#[track_caller]
pub fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
    let err = (got - want).abs();
    let bound = tol * want.abs().max(1.0);
    assert!(
        err <= bound,
        "{what}: got {got:e}, want {want:e}, error {err:e} > {bound:e}"
    );
}

/// Asserts two floats are the same value (bit-identical, or both NaN).
#[track_caller]
pub fn assert_same(got: f64, want: f64, what: &str) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{what}: got {got:e}, want exactly {want:e}"
    );
}

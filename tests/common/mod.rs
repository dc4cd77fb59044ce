//! Helpers shared by the tests: tolerances and independent derivative estimates.
#![allow(dead_code)]

/// Five-point central difference `f'(x) ≈ (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h`.
/// Truncation error `h⁴ f⁽⁵⁾/30`, rounding error about `1.5 ε |f| / h`.
pub fn fd5(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (-f(x + 2.0 * h) + 8.0 * f(x + h) - 8.0 * f(x - h) + f(x - 2.0 * h)) / (12.0 * h)
}

/// The step used for coordinate `x` by the gradient helpers: 1e-3, scaled by `|x|` above 1.
fn step(x: f64) -> f64 {
    1e-3 * x.abs().max(1.0)
}

/// Central-difference gradient of `f` at `x` ([`fd5`] along each coordinate).
pub fn numeric_gradient<const N: usize>(f: impl Fn([f64; N]) -> f64, x: [f64; N]) -> [f64; N] {
    core::array::from_fn(|i| {
        fd5(
            |t| {
                let mut y = x;
                y[i] = t;
                f(y)
            },
            x[i],
            step(x[i]),
        )
    })
}

/// Central-difference gradient of `f` with respect to a slice.
pub fn numeric_slice_gradient(f: impl Fn(&[f64]) -> f64, w: &[f64]) -> Vec<f64> {
    (0..w.len())
        .map(|i| {
            fd5(
                |t| {
                    let mut v = w.to_vec();
                    v[i] = t;
                    f(&v)
                },
                w[i],
                step(w[i]),
            )
        })
        .collect()
}

/// Central-difference derivative of a scalar function.
pub fn numeric_derivative(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    fd5(f, x, step(x))
}

/// Asserts `|got - want| <= tol · max(|want|, 1)`: relative for large values, absolute below 1.
#[track_caller]
pub fn check_close(got: f64, want: f64, tol: f64, what: &str) {
    let err = (got - want).abs();
    let bound = tol * want.abs().max(1.0);
    assert!(
        err <= bound,
        "{what}: got {got:e}, want {want:e}, error {err:e} > {bound:e}"
    );
}

/// [`check_close`] without a label.
#[track_caller]
pub fn assert_close(got: f64, want: f64, tol: f64) {
    check_close(got, want, tol, "value");
}

/// [`check_close`] element by element.
#[track_caller]
pub fn assert_all_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        check_close(*g, *w, tol, &format!("entry {i} of {got:?} vs {want:?}"));
    }
}

/// Asserts two floats are the same value (bit-identical, or both NaN).
#[track_caller]
pub fn assert_same(got: f64, want: f64, what: &str) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{what}: got {got:e}, want exactly {want:e}"
    );
}

/// The derivative of a function of `n` values along each unit vector, from its forward mode
/// (`jvp` maps a tangent to the directional derivative): a gradient to compare with reverse mode.
pub fn forward_gradient(jvp: impl Fn(&[f64]) -> f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let mut dw = vec![0.0; n];
            dw[i] = 1.0;
            jvp(&dw)
        })
        .collect()
}

/// Checks a function of one slice: `grad`'s value against `f` (1e-14), its gradient against
/// central differences of `f` (1e-8) and against the forward mode's `jvp` along each unit
/// vector (1e-12).
#[track_caller]
pub fn check_slice_function(
    w: &[f64],
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64], &mut [f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> f64,
) {
    let mut g = vec![0.0; w.len()];
    let v = grad(w, &mut g);
    assert_close(v, f(w), 1e-14);
    assert_all_close(&g, &numeric_slice_gradient(&f, w), 1e-8);
    let fwd = forward_gradient(|dw| jvp(w, dw), w.len());
    assert_all_close(&fwd, &g, 1e-12);
}

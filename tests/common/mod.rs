//! Helpers shared by the behaviour tests: tolerances and independent derivative estimates.
#![allow(dead_code)]

/// Asserts `|a - b| <= tol * max(1, |a|, |b|)`: relative for large values, absolute near zero.
#[track_caller]
pub fn assert_close(a: f64, b: f64, tol: f64) {
    let scale = 1.0_f64.max(a.abs()).max(b.abs());
    assert!(
        (a - b).abs() <= tol * scale,
        "{a} and {b} differ by {} (tolerance {tol} relative)",
        (a - b).abs()
    );
}

#[track_caller]
pub fn assert_all_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let scale = 1.0_f64.max(x.abs()).max(y.abs());
        assert!(
            (x - y).abs() <= tol * scale,
            "entry {i}: {x} and {y} differ by {} (tolerance {tol} relative)\n  left:  {a:?}\n  right: {b:?}",
            (x - y).abs()
        );
    }
}

/// Central-difference gradient of `f` at `x` with a fourth-order stencil
/// (error O(h⁴), h scaled to each coordinate).
pub fn numeric_gradient<const N: usize>(f: impl Fn([f64; N]) -> f64, x: [f64; N]) -> [f64; N] {
    let mut g = [0.0; N];
    for i in 0..N {
        let h = 1e-3 * x[i].abs().max(1.0);
        let at = |k: f64| {
            let mut y = x;
            y[i] += k * h;
            f(y)
        };
        g[i] = (-at(2.0) + 8.0 * at(1.0) - 8.0 * at(-1.0) + at(-2.0)) / (12.0 * h);
    }
    g
}

/// Central-difference derivative of a scalar function (fourth-order stencil).
pub fn numeric_derivative(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    numeric_gradient(|v: [f64; 1]| f(v[0]), [x])[0]
}

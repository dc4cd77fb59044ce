//! `#[differentiate]` on scalar functions: every construct of the supported language, checked
//! against closed forms, fourth-order central differences, and forward mode against reverse.
#![deny(warnings)]
// Some functions are written to exercise the language (`!(y > 1.0)`, `return` in a match arm).
#![allow(
    clippy::nonminimal_bool,
    clippy::neg_cmp_op_on_partial_ord,
    clippy::needless_return
)]

mod common;
use autodiff::differentiate;
use common::*;

/// Forward and reverse mode must agree to this relative tolerance.
const MODES: f64 = 1e-12;
/// Fourth-order central differences with h = 1e-3 agree to about this.
const NUMERIC: f64 = 1e-8;

// ------------------------------------------------------------------ the talk's examples

#[differentiate]
fn square_plus_four(x: f64) -> f64 {
    3.0 * x * x + 4.0
}

#[differentiate]
fn product(x: f64, y: f64) -> f64 {
    x * y
}

#[test]
fn talk_examples() {
    for x in [-2.0, 0.0, 0.5, 3.0] {
        let (v, [d]) = square_plus_four_grad(x);
        assert_close(v, 3.0 * x * x + 4.0, MODES);
        assert_close(d, 6.0 * x, MODES);
        let (v2, d2) = square_plus_four_jvp(x, 1.0);
        assert_close(v2, v, MODES);
        assert_close(d2, 6.0 * x, MODES);
    }
    let (v, g) = product_grad(3.0, 5.0);
    assert_eq!(v, 15.0);
    assert_eq!(g, [5.0, 3.0]);
    assert_eq!(product_hessian(3.0, 5.0), [[0.0, 1.0], [1.0, 0.0]]);
}

// ------------------------------------------------------------------ bindings and arithmetic

const SCALE: f64 = 1.5;

#[differentiate]
fn bindings(x: f64, y: f64) -> f64 {
    let a = x * y;
    let b: f64 = a - 2.0 * x;
    let mut c = b / y;
    c += a;
    c -= 1e-3 * x;
    c *= y;
    c /= x + 4.0;
    let d = {
        let inner = c * c;
        inner + SCALE
    };
    let x = x * 2f64; // shadows the parameter
    let __t1 = x + d; // named like the macro's temporaries
    let __adj_x = -__t1;
    -__adj_x % 7.0 + std::f64::consts::PI * x
}

fn bindings_plain(x: f64, y: f64) -> f64 {
    let a = x * y;
    let b = a - 2.0 * x;
    let mut c = b / y;
    c += a;
    c -= 1e-3 * x;
    c *= y;
    c /= x + 4.0;
    let d = c * c + SCALE;
    let x2 = x * 2.0;
    (x2 + d) % 7.0 + std::f64::consts::PI * x2
}

/// A variable updated by itself: `y *= y`, `y /= y` (the value's adjoint is the target's), in straight-line code, a branch and a loop (exponentiation by squaring).
#[differentiate]
fn self_updates(x: f64, mut e: u32) -> f64 {
    let mut y = x;
    y *= y;
    let mut z = 3.0 * x;
    z /= z;
    let mut w = x + 1.0;
    if x > 0.0 {
        w *= w;
    }
    let mut base = x;
    let mut p = 1.0;
    while e > 0 {
        if e % 2 == 1 {
            p *= base;
        }
        base *= base;
        e /= 2;
    }
    y + z + w + p
}

#[test]
fn variables_updated_by_themselves() {
    // y = x², z = 1, w = (x + 1)² for x > 0, p = x^e.
    let closed = |x: f64, e: i32| {
        2.0 * x + if x > 0.0 { 2.0 * (x + 1.0) } else { 1.0 } + e as f64 * x.powi(e - 1)
    };
    for (x, e) in [(2.0, 4), (1.3, 5), (-0.7, 3), (0.4, 0)] {
        let (v, [g]) = self_updates_grad(x, e as u32);
        assert_close(v, self_updates(x, e as u32), 1e-15);
        assert_close(g, closed(x, e), 1e-13);
        assert_close(self_updates_jvp(x, 1.0, e as u32).1, g, MODES);
    }
}

/// Assertions and prints as users write them in a model: comparisons with float literals
/// inside `assert!`, a message with arguments, `debug_assert!`, `assert_eq!` on integers.
#[differentiate]
fn checked_log(x: f64, n: usize) -> f64 {
    assert!(x > 0.0, "log of a non-positive number {}", x);
    debug_assert!(x.is_finite() && x < 1e300);
    assert_eq!(n % 2, 0, "n must be even");
    assert_ne!(x, 0.5);
    let y = x.ln() * n as f64;
    if y > 1e6 {
        println!("large value {y} at x = {}", x);
    }
    y
}

#[test]
fn assertions_and_prints_in_differentiated_code() {
    for x in [0.3, 2.0, 7.5] {
        let (v, [g]) = checked_log_grad(x, 4);
        assert_close(v, 4.0 * x.ln(), 1e-15);
        assert_close(g, 4.0 / x, 1e-15);
        assert_close(checked_log_jvp(x, 1.0, 4).1, g, MODES);
        assert_close(checked_log_hessian(x, 4)[0][0], -4.0 / (x * x), 1e-14);
    }
    for bad in [
        std::panic::catch_unwind(|| checked_log_grad(-1.0, 4)),
        std::panic::catch_unwind(|| checked_log_grad(2.0, 3)),
        std::panic::catch_unwind(|| checked_log_grad(0.5, 4)),
    ] {
        assert!(
            bad.is_err(),
            "a failed assertion must panic in the gradient too"
        );
    }
    // The message is the user's, with the values of the mode that failed (a dual number prints
    // its tangent after the value).
    let message = std::panic::catch_unwind(|| checked_log_jvp(-1.0, 1.0, 4))
        .expect_err("the forward mode asserts too")
        .downcast::<String>()
        .expect("a formatted message");
    assert!(
        message.starts_with("assertion failed: x > 0.0: log of a non-positive number -1"),
        "{message}"
    );
}

/// A value whose `if`/`match` has a branch that returns, and tests of floats (`is_nan`,
/// `is_finite`, ...) in conditions, in both call forms.
#[differentiate]
fn guarded(x: f64, k: usize) -> f64 {
    let t = if x > -1.0 {
        x * x
    } else {
        return 0.0;
    };
    let u = match k {
        0 => t.sin(),
        1 => t * x,
        _ => return x,
    };
    let mut v = 1.0;
    v = if x.is_finite() && !f64::is_nan(u) {
        v * u + t
    } else {
        return -x;
    };
    if x.is_sign_negative() || u.is_infinite() {
        v *= 2.0;
    }
    v
}

#[test]
fn early_returns_in_values_and_float_tests() {
    let plain = |x: f64, k: usize| {
        if x <= -1.0 {
            return 0.0;
        }
        let t = x * x;
        let u = match k {
            0 => t.sin(),
            1 => t * x,
            _ => return x,
        };
        (u + t) * if x < 0.0 { 2.0 } else { 1.0 }
    };
    for k in 0..3 {
        for x in [-1.5, -0.4, 0.7, 1.9] {
            let (v, [g]) = guarded_grad(x, k);
            assert_close(v, plain(x, k), 1e-15);
            assert_close(g, numeric_derivative(|x| plain(x, k), x), NUMERIC);
            assert_close(guarded_jvp(x, 1.0, k).1, g, MODES);
        }
    }
}

/// Tuple `let`s: written-out values, mutable names, a written tuple type, both `sin_cos` forms.
#[differentiate]
fn tuple_lets(x: f64, y: f64) -> f64 {
    let (a, mut b) = (x * y, y - x);
    b *= a;
    let (s, c) = x.sin_cos();
    let (s2, c2): (f64, f64) = f64::sin_cos(y);
    let (p, _, q) = (s * c2, 0.0, c * s2);
    a + b + p - q
}

#[test]
fn tuple_lets_are_one_let_per_name() {
    let plain = |x: f64, y: f64| {
        let a = x * y;
        let b = (y - x) * a;
        a + b + x.sin() * y.cos() - x.cos() * y.sin()
    };
    for (x, y) in [(0.7, 1.3), (-1.1, 2.5)] {
        let (v, g) = tuple_lets_grad(x, y);
        assert_close(v, plain(x, y), 1e-15);
        let num = numeric_gradient(|p| plain(p[0], p[1]), [x, y]);
        assert_all_close(&g, &num, NUMERIC);
        let (_, dx) = tuple_lets_jvp(x, 1.0, y, 0.0);
        assert_close(dx, g[0], MODES);
    }
}

#[test]
fn bindings_shadowing_and_compound_assignment() {
    for (x, y) in [(0.7, 1.3), (-1.1, 2.5), (2.0, -0.4)] {
        let (v, g) = bindings_grad(x, y);
        assert_close(v, bindings_plain(x, y), 1e-15);
        let num = numeric_gradient(|p| bindings_plain(p[0], p[1]), [x, y]);
        assert_all_close(&g, &num, NUMERIC);
        let (_, dx) = bindings_jvp(x, 1.0, y, 0.0);
        let (_, dy) = bindings_jvp(x, 0.0, y, 1.0);
        assert_all_close(&[dx, dy], &g, MODES);
    }
}

// ------------------------------------------------------------------ the rule table, both call forms

#[differentiate]
fn unary_methods(x: f64) -> f64 {
    x.sin()
        + x.cos()
        + x.tan()
        + (x / 4.0).asin()
        + (x / 4.0).acos()
        + x.atan()
        + x.sinh()
        + x.cosh()
        + x.tanh()
        + x.asinh()
        + (x * x + 1.5).acosh()
        + (x / 4.0).atanh()
        + x.exp()
        + x.exp2()
        + x.exp_m1()
        + (x * x + 1.0).ln()
        + (x * x + 1.0).log2()
        + (x * x + 1.0).log10()
        + (x * x).ln_1p()
        + (x * x + 0.5).sqrt()
        + x.cbrt()
        + x.recip()
        + x.abs()
        + x.powi(3)
        + (x * x + 1.0).powf(x)
        + x.hypot(2.0)
        + x.atan2(0.5)
        + (x * x + 1.0).log(3.0)
        + x.mul_add(x, 2.0)
}

#[differentiate]
fn path_calls(x: f64) -> f64 {
    f64::sin(x)
        + f64::cos(x)
        + f64::tan(x)
        + f64::asin(x / 4.0)
        + f64::acos(x / 4.0)
        + f64::atan(x)
        + f64::sinh(x)
        + f64::cosh(x)
        + f64::tanh(x)
        + f64::asinh(x)
        + f64::acosh(x * x + 1.5)
        + f64::atanh(x / 4.0)
        + f64::exp(x)
        + f64::exp2(x)
        + f64::exp_m1(x)
        + f64::ln(x * x + 1.0)
        + f64::log2(x * x + 1.0)
        + f64::log10(x * x + 1.0)
        + f64::ln_1p(x * x)
        + f64::sqrt(x * x + 0.5)
        + f64::cbrt(x)
        + f64::recip(x)
        + f64::abs(x)
        + f64::powi(x, 3)
        + f64::powf(x * x + 1.0, x)
        + f64::hypot(x, 2.0)
        + f64::atan2(x, 0.5)
        + f64::log(x * x + 1.0, 3.0)
        + f64::mul_add(x, x, 2.0)
}

fn unary_plain(x: f64) -> f64 {
    x.sin()
        + x.cos()
        + x.tan()
        + (x / 4.0).asin()
        + (x / 4.0).acos()
        + x.atan()
        + x.sinh()
        + x.cosh()
        + x.tanh()
        + x.asinh()
        + (x * x + 1.5).acosh()
        + (x / 4.0).atanh()
        + x.exp()
        + x.exp2()
        + x.exp_m1()
        + (x * x + 1.0).ln()
        + (x * x + 1.0).log2()
        + (x * x + 1.0).log10()
        + (x * x).ln_1p()
        + (x * x + 0.5).sqrt()
        + x.cbrt()
        + x.recip()
        + x.abs()
        + x.powi(3)
        + (x * x + 1.0).powf(x)
        + x.hypot(2.0)
        + x.atan2(0.5)
        + (x * x + 1.0).log(3.0)
        + x.mul_add(x, 2.0)
}

#[test]
fn every_rule_in_both_call_forms() {
    for x in [-1.3, -0.4, 0.3, 0.9, 1.2] {
        let (v, [d]) = unary_methods_grad(x);
        let (v2, [d2]) = path_calls_grad(x);
        assert_close(v, unary_plain(x), 1e-14);
        assert_close(v2, v, 1e-14);
        assert_close(d, numeric_derivative(unary_plain, x), NUMERIC);
        assert_close(d2, d, MODES);
        assert_close(unary_methods_jvp(x, 1.0).1, d, MODES);
    }
}

#[differentiate]
fn binary_rules(x: f64, y: f64) -> f64 {
    x.min(y) * 2.0
        + x.max(y)
        + x.clamp(-1.0, y)
        + y.powf(x)
        + x.atan2(y)
        + x.hypot(y)
        + y.log(x + 3.0)
        + x.mul_add(y, x)
        + x.copysign(y - 1.0) * f64::to_degrees(y) * x.to_radians()
}

#[test]
fn binary_rules_against_central_differences() {
    let plain = |p: [f64; 2]| {
        let (x, y) = (p[0], p[1]);
        x.min(y) * 2.0
            + x.max(y)
            + x.clamp(-1.0, y)
            + y.powf(x)
            + x.atan2(y)
            + x.hypot(y)
            + y.log(x + 3.0)
            + x.mul_add(y, x)
            + x.copysign(y - 1.0) * f64::to_degrees(y) * x.to_radians()
    };
    for p in [[0.3, 1.4], [1.2, 0.7], [-0.5, 2.0], [-1.5, 0.9]] {
        let (v, g) = binary_rules_grad(p[0], p[1]);
        assert_close(v, plain(p), 1e-14);
        assert_all_close(&g, &numeric_gradient(plain, p), NUMERIC);
    }
}

#[differentiate]
fn piecewise_constant(x: f64) -> f64 {
    x.floor() + x.ceil() + x.round() + x.trunc() + x.fract() + x.signum() * x
}

#[test]
fn piecewise_constant_rules() {
    for x in [-1.7, -0.2, 0.4, 2.6] {
        // floor, ceil, round, trunc have derivative 0; fract has 1; signum(x)·x has signum(x).
        let (_, [d]) = piecewise_constant_grad(x);
        assert_close(d, 1.0 + x.signum(), MODES);
    }
}

// ------------------------------------------------------------------ branches

#[differentiate]
fn piecewise(x: f64, y: f64) -> f64 {
    let mut r = 0.0;
    if x < 0.0 && y > 0.0 {
        r = x * y;
    } else if x >= 0.0 || !(y > 1.0) {
        r += x.exp() * y;
        if y < -1.0 {
            r *= y;
        }
    } else {
        r -= y.sin();
    }
    let s = if r > 1.0 {
        r.sqrt()
    } else if r < -1.0 {
        -(-r).sqrt()
    } else {
        r
    };
    s * x + if y > 0.0 { y } else { -y }
}

fn piecewise_plain(x: f64, y: f64) -> f64 {
    let mut r = 0.0;
    if x < 0.0 && y > 0.0 {
        r = x * y;
    } else if x >= 0.0 || y <= 1.0 {
        r += x.exp() * y;
        if y < -1.0 {
            r *= y;
        }
    } else {
        r -= y.sin();
    }
    let s = if r > 1.0 {
        r.sqrt()
    } else if r < -1.0 {
        -(-r).sqrt()
    } else {
        r
    };
    s * x + y.abs()
}

#[test]
fn if_else_statements_and_expressions() {
    for p in [
        [-0.5, 0.8],
        [0.7, 0.3],
        [0.4, -2.0],
        [1.5, 2.0],
        [-1.2, -0.5],
        [-0.3, 3.0],
    ] {
        let (v, g) = piecewise_grad(p[0], p[1]);
        assert_close(v, piecewise_plain(p[0], p[1]), 1e-15);
        let num = numeric_gradient(|q| piecewise_plain(q[0], q[1]), p);
        assert_all_close(&g, &num, NUMERIC);
        let (_, dx) = piecewise_jvp(p[0], 1.0, p[1], 0.0);
        assert_close(dx, g[0], MODES);
    }
}

#[differentiate]
fn early_return(x: f64, n: i32) -> f64 {
    if x > 2.0 {
        return x * x;
    }
    let y = x.sin();
    if n > 3 {
        return y * n as f64;
    }
    match n {
        0 => y + 1.0,
        1 | 2 => {
            let z = y * x;
            z * z
        }
        k if k < 0 => return -y,
        _ => y.exp(),
    }
}

#[test]
fn match_and_early_return() {
    let plain = |x: f64, n: i32| -> f64 {
        if x > 2.0 {
            return x * x;
        }
        let y = x.sin();
        if n > 3 {
            return y * n as f64;
        }
        match n {
            0 => y + 1.0,
            1 | 2 => (y * x).powi(2),
            k if k < 0 => -y,
            _ => y.exp(),
        }
    };
    for x in [-0.7, 0.4, 2.5] {
        for n in [-2, 0, 1, 2, 3, 5] {
            let (v, [d]) = early_return_grad(x, n);
            assert_close(v, plain(x, n), 1e-14);
            assert_close(d, numeric_derivative(|t| plain(t, n), x), NUMERIC);
            assert_close(early_return_jvp(x, 1.0, n).1, d, MODES);
        }
    }
}

/// `match` on a tuple of conditions and integers, with a `return` in an arm.
#[differentiate]
fn quadrants(x: f64, y: f64, k: usize) -> f64 {
    match (x > 0.0, y > 0.0, k % 2) {
        (true, true, 0) => x * y,
        (true, false, _) => x - y.exp(),
        (false, _, 1) => return (x * y).sin(),
        _ => x + y,
    }
}

#[test]
fn match_on_a_tuple() {
    let plain = |x: f64, y: f64, k: usize| match (x > 0.0, y > 0.0, k % 2) {
        (true, true, 0) => x * y,
        (true, false, _) => x - y.exp(),
        (false, _, 1) => (x * y).sin(),
        _ => x + y,
    };
    for k in 0..2 {
        for (x, y) in [(0.7, 1.2), (0.7, -1.2), (-0.4, 0.9), (-0.4, -0.9)] {
            let (v, g) = quadrants_grad(x, y, k);
            assert_close(v, plain(x, y, k), 1e-15);
            let num = numeric_gradient(|p| plain(p[0], p[1], k), [x, y]);
            assert_all_close(&g, &num, NUMERIC);
            assert_close(quadrants_jvp(x, 1.0, y, 0.0, k).1, g[0], MODES);
            assert_close(quadrants_jvp(x, 0.0, y, 1.0, k).1, g[1], MODES);
        }
    }
}

// ------------------------------------------------------------------ parameters that are not differentiated

#[differentiate]
fn weighted(x: f64, #[constant] w: f64, n: usize, flip: bool) -> f64 {
    let k = n as f64;
    let s = if flip { -x } else { x };
    w * s.powi(2) + k * x
}

#[test]
fn constant_parameters_get_no_slot() {
    let (v, g) = weighted_grad(1.5, 3.0, 4, false);
    assert_close(v, 3.0 * 2.25 + 6.0, 1e-15);
    assert_eq!(g.len(), 1);
    assert_close(g[0], 2.0 * 3.0 * 1.5 + 4.0, MODES);
    let (_, g) = weighted_grad(1.5, 3.0, 4, true);
    assert_close(g[0], 2.0 * 3.0 * 1.5 + 4.0, MODES);
    let (_, d) = weighted_jvp(1.5, 1.0, 3.0, 4, true);
    assert_close(d, g[0], MODES);
    assert_close(weighted_hessian(1.5, 3.0, 4, true)[0][0], 6.0, MODES);
}

// ------------------------------------------------------------------ calls between differentiated functions

#[differentiate]
fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

#[differentiate]
fn scaled(x: f64, #[constant] k: f64) -> f64 {
    k * x.tanh()
}

#[differentiate]
fn composite(a: f64, b: f64) -> f64 {
    let u = softplus(a * b) + scaled(b, 2.0);
    if u > 1.0 {
        u * softplus(-a)
    } else {
        u
    }
}

#[test]
fn calls_use_the_callees_backpropagator() {
    let plain = |p: [f64; 2]| {
        let (a, b) = (p[0], p[1]);
        let sp = |x: f64| x.exp().ln_1p();
        let u = sp(a * b) + 2.0 * b.tanh();
        if u > 1.0 {
            u * sp(-a)
        } else {
            u
        }
    };
    for p in [[0.3, 0.8], [1.2, -0.4], [-0.9, 1.5], [0.1, -2.0]] {
        let (v, g) = composite_grad(p[0], p[1]);
        assert_close(v, plain(p), 1e-14);
        assert_all_close(&g, &numeric_gradient(plain, p), NUMERIC);
        let (_, da) = composite_jvp(p[0], 1.0, p[1], 0.0);
        let (_, db) = composite_jvp(p[0], 0.0, p[1], 1.0);
        assert_all_close(&[da, db], &g, MODES);
    }
}

// ------------------------------------------------------------------ several outputs

#[differentiate]
fn polar(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

#[differentiate]
fn three(x: f64, y: f64, z: f64) -> [f64; 3] {
    let s = x + y + z;
    [x * y, s.exp(), z / y]
}

#[test]
fn jacobians_of_tuple_and_array_outputs() {
    let (r, t) = (1.7, 0.6);
    let j = polar_jacobian(r, t);
    let expected = [[t.cos(), -r * t.sin()], [t.sin(), r * t.cos()]];
    for i in 0..2 {
        assert_all_close(&j[i], &expected[i], MODES);
    }
    let ((x, y), (dx, dy)) = polar_jvp(r, 1.0, t, 0.0);
    assert_close(x, r * t.cos(), 1e-15);
    assert_close(y, r * t.sin(), 1e-15);
    assert_all_close(&[dx, dy], &[j[0][0], j[1][0]], MODES);
    let ((_, _), back) = polar_vjp(r, t);
    assert_all_close(
        &back((2.0, -1.0)),
        &[2.0 * j[0][0] - j[1][0], 2.0 * j[0][1] - j[1][1]],
        MODES,
    );

    let j3 = three_jacobian(0.5, 1.5, -0.3);
    let e = (0.5f64 + 1.5 - 0.3).exp();
    let expected = [
        [1.5, 0.5, 0.0],
        [e, e, e],
        [0.0, 0.3 / (1.5 * 1.5), 1.0 / 1.5],
    ];
    for i in 0..3 {
        assert_all_close(&j3[i], &expected[i], MODES);
    }
    let (vals, tangents) = three_jvp(0.5, 0.0, 1.5, 1.0, -0.3, 0.0);
    assert_all_close(&vals, &[0.75, e, -0.2], 1e-15);
    assert_all_close(&tangents, &[j3[0][1], j3[1][1], j3[2][1]], MODES);
}

#[differentiate]
fn ignores_y(x: f64, y: f64) -> (f64, f64) {
    let unused = y * 0.0;
    (x * x, x.sin() + unused - unused)
}

#[test]
fn untouched_derivatives_are_positive_zero() {
    // Adjoints start at -0.0 (so the compiler can drop the first addition); results must
    // still read +0.0 where nothing contributed, in the gradient and in the one-sweep Jacobian.
    let (_, [dx, dy]) = product_grad(0.0, 0.0);
    assert!(dx == 0.0 && dx.is_sign_positive() && dy.is_sign_positive());
    let j = ignores_y_jacobian(0.0, 2.0);
    assert_eq!(j[0], [0.0, 0.0]);
    assert!(j.iter().flatten().all(|g| g.is_sign_positive()));
    assert_eq!(j[1][0], 1.0);
}

// ------------------------------------------------------------------ vjp: one forward sweep, reusable backpropagator

#[test]
fn backpropagator_is_reusable_and_linear() {
    let (v, back) = composite_vjp(0.4, 0.9);
    let g1 = back(1.0);
    let g3 = back(3.0);
    assert_close(v, composite_grad(0.4, 0.9).0, 0.0);
    assert_all_close(&g3, &[3.0 * g1[0], 3.0 * g1[1]], MODES);
}

// ------------------------------------------------------------------ Hessians

#[differentiate]
fn hess_target(x: f64, y: f64) -> f64 {
    (x * y).exp() + x.sin() * y.powi(3)
}

#[test]
fn hessian_against_closed_form() {
    for (x, y) in [(0.3, 0.5), (-0.7, 1.1), (1.2, -0.4)] {
        let h = hess_target_hessian(x, y);
        let e = (x * y).exp();
        let expected = [
            [
                y * y * e - x.sin() * y.powi(3),
                e + x * y * e + 3.0 * x.cos() * y * y,
            ],
            [
                e + x * y * e + 3.0 * x.cos() * y * y,
                x * x * e + 6.0 * x.sin() * y,
            ],
        ];
        for i in 0..2 {
            assert_all_close(&h[i], &expected[i], 1e-12);
        }
    }
}

// ------------------------------------------------------------------ the generic version

#[test]
fn generic_version_runs_on_f64_and_duals() {
    assert_close(
        piecewise_generic::<f64>(0.7, 0.3),
        piecewise_plain(0.7, 0.3),
        1e-15,
    );
    let [x, y] = autodiff::Dual::<f64, 2>::seed([0.7, 0.3]);
    let r = piecewise_generic(x, y);
    let (_, g) = piecewise_grad(0.7, 0.3);
    assert_all_close(&r.eps, &g, MODES);
}

// ------------------------------------------------------------------ printing precedence

/// Parenthesised comparisons compared again, and casts before `<` and `<<`, which the
/// generated code must keep parenthesised.
#[differentiate]
fn precedence(x: f64, y: f64, k: i64, m: usize, flag: bool) -> f64 {
    let mut s = x * y;
    if (x > 0.0) == (y > 0.0) {
        s += x;
    }
    if (x > 1.0) != flag {
        s *= y;
    }
    if (k as usize) < m {
        s += y * y;
    }
    let bits = (m as u32) << 2;
    if (bits as f64) < x * 10.0 {
        s -= x;
    }
    s
}

#[test]
fn comparisons_and_casts_keep_their_parentheses() {
    for (x, y, k, m, flag) in [
        (0.7, 1.3, 1, 3, true),
        (-0.4, 1.1, 5, 2, false),
        (1.5, -0.2, 0, 0, true),
    ] {
        let f = |x: f64, y: f64| precedence(x, y, k, m, flag);
        let (v, g) = precedence_grad(x, y, k, m, flag);
        assert_close(v, f(x, y), 1e-15);
        assert_all_close(&g, &numeric_gradient(|p| f(p[0], p[1]), [x, y]), NUMERIC);
        assert_close(precedence_jvp(x, 0.0, y, 1.0, k, m, flag).1, g[1], MODES);
    }
}

// ------------------------------------------------------------------ infinite partial derivatives

#[differentiate]
fn norm(x: f64, y: f64) -> f64 {
    (x * x + y * y).sqrt()
}

#[differentiate]
fn norm_hypot(x: f64, y: f64) -> f64 {
    x.hypot(y)
}

/// The convention documented in the README: at the origin forward mode gives 0 (a zero tangent
/// stays zero through `sqrt'(0) = ∞`), reverse mode NaN (IEEE `∞ · 0`), `hypot` 0 in both.
#[test]
fn infinite_partial_derivatives() {
    assert_eq!(norm_jvp(0.0, 1.0, 0.0, 0.0).1, 0.0);
    let (_, g) = norm_grad(0.0, 0.0);
    assert!(g.iter().all(|d| d.is_nan()), "{g:?}");
    assert_eq!(norm_hypot_grad(0.0, 0.0).1, [0.0, 0.0]);
    assert_eq!(norm_hypot_jvp(0.0, 1.0, 0.0, 0.0).1, 0.0);
    // Away from the origin the modes agree.
    let (_, g) = norm_grad(0.3, -0.4);
    assert_all_close(&g, &[0.6, -0.8], 1e-15);
    assert_close(norm_jvp(0.3, 1.0, -0.4, 0.0).1, g[0], MODES);
}

// ------------------------------------------------------------------ derivatives supplied by the user

/// ln(1 + eˣ) without overflow; its derivative, the logistic function, is supplied.
#[differentiate(partials = softplus_stable_partials)]
fn softplus_stable(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Value and derivative of [`softplus_stable`], generic so that it nests (Hessians).
fn softplus_stable_partials<S: autodiff::Real>(x: S) -> (S, [S; 1]) {
    let value = if x > S::zero() {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    };
    let logistic = if x > S::zero() {
        S::one() / (S::one() + (-x).exp())
    } else {
        x.exp() / (S::one() + x.exp())
    };
    (value, [logistic])
}

#[differentiate(partials = scaled_power_partials)]
fn scaled_power(x: f64, #[constant] c: f64, n: i32) -> f64 {
    c * x.powi(n)
}

fn scaled_power_partials<S: autodiff::Real>(x: S, c: S, n: i32) -> (S, [S; 1]) {
    (
        c * x.powi(n),
        [c * S::from_f64(f64::from(n)) * x.powi(n - 1)],
    )
}

/// `x + √y`, with partials that are infinite at `y = 0`.
#[differentiate(partials = root_sum_partials)]
fn root_sum(x: f64, y: f64) -> f64 {
    x + y.sqrt()
}

fn root_sum_partials<S: autodiff::Real>(x: S, y: S) -> (S, [S; 2]) {
    let s = y.sqrt();
    (x + s, [S::one(), (s + s).recip()])
}

#[test]
fn supplied_partials_keep_a_zero_tangent_zero() {
    // Along x the derivative is 1, though ∂/∂y is infinite at y = 0: forward mode treats
    // 0 · ∞ as 0, as the built-in rules do.
    let (_, dx) = root_sum_jvp(1.0, 1.0, 0.0, 0.0);
    assert_eq!(dx, 1.0);
    let (_, g) = root_sum_grad(1.0, 0.0);
    assert_eq!(g, [1.0, f64::INFINITY]);
    assert_eq!(root_sum_hessian(1.0, 0.25)[0], [0.0, 0.0]);
}

#[differentiate]
fn uses_custom(a: f64, b: f64) -> f64 {
    softplus_stable(a * b) + scaled_power(b, 2.0, 3)
}

#[test]
fn user_supplied_partials() {
    for x in [-800.0, -3.0, 0.2, 5.0, 800.0] {
        let (v, [d]) = softplus_stable_grad(x);
        let logistic = 1.0 / (1.0 + (-x).exp());
        assert_close(v, softplus_stable(x), 0.0);
        assert_close(d, logistic, 1e-15);
        assert_close(softplus_stable_jvp(x, 1.0).1, d, 1e-15);
        // Nested duals through the generic rule: the second derivative σ(1 − σ).
        let h = softplus_stable_hessian(x)[0][0];
        assert_close(h, logistic * (1.0 - logistic), 1e-15);
    }
    let (_, [d]) = scaled_power_grad(1.5, 2.0, 3);
    assert_close(d, 2.0 * 3.0 * 1.5 * 1.5, 1e-15);
    let plain = |p: [f64; 2]| (p[0] * p[1]).exp().ln_1p() + 2.0 * p[1].powi(3);
    for p in [[0.3, 0.8], [-1.2, 0.5]] {
        let (v, g) = uses_custom_grad(p[0], p[1]);
        assert_close(v, plain(p), 1e-14);
        assert_all_close(&g, &numeric_gradient(plain, p), NUMERIC);
        let (_, da) = uses_custom_jvp(p[0], 1.0, p[1], 0.0);
        assert_close(da, g[0], MODES);
    }
}

// ------------------------------------------------------------------ names in scope

/// Lower-case constants with the names the generated siblings use for their own locals.
mod names_in_scope {
    #![allow(non_upper_case_globals)]
    use autodiff::differentiate;

    const value: f64 = 3.0;
    const back: f64 = 0.5;
    const buffer: f64 = 2.0;
    const sensitivity: f64 = 1.5;

    #[differentiate]
    pub fn scaled(x: f64, w: &[f64]) -> f64 {
        x * w[0] * value + back * buffer * sensitivity * w[1]
    }

    #[differentiate]
    pub fn pair(x: f64, y: f64) -> (f64, f64) {
        (x * y * value, x + back)
    }
}

#[test]
fn generated_locals_do_not_meet_user_constants() {
    let mut dw = [0.0; 2];
    let (v, dx) = names_in_scope::scaled_grad(2.0, &[3.0, 1.0], &mut dw);
    assert_eq!(v, names_in_scope::scaled(2.0, &[3.0, 1.0]));
    assert_eq!((dx, dw), ([9.0], [6.0, 1.5]));
    assert_eq!(
        names_in_scope::pair_jacobian(1.0, 2.0),
        [[6.0, 3.0], [1.0, 0.0]]
    );
}

/// An unused parameter written `_`: the siblings take it in its place and it gets a zero
/// derivative. A value bound to `_` is computed and dropped.
#[differentiate]
fn wildcard_parameters(x: f64, _: f64, _: &[f64], #[constant] _: f64, _: usize) -> f64 {
    let _ = x * 2.0;
    let _: f64 = x.sin() + 1.0;
    x * x * x
}

#[test]
fn unused_parameters_may_be_written_as_wildcards() {
    let mut dw = [9.0; 2];
    let (v, g) = wildcard_parameters_grad(2.0, 1.0, &[1.0, 2.0], &mut dw, 3.0, 4);
    // d/dx x³ = 3x² = 12; nothing else reaches the value.
    assert_eq!((v, g, dw), (8.0, [12.0, 0.0], [0.0, 0.0]));
    assert_eq!(
        wildcard_parameters_jvp(2.0, 1.0, 1.0, 1.0, &[1.0, 2.0], &[1.0, 1.0], 3.0, 4),
        (8.0, 12.0)
    );
}

/// A negative log-likelihood of normal data: a Hessian and a Jacobian in the parameters, with
/// the data as a `#[constant]` slice.
#[differentiate]
fn normal_nll(mu: f64, log_sigma: f64, #[constant] data: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in data {
        let z = (x - mu) / log_sigma.exp();
        s += 0.5 * z * z + log_sigma;
    }
    s
}

#[differentiate]
fn moments(mu: f64, scale: f64, #[constant] data: &[f64]) -> (f64, f64) {
    let mut m1 = 0.0;
    let mut m2 = 0.0;
    for &x in data {
        m1 += scale * (x - mu);
        m2 += (scale * (x - mu)).powi(2);
    }
    (m1, m2)
}

#[test]
fn hessian_and_jacobian_with_constant_data() {
    let data = [0.3, -1.2, 2.5, 0.7, 1.1];
    let (mu, ls) = (0.4_f64, 0.2_f64);
    let n = data.len() as f64;
    let e2 = (-2.0 * ls).exp();
    let sum_d: f64 = data.iter().map(|x| x - mu).sum();
    let sum_d2: f64 = data.iter().map(|x| (x - mu) * (x - mu)).sum();
    // Closed forms: ∂²/∂μ² = n e^{−2s}, ∂²/∂μ∂s = 2 e^{−2s} Σ(x−μ), ∂²/∂s² = 2 e^{−2s} Σ(x−μ)².
    let h = normal_nll_hessian(mu, ls, &data);
    assert_close(h[0][0], n * e2, 1e-12);
    assert_close(h[0][1], 2.0 * e2 * sum_d, 1e-12);
    assert_close(h[1][0], h[0][1], 1e-12);
    assert_close(h[1][1], 2.0 * e2 * sum_d2, 1e-12);
    // Rows: ∂m1 = (−n·scale, Σ(x−μ)), ∂m2 = (−2 scale² Σ(x−μ), 2 scale Σ(x−μ)²).
    let scale = 1.5;
    let j = moments_jacobian(mu, scale, &data);
    assert_close(j[0][0], -n * scale, 1e-12);
    assert_close(j[0][1], sum_d, 1e-12);
    assert_close(j[1][0], -2.0 * scale * scale * sum_d, 1e-12);
    assert_close(j[1][1], 2.0 * scale * sum_d2, 1e-12);
}

// ------------------------------------------------------------------ local closures

/// Local closures are inlined where they are called: their bodies read the names in scope where
/// they were written (`k` below is shadowed before the calls), and they may call each other.
#[differentiate]
fn closures(x: f64, y: f64) -> f64 {
    let k = 3.0 * y;
    let wave = |t: f64| {
        let u = t * k;
        u.sin()
    };
    let k = 100.0;
    let sq = |t| t * t;
    let quartic = |t: f64| sq(sq(t));
    let leaky = |t: f64| if t > 0.0 { t } else { 0.01 * t };
    let mut s = 0.0;
    for i in 0..3 {
        s += quartic(x + i as f64 * 0.1) + leaky(y - i as f64);
    }
    wave(x) * k + wave(y) + s
}

fn closures_plain(x: f64, y: f64) -> f64 {
    let leaky = |t: f64| if t > 0.0 { t } else { 0.01 * t };
    let mut s = 0.0;
    for i in 0..3 {
        s += (x + i as f64 * 0.1).powi(4) + leaky(y - i as f64);
    }
    (x * 3.0 * y).sin() * 100.0 + (y * 3.0 * y).sin() + s
}

#[test]
fn local_closures_are_inlined_with_their_own_scope() {
    for (x, y) in [(0.7, 1.3), (-1.1, 2.5), (0.4, -0.6)] {
        let (v, g) = closures_grad(x, y);
        assert_close(v, closures_plain(x, y), 1e-13);
        let num = numeric_gradient(|p| closures_plain(p[0], p[1]), [x, y]);
        assert_all_close(&g, &num, NUMERIC);
        let (_, dx) = closures_jvp(x, 1.0, y, 0.0);
        let (_, dy) = closures_jvp(x, 0.0, y, 1.0);
        assert_all_close(&[dx, dy], &g, MODES);
        let h = closures_hessian(x, y);
        let hx = numeric_gradient(|p| closures_grad(p[0], p[1]).1[0], [x, y]);
        let hy = numeric_gradient(|p| closures_grad(p[0], p[1]).1[1], [x, y]);
        assert_all_close(
            &[h[0][0], h[0][1], h[1][0], h[1][1]],
            &[hx[0], hx[1], hy[0], hy[1]],
            1e-7,
        );
    }
}

/// `-(-x)` is printed with its parentheses: `--x` would be rustc's `double_negations` lint, an
/// error under this file's `#![deny(warnings)]`.
#[differentiate]
fn double_negation(x: f64, y: f64) -> f64 {
    let z = -(-x);
    z * y - -(-(x * y))
}

#[test]
fn double_negations_compile_without_warnings() {
    let (v, g) = double_negation_grad(1.5, -2.0);
    assert_eq!(v, 0.0);
    assert_eq!(g, [0.0, 0.0]);
    let (v, g) = double_negation_jvp(1.5, 1.0, -2.0, 0.0);
    assert_eq!((v, g), (0.0, 0.0));
}

/// A closure that changes a captured accumulator (`FnMut`), called as a statement, in a branch,
/// with its result discarded or used; and a `move` closure whose parameter has the name of a
/// mutable variable outside (it captures nothing).
#[allow(clippy::let_unit_value)]
#[differentiate]
fn accumulating_closures(x: f64, y: f64) -> f64 {
    let mut total = 0.0;
    let mut add = |v: f64| {
        total += v * v;
    };
    add(x);
    add(y);
    if x > 0.0 {
        add(x)
    }
    let _ = add(y);
    let mut add_once = |v: f64| total += v;
    add_once(x * y);
    let mut add_and_read = |v: f64| {
        total += v;
        total
    };
    add_and_read(x);
    let seen = add_and_read(1.0);
    let mut t = x;
    t += y;
    let double = move |t: f64| t * 2.0;
    total + seen + double(x) + t
}

fn accumulating_plain(x: f64, y: f64) -> f64 {
    let mut total = x * x + y * y;
    if x > 0.0 {
        total += x * x;
    }
    total += y * y + x * y + x + 1.0;
    total + total + 2.0 * x + x + y
}

#[test]
fn closures_that_change_what_they_capture() {
    for (x, y) in [(0.7, 0.4), (-1.1, 2.5)] {
        let (v, g) = accumulating_closures_grad(x, y);
        assert_close(v, accumulating_plain(x, y), 1e-14);
        assert_close(v, accumulating_closures(x, y), 1e-15);
        let num = numeric_gradient(|p| accumulating_plain(p[0], p[1]), [x, y]);
        assert_all_close(&g, &num, NUMERIC);
        let (_, dx) = accumulating_closures_jvp(x, 1.0, y, 0.0);
        let (_, dy) = accumulating_closures_jvp(x, 0.0, y, 1.0);
        assert_all_close(&[dx, dy], &g, MODES);
    }
}

// ------------------------------------------------------------------ callees with several outputs

#[differentiate]
fn rotate(x: f64, y: f64, angle: f64) -> (f64, f64) {
    let (s, c) = angle.sin_cos();
    (c * x - s * y, s * x + c * y)
}

/// `let (a, b) = g(..)` of a callee with several outputs: at the top, in both branches of an
/// `if` (with `_` for the output not read), and from a function with several outputs itself.
#[differentiate]
fn rotated_energy(x: f64, y: f64, angle: f64) -> f64 {
    let (a, b) = rotate(x, y, angle);
    let mut s = a * a * b + (a - b).exp();
    if x > 0.0 {
        let (u, _) = rotate(a, b, angle);
        s += u * u;
    } else {
        let (_, v): (f64, f64) = rotate(a, b, -angle);
        s += v.sin();
    }
    s
}

fn rotated_energy_plain(x: f64, y: f64, angle: f64) -> f64 {
    let turn = |x: f64, y: f64, t: f64| (t.cos() * x - t.sin() * y, t.sin() * x + t.cos() * y);
    let (a, b) = turn(x, y, angle);
    let s = a * a * b + (a - b).exp();
    if x > 0.0 {
        s + turn(a, b, angle).0.powi(2)
    } else {
        s + turn(a, b, -angle).1.sin()
    }
}

#[differentiate]
fn rotated_pair(x: f64, y: f64) -> (f64, f64) {
    let (a, b) = rotate(x, y, 0.3);
    (a * b, a + b * b)
}

#[test]
fn outputs_of_a_callee_bound_by_a_tuple_let() {
    for (x, y, t) in [(0.7, -0.4, 0.3), (-0.9, 0.5, 1.1)] {
        let (v, g) = rotated_energy_grad(x, y, t);
        assert_close(v, rotated_energy_plain(x, y, t), 1e-14);
        let num = numeric_gradient(|p| rotated_energy_plain(p[0], p[1], p[2]), [x, y, t]);
        assert_all_close(&g, &num, NUMERIC);
        let fwd: Vec<f64> = (0..3)
            .map(|i| {
                let d = |j: usize| if i == j { 1.0 } else { 0.0 };
                rotated_energy_jvp(x, d(0), y, d(1), t, d(2)).1
            })
            .collect();
        assert_all_close(&fwd, &g, MODES);
        let h = rotated_energy_hessian(x, y, t);
        let hx = numeric_gradient(|p| rotated_energy_grad(p[0], p[1], p[2]).1[0], [x, y, t]);
        assert_all_close(&h[0], &hx, 1e-7);
    }
    let j = rotated_pair_jacobian(0.7, -0.4);
    let num0 = numeric_gradient(|p| rotated_pair(p[0], p[1]).0, [0.7, -0.4]);
    let num1 = numeric_gradient(|p| rotated_pair(p[0], p[1]).1, [0.7, -0.4]);
    assert_all_close(&j[0], &num0, NUMERIC);
    assert_all_close(&j[1], &num1, NUMERIC);
}

// ------------------------------------------------------------------ data of the user's types

/// An activation chosen by data, with floats in its variants.
#[derive(Clone, Copy, Debug)]
enum Activation {
    Tanh,
    Leaky(f64),
    Power(i32),
    Mix { weight: f64, k: usize },
}

const GAIN: f64 = 1.25;
const TABLE: [f64; 3] = [0.5, -2.0, 3.0];

struct Layer {
    bias: f64,
    activation: Activation,
}

#[differentiate]
fn times_sin(a: f64, b: f64) -> f64 {
    a * b.sin()
}

/// `match` arms binding floats of a variant (also in a guard, mutably, and by field name), and a
/// `const`, an element of a `const` array and a value of a user type passed to a callee as they are.
#[differentiate]
fn activate(z: f64, act: Activation) -> f64 {
    const LOCAL: f64 = 0.75;
    let base = match act {
        Activation::Tanh => z.tanh(),
        Activation::Leaky(a) if a > 0.5 => a * z * z,
        Activation::Leaky(mut a) => {
            a *= 2.0;
            if z > 0.0 {
                z
            } else {
                a * z
            }
        }
        Activation::Power(n) => z.powi(n),
        Activation::Mix { weight, k } => weight * z.sin() + TABLE[k] * z,
    };
    base + times_sin(GAIN, z) + times_sin(z, LOCAL) + times_sin(TABLE[2], z)
}

impl Layer {
    #[differentiate]
    fn output(&self, z: f64) -> f64 {
        times_sin(self.bias, z) + activate(z, self.activation)
    }
}

fn activate_plain(z: f64, act: Activation) -> f64 {
    let base = match act {
        Activation::Tanh => z.tanh(),
        Activation::Leaky(a) if a > 0.5 => a * z * z,
        Activation::Leaky(a) => {
            if z > 0.0 {
                z
            } else {
                2.0 * a * z
            }
        }
        Activation::Power(n) => z.powi(n),
        Activation::Mix { weight, k } => weight * z.sin() + TABLE[k] * z,
    };
    base + GAIN * z.sin() + z * 0.75f64.sin() + 3.0 * z.sin()
}

#[test]
fn match_bindings_consts_and_fields_reach_callees() {
    let acts = [
        Activation::Tanh,
        Activation::Leaky(0.1),
        Activation::Leaky(0.9),
        Activation::Power(3),
        Activation::Mix { weight: 0.4, k: 1 },
    ];
    for act in acts {
        for z in [-0.7, 0.4] {
            let (v, [d]) = activate_grad(z, act);
            assert_close(v, activate_plain(z, act), 1e-14);
            let want = numeric_derivative(|z| activate_plain(z, act), z);
            check_close(d, want, NUMERIC, &format!("{act:?} at {z}"));
            assert_close(activate_jvp(z, 1.0, act).1, d, MODES);
            let layer = Layer {
                bias: -0.3,
                activation: act,
            };
            let (v, [d]) = layer.output_grad(z);
            assert_close(v, -0.3 * z.sin() + activate_plain(z, act), 1e-14);
            let want = numeric_derivative(|z| -0.3 * z.sin() + activate_plain(z, act), z);
            check_close(d, want, NUMERIC, &format!("layer {act:?} at {z}"));
        }
    }
}

/// A regulariser chosen by the caller.
#[derive(Clone, Copy)]
pub enum Penalty {
    Ridge(f64),
    Lasso,
}

/// `if let` (also as a value and in `else if let`) and `while let`, lowered as `match`.
#[differentiate]
fn with_options(
    x: f64,
    y: f64,
    power: Option<u32>,
    penalty: Option<Penalty>,
    mut ks: Vec<i32>,
) -> f64 {
    let mut s = if let Some(k) = power {
        x.powi(k as i32)
    } else {
        x
    };
    if let Some(Penalty::Ridge(lambda)) = penalty {
        s += lambda * y * y;
    } else if let Some(Penalty::Lasso) = penalty {
        s += y.abs();
    }
    while let Some(k) = ks.pop() {
        s = s * 0.5 + y.powi(k);
    }
    s
}

#[test]
fn if_let_and_while_let() {
    let (x, y) = (0.7, -0.4);
    for (power, penalty) in [
        (Some(3), Some(Penalty::Ridge(0.5))),
        (None, Some(Penalty::Lasso)),
        (Some(1), None),
    ] {
        let ks = vec![1, 2];
        let (v, [dx, dy]) = with_options_grad(x, y, power, penalty, ks.clone());
        assert_close(v, with_options(x, y, power, penalty, ks.clone()), 1e-15);
        let fx = numeric_derivative(|x| with_options(x, y, power, penalty, ks.clone()), x);
        let fy = numeric_derivative(|y| with_options(x, y, power, penalty, ks.clone()), y);
        assert_close(dx, fx, 1e-8);
        assert_close(dy, fy, 1e-8);
        let (_, t) = with_options_jvp(x, 1.0, y, 0.0, power, penalty, ks.clone());
        assert_close(t, dx, 1e-12);
    }
}

/// `unreachable!()` and `panic!()` as the value of a `match` arm (no warning in the generated
/// code under `#![deny(warnings)]`).
#[differentiate]
fn legendre(x: f64, k: usize) -> f64 {
    match k {
        0 => 1.0,
        1 => x,
        2 => 0.5 * (3.0 * x * x - 1.0),
        _ => unreachable!("degree {k} is not tabulated"),
    }
}

#[test]
fn diverging_match_arms() {
    for (k, want) in [(0, 0.0), (1, 1.0), (2, 3.0 * 0.4)] {
        let (v, [d]) = legendre_grad(0.4, k);
        assert_close(v, legendre(0.4, k), 1e-15);
        assert_close(d, want, 1e-15);
    }
}

/// Tokens of a tiny stack-free calculator.
#[derive(Clone, Copy)]
pub enum Tok {
    Add(f64),
    Sub(f64),
    Var(usize),
    Neg,
}

/// Or-patterns binding one name in each alternative, in `match` (with a guard) and `if let`.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn evaluate(w: &[f64], toks: &[Tok]) -> f64 {
    let mut s = w[0];
    for i in 0..toks.len() {
        match toks[i] {
            Tok::Add(c) | Tok::Sub(c) if c > 0.0 => s += c * w[1],
            Tok::Var(k) => s *= w[k],
            Tok::Neg => s = -s,
            _ => {}
        }
        if let Tok::Add(c) | Tok::Sub(c) = toks[i] {
            s += c * s;
        }
    }
    s
}

/// A local enum state driven by `while let`.
#[derive(Clone, Copy, PartialEq)]
pub enum Phase {
    Warm(usize),
    Run,
}

#[differentiate]
fn warm_up(x: f64) -> f64 {
    let mut phase = Phase::Warm(0);
    let mut y = x;
    while let Phase::Warm(k) = phase {
        y *= x;
        phase = if k >= 1 {
            Phase::Run
        } else {
            Phase::Warm(k + 1)
        };
    }
    y
}

#[test]
fn or_patterns_and_enum_states() {
    let toks = [
        Tok::Add(1.0),
        Tok::Sub(2.0),
        Tok::Var(1),
        Tok::Neg,
        Tok::Sub(-0.5),
    ];
    check_slice_function(
        &[0.7, 1.3],
        |w| evaluate(w, &toks),
        |w, g| evaluate_grad(w, g, &toks),
        |w, dw| evaluate_jvp(w, dw, &toks).1,
    );
    // x³: 3x².
    let (v, [d]) = warm_up_grad(1.5);
    assert_close(v, 3.375, 1e-15);
    assert_close(d, 6.75, 1e-15);
}

/// A float constant with a declared type, used with a method (`c.sqrt()`, `f64::powi(b1, t)`).
#[differentiate]
fn typed_constants(x: f64, t: i32) -> f64 {
    let c: f64 = 2.0;
    let (b1, eps) = (0.9, 1e-8);
    x * c.sqrt() / (1.0 - f64::powi(b1, t) + eps)
}

pub enum Mode {
    Plain,
    Scaled { n: f64 },
    Leaky(f64),
    Steps(usize),
}

/// `match` on an enum taken by reference, binding float fields (`n: &f64`).
#[differentiate]
fn by_reference_mode(x: f64, mode: &Mode) -> f64 {
    let a = match mode {
        Mode::Plain => x,
        Mode::Scaled { n } => x / n,
        Mode::Leaky(s) => x * *s,
        Mode::Steps(k) => x * *k as f64,
    };
    let b = if let Mode::Scaled { n } = mode {
        n * x
    } else {
        1.0
    };
    let c = match *mode {
        Mode::Leaky(s) => s * x * x,
        _ => 0.0,
    };
    a + b + c
}

#[test]
fn typed_constants_and_modes_by_reference() {
    let (v, [d]) = typed_constants_grad(1.5, 3);
    let k = 2f64.sqrt() / (1.0 - 0.9f64.powi(3) + 1e-8);
    assert_close(v, 1.5 * k, 1e-14);
    assert_close(d, k, 1e-14);
    for m in [
        Mode::Plain,
        Mode::Scaled { n: 2.0 },
        Mode::Leaky(0.5),
        Mode::Steps(3),
    ] {
        let (v, [d]) = by_reference_mode_grad(1.5, &m);
        assert_close(v, by_reference_mode(1.5, &m), 1e-15);
        assert_close(
            d,
            numeric_derivative(|x| by_reference_mode(x, &m), 1.5),
            1e-8,
        );
        assert_close(by_reference_mode_jvp(1.5, 1.0, &m).1, d, 1e-14);
    }
}

/// Parameters whose tangent would be a keyword (`do`, `dyn`), integer arguments shadowed by
/// floats in a tuple `let`, and a swap written as a tuple `let`.
#[differentiate]
fn keyword_tangents(o: f64, yn: f64, k: usize) -> f64 {
    let (k, o2) = (k as f64, o * o);
    let (a, b) = (yn, o2);
    let (b, a) = (a, b * 2.0);
    k * a * b + o
}

pub enum Shape {
    Circle(f64),
    Square(f64),
}

#[differentiate]
fn shape_area(s: &Shape, scale: f64) -> f64 {
    match s {
        Shape::Circle(r) => 3.0 * r * r * scale * scale,
        Shape::Square(a) => a * a * scale * scale,
    }
}

/// Elements of a slice of a user type are references, as in Rust.
#[differentiate]
fn total_area(shapes: &[Shape], scale: f64) -> f64 {
    let mut t = shapes.iter().map(|s| shape_area(s, scale)).sum::<f64>();
    for s in shapes {
        t += shape_area(s, scale);
    }
    t
}

/// A `loop` value inside a `for`, and a range with an untyped integer bound collected.
#[allow(clippy::never_loop)]
#[differentiate]
fn loop_values_in_loops(x: f64) -> f64 {
    let n = 4;
    let grid: Vec<f64> = (0..n).map(|i| x * i as f64).collect();
    let mut s = grid[3];
    let mut y = x;
    for _ in 0..2 {
        let r = loop {
            break x * x;
        };
        s += r;
        y = loop {
            let next = 0.5 * y;
            if next < 1.0 {
                break next;
            }
            y = next;
        };
    }
    s + y
}

#[test]
fn keywords_shapes_and_loop_values() {
    let (v, [d_o, d_yn]) = keyword_tangents_grad(1.5, 0.5, 3);
    // k·(2o²)·yn + o.
    assert_close(v, 3.0 * 2.0 * 2.25 * 0.5 + 1.5, 1e-15);
    assert_close(d_o, 3.0 * 4.0 * 1.5 * 0.5 + 1.0, 1e-15);
    assert_close(d_yn, 3.0 * 2.0 * 2.25, 1e-15);
    assert_close(keyword_tangents_jvp(1.5, 1.0, 0.5, 0.0, 3).1, d_o, 1e-15);
    let shapes = [Shape::Circle(1.0), Shape::Square(2.0)];
    let (v, [d]) = total_area_grad(&shapes, 1.5);
    assert_close(v, 2.0 * (3.0 + 4.0) * 2.25, 1e-14);
    assert_close(d, 2.0 * (3.0 + 4.0) * 3.0, 1e-14);
    for x in [5.0, 0.7] {
        let (v, [d]) = loop_values_in_loops_grad(x);
        assert_close(v, loop_values_in_loops(x), 1e-15);
        assert_close(d, numeric_derivative(loop_values_in_loops, x), 1e-8);
        assert_close(loop_values_in_loops_jvp(x, 1.0).1, d, 1e-14);
    }
}

//! The rule table against independent sources: five-point central differences of the `f64`
//! library functions (first derivatives), central differences of the rules' own derivatives
//! (second derivatives through `T = Dual`), the `f32` instantiation, and each convention at a
//! non-differentiable point.

mod common;

use autodiff::{rules, Dual};
use common::{assert_close, assert_same, fd5};
use std::f64::consts::{FRAC_PI_2, LN_10, LN_2, PI};

/// Tolerance of first derivatives against the five-point stencil, relative to `max(|f'|, 1)`.
/// The step keeps truncation (`(h/dist)⁴`) and rounding (`ε|f|/h`) below about 1e-10.
const TOL1: f64 = 1e-8;
/// Tolerance of second derivatives (a stencil of the rule's own first derivative).
const TOL2: f64 = 1e-7;

type D1 = Dual<f64, 1>;

/// One unary rule, its library function and where to test it.
struct Unary {
    name: &'static str,
    rule: fn(f64) -> (f64, f64),
    rule32: fn(f32) -> (f32, f32),
    rule_dual: fn(D1) -> (D1, D1),
    f: fn(f64) -> f64,
    f32: fn(f32) -> f32,
    points: &'static [f64],
    /// Points where the function or its derivative blows up or jumps; the step stays far from
    /// them.
    singular: &'static [f64],
}

macro_rules! unary {
    ($name:ident, $points:expr, $singular:expr) => {
        Unary {
            name: stringify!($name),
            rule: rules::$name,
            rule32: rules::$name,
            rule_dual: rules::$name,
            f: f64::$name,
            f32: f32::$name,
            points: &$points,
            singular: &$singular,
        }
    };
}

fn unary_table() -> Vec<Unary> {
    vec![
        unary!(recip, [-3.0, -0.5, -1e-4, 1e-4, 0.7, 2.0], [0.0]),
        unary!(sin, [-3.0, -0.5, 0.0, 0.7, 2.0, 10.0], []),
        unary!(cos, [-3.0, -0.5, 0.0, 0.7, 2.0, 10.0], []),
        unary!(
            tan,
            [-1.5, -0.3, 0.0, 0.9, 1.5, 3.0],
            [-FRAC_PI_2, FRAC_PI_2, 3.0 * FRAC_PI_2]
        ),
        unary!(
            asin,
            [-1.0 + 1e-6, -0.99, -0.5, 0.0, 0.3, 0.99, 1.0 - 1e-6],
            [-1.0, 1.0]
        ),
        unary!(
            acos,
            [-1.0 + 1e-6, -0.99, -0.5, 0.0, 0.3, 0.99, 1.0 - 1e-6],
            [-1.0, 1.0]
        ),
        unary!(atan, [-50.0, -1.0, 0.0, 0.5, 3.0], []),
        unary!(sinh, [-5.0, -1.0, 0.0, 0.3, 4.0], []),
        unary!(cosh, [-5.0, -1.0, 0.0, 0.3, 4.0], []),
        unary!(tanh, [-3.0, -0.5, 0.0, 0.2, 2.0, 10.0], []),
        unary!(asinh, [-100.0, -2.0, 0.0, 0.5, 30.0], []),
        unary!(acosh, [1.0 + 1e-8, 1.001, 1.5, 10.0, 1000.0], [1.0]),
        // The library atanh has an absolute error of about ε/(1 - |x|) next to ±1 (it rounds
        // an intermediate near -1 before log1p), which a stencil 1e-6 from the boundary would
        // amplify past the tolerance; 1e-4 away the oracle is accurate enough.
        unary!(
            atanh,
            [-1.0 + 1e-4, -0.5, 0.0, 0.3, 0.99, 1.0 - 1e-4],
            [-1.0, 1.0]
        ),
        unary!(exp, [-20.0, -1.0, 0.0, 0.5, 20.0], []),
        unary!(exp2, [-10.0, -0.5, 0.0, 3.0, 25.0], []),
        unary!(exp_m1, [-5.0, -1e-3, 0.0, 1e-6, 2.0], []),
        unary!(ln, [1e-8, 1e-3, 0.5, 1.0, 7.0, 1e6], [0.0]),
        unary!(log2, [1e-8, 1e-3, 0.5, 1.0, 7.0, 1e6], [0.0]),
        unary!(log10, [1e-8, 1e-3, 0.5, 1.0, 7.0, 1e6], [0.0]),
        unary!(ln_1p, [-1.0 + 1e-8, -0.5, 0.0, 1e-5, 3.0], [-1.0]),
        unary!(sqrt, [1e-10, 1e-3, 0.25, 2.0, 1e6], [0.0]),
        unary!(cbrt, [-27.0, -1e-3, 1e-9, 0.5, 8.0], [0.0]),
        unary!(abs, [-3.0, -1e-6, 1e-6, 2.0], [0.0]),
        unary!(signum, [-2.0, -1e-3, 1e-3, 5.0], [0.0]),
        unary!(
            floor,
            [-2.7, -0.3, 0.4, 1.2, 5.6],
            [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0, 6.0]
        ),
        unary!(
            ceil,
            [-2.7, -0.3, 0.4, 1.2, 5.6],
            [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0, 6.0]
        ),
        unary!(
            round,
            [-2.7, -0.3, 0.4, 1.2, 5.6],
            [-2.5, -0.5, 0.5, 1.5, 5.5]
        ),
        unary!(
            trunc,
            [-2.7, -0.3, 0.4, 1.2, 5.6],
            [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0, 6.0]
        ),
        unary!(
            fract,
            [-2.7, -0.3, 0.4, 1.2, 5.6],
            [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0, 6.0]
        ),
        unary!(to_degrees, [-2.0, 0.0, 3.0], []),
        unary!(to_radians, [-200.0, 0.0, 45.0], []),
    ]
}

/// The step for a stencil at `x`: 1e-3, shrunk to 1/200 of the distance to the nearest singular
/// point so that the truncation error stays near `(1/200)⁴`, then rounded down to a power of two
/// so that the stencil points `x ± h`, `x ± 2h` are exact (a rounded abscissa would add an error
/// of order `ulp(x)/h`, large next to a boundary such as acosh at `1 + 1e-8`).
fn step(x: f64, singular: &[f64]) -> f64 {
    let dist = singular
        .iter()
        .map(|s| (x - s).abs())
        .fold(f64::INFINITY, f64::min);
    pow2_floor((1e-3_f64).min(dist / 200.0))
}

fn pow2_floor(h: f64) -> f64 {
    h.log2().floor().exp2()
}

/// Step of the stencils at the moderate points of the binary rules: 2⁻¹⁷ ≈ 7.6e-6.
const H2: f64 = 1.0 / 131072.0;

#[test]
fn unary_values_are_the_library_functions() {
    for u in unary_table() {
        for &x in u.points {
            assert_same((u.rule)(x).0, (u.f)(x), u.name);
        }
    }
}

#[test]
fn unary_first_derivatives_match_central_differences() {
    for u in unary_table() {
        for &x in u.points {
            let h = step(x, u.singular);
            let fd = fd5(u.f, x, h);
            assert_close((u.rule)(x).1, fd, TOL1, &format!("{}'({x})", u.name));
        }
    }
}

#[test]
fn unary_second_derivatives_match_central_differences_of_the_rule() {
    // The rule instantiated at T = Dual differentiates its own derivative formula.
    for u in unary_table() {
        for &x in u.points {
            let h = step(x, u.singular);
            let (v, d) = (u.rule_dual)(D1::variable(x, 0));
            assert_same(v.re, (u.f)(x), u.name);
            assert_same(d.re, (u.rule)(x).1, u.name);
            let fd = fd5(|t| (u.rule)(t).1, x, h);
            assert_close(d.eps[0], fd, TOL2, &format!("{}''({x})", u.name));
        }
    }
}

#[test]
fn unary_rules_in_f32_agree_with_f64() {
    // f32 has a relative precision of 6e-8; points within 1e-2 of a singularity are skipped
    // because rounding x to f32 moves them noticeably.
    for u in unary_table() {
        for &x in u.points {
            if u.singular.iter().any(|s| (x - s).abs() < 1e-2) {
                continue;
            }
            let x32 = x as f32;
            let (v, d) = (u.rule32)(x32);
            assert_eq!(v.to_bits(), (u.f32)(x32).to_bits(), "{}", u.name);
            let (v64, d64) = (u.rule)(f64::from(x32));
            assert_close(
                f64::from(v),
                v64,
                1e-6,
                &format!("{} f32 value ({x})", u.name),
            );
            assert_close(
                f64::from(d),
                d64,
                1e-6,
                &format!("{} f32 derivative ({x})", u.name),
            );
        }
    }
}

#[test]
fn neg_and_sin_cos() {
    for x in [-2.0, 0.0, 3.5] {
        assert_eq!(rules::neg(x), (-x, -1.0));
        let ((s, ds), (c, dc)) = rules::sin_cos(x);
        assert_eq!((s, ds), rules::sin(x));
        assert_eq!((c, dc), rules::cos(x));
    }
}

/// One binary rule, its library function and test points.
struct Binary {
    name: &'static str,
    rule: fn(f64, f64) -> (f64, f64, f64),
    f: fn(f64, f64) -> f64,
    points: &'static [(f64, f64)],
}

fn binary_table() -> Vec<Binary> {
    let pts: &'static [(f64, f64)] = &[(3.0, -2.0), (-0.5, 4.0), (1e-3, 7.0), (-2.5, -0.25)];
    vec![
        Binary {
            name: "add",
            rule: rules::add,
            f: |x, y| x + y,
            points: pts,
        },
        Binary {
            name: "sub",
            rule: rules::sub,
            f: |x, y| x - y,
            points: pts,
        },
        Binary {
            name: "mul",
            rule: rules::mul,
            f: |x, y| x * y,
            points: pts,
        },
        Binary {
            name: "div",
            rule: rules::div,
            f: |x, y| x / y,
            points: pts,
        },
        Binary {
            name: "rem",
            rule: rules::rem,
            f: |x, y| x % y,
            points: &[(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (5.3, 0.7), (0.3, 2.0)],
        },
        Binary {
            name: "atan2",
            rule: rules::atan2,
            f: f64::atan2,
            points: &[
                (1.0, -2.0),
                (-1.0, -2.0),
                (0.5, 3.0),
                (-3.0, 0.1),
                (1e-3, -1.0),
            ],
        },
        Binary {
            name: "powf",
            rule: rules::powf,
            f: f64::powf,
            points: &[
                (1.7, -0.6),
                (0.3, 2.5),
                (2.0, 3.0),
                (5.0, 0.5),
                (1e-2, 1.5),
                (0.9, -3.2),
                (1.0, 0.0),
            ],
        },
        Binary {
            name: "hypot",
            rule: rules::hypot,
            f: f64::hypot,
            points: &[(-3.0, 4.0), (1e-3, 2.0), (5.0, -0.1), (-1.0, -1.0)],
        },
        Binary {
            name: "log",
            rule: rules::log,
            f: f64::log,
            points: &[(5.0, 3.0), (0.2, 10.0), (7.0, 0.5), (1.0, 2.0)],
        },
        Binary {
            name: "copysign",
            rule: rules::copysign,
            f: f64::copysign,
            points: &[(2.0, -1.0), (-2.0, -1.0), (2.0, 3.0), (-0.5, 4.0)],
        },
        Binary {
            name: "min",
            rule: rules::min,
            f: f64::min,
            points: &[(1.0, 2.0), (3.0, -1.0), (-4.0, -3.5)],
        },
        Binary {
            name: "max",
            rule: rules::max,
            f: f64::max,
            points: &[(1.0, 2.0), (3.0, -1.0), (-4.0, -3.5)],
        },
        Binary {
            name: "abs_sub",
            rule: rules::abs_sub,
            f: |x, y| (x - y).max(0.0),
            points: &[(5.0, 2.0), (2.0, 5.0), (-1.0, -3.0)],
        },
    ]
}

#[test]
fn binary_values_are_the_library_functions() {
    for b in binary_table() {
        for &(x, y) in b.points {
            assert_same((b.rule)(x, y).0, (b.f)(x, y), b.name);
        }
    }
}

#[test]
fn binary_partials_match_central_differences() {
    let h = H2;
    for b in binary_table() {
        for &(x, y) in b.points {
            let (_, dx, dy) = (b.rule)(x, y);
            let fd_x = fd5(|t| (b.f)(t, y), x, h);
            let fd_y = fd5(|t| (b.f)(x, t), y, h);
            assert_close(dx, fd_x, TOL1, &format!("d/dx {}({x}, {y})", b.name));
            assert_close(dy, fd_y, TOL1, &format!("d/dy {}({x}, {y})", b.name));
        }
    }
}

#[test]
fn binary_second_partials_match_central_differences_of_the_rule() {
    // d/dx of each partial through T = Dual, against a stencil of the f64 partial.
    let h = H2;
    for b in [
        (
            "div",
            rules::div::<D1> as fn(D1, D1) -> _,
            rules::div::<f64> as fn(_, _) -> _,
        ),
        ("atan2", rules::atan2::<D1>, rules::atan2::<f64>),
        ("powf", rules::powf::<D1>, rules::powf::<f64>),
        ("hypot", rules::hypot::<D1>, rules::hypot::<f64>),
        ("log", rules::log::<D1>, rules::log::<f64>),
    ] {
        let (name, rule_dual, rule) = b;
        for (x, y) in [(1.7, 0.6), (0.3, 2.5), (2.0, 3.0), (5.0, 0.5)] {
            // Differentiate with respect to x, then with respect to y.
            let (_, dx, dy) = rule_dual(D1::variable(x, 0), D1::constant(y));
            assert_close(dx.eps[0], fd5(|t| rule(t, y).1, x, h), TOL2, name);
            assert_close(dy.eps[0], fd5(|t| rule(t, y).2, x, h), TOL2, name);
            let (_, dx, dy) = rule_dual(D1::constant(x), D1::variable(y, 0));
            assert_close(dx.eps[0], fd5(|t| rule(x, t).1, y, h), TOL2, name);
            assert_close(dy.eps[0], fd5(|t| rule(x, t).2, y, h), TOL2, name);
        }
    }
}

#[test]
fn powi_matches_central_differences() {
    for n in [-3, -1, 0, 1, 2, 3, 7] {
        for x in [-1.5, -0.3, 0.7, 2.0] {
            let (v, d) = rules::powi(x, n);
            assert_same(v, x.powi(n), "powi value");
            let fd = fd5(|t| t.powi(n), x, pow2_floor(1e-4));
            assert_close(d, fd, TOL1, &format!("powi'({x}, {n})"));
            // Second derivative n(n-1)x^(n-2), closed form.
            let (_, dd) = rules::powi(D1::variable(x, 0), n);
            let want = f64::from(n) * f64::from(n - 1) * x.powi(n - 2);
            assert_close(dd.eps[0], want, 1e-13, &format!("powi''({x}, {n})"));
        }
    }
}

#[test]
fn powf_at_negative_base_and_integer_exponent() {
    // x^y for x < 0 is real only at integer y: d/dx = y x^(y-1) as for powi, d/dy is NaN.
    for (x, y) in [(-2.0_f64, 3.0_f64), (-1.5, -2.0), (-0.5, 4.0)] {
        let (v, dx, dy) = rules::powf(x, y);
        let n = y as i32;
        assert_same(v, x.powf(y), "powf value");
        assert_close(dx, rules::powi(x, n).1, 1e-14, "powf d/dx at x < 0");
        assert!(dy.is_nan(), "powf d/dy at x < 0 must be NaN, got {dy}");
    }
}

#[test]
fn mul_add_and_clamp_match_central_differences() {
    let h = H2;
    for (x, a, b) in [(2.0, -3.0, 0.5), (-1.5, 0.25, 4.0)] {
        let (v, dx, da, db) = rules::mul_add(x, a, b);
        assert_same(v, x.mul_add(a, b), "mul_add value");
        assert_close(dx, fd5(|t| t.mul_add(a, b), x, h), TOL1, "mul_add d/dx");
        assert_close(da, fd5(|t| x.mul_add(t, b), a, h), TOL1, "mul_add d/da");
        assert_close(db, fd5(|t| x.mul_add(a, t), b, h), TOL1, "mul_add d/db");
    }
    for (x, lo, hi) in [
        (0.5, 0.0, 1.0),
        (-2.0, 0.0, 1.0),
        (7.0, 0.0, 1.0),
        (-3.0, -5.0, 2.0),
    ] {
        let (v, dx, dlo, dhi) = rules::clamp(x, lo, hi);
        assert_same(v, x.clamp(lo, hi), "clamp value");
        assert_close(dx, fd5(|t| t.clamp(lo, hi), x, h), TOL1, "clamp d/dx");
        assert_close(dlo, fd5(|t| x.clamp(t, hi), lo, h), TOL1, "clamp d/dlo");
        assert_close(dhi, fd5(|t| x.clamp(lo, t), hi, h), TOL1, "clamp d/dhi");
    }
}

#[test]
fn constant_factors_are_exact() {
    assert_close(rules::exp2(1.0).1, 2.0 * LN_2, 1e-15, "exp2'(1)");
    assert_close(rules::log2(1.0).1, 1.0 / LN_2, 1e-15, "log2'(1)");
    assert_close(rules::log10(1.0).1, 1.0 / LN_10, 1e-15, "log10'(1)");
    assert_close(rules::to_degrees(1.0).1, 180.0 / PI, 1e-15, "to_degrees'");
    assert_close(rules::to_radians(1.0).1, PI / 180.0, 1e-15, "to_radians'");
}

// ---------------------------------------------------------------------------------------------
// Conventions at non-differentiable points
// ---------------------------------------------------------------------------------------------

#[test]
fn abs_derivative_at_zero_is_zero() {
    assert_eq!(rules::abs(0.0), (0.0, 0.0));
    let (v, d) = rules::abs(-0.0_f64);
    assert_eq!((v.to_bits(), d), (0.0_f64.to_bits(), 0.0));
    assert_eq!(rules::abs(0.0_f32), (0.0, 0.0));
}

#[test]
fn signum_derivative_is_zero_everywhere() {
    for x in [-5.0, -0.0, 0.0, 1e-300, 7.0] {
        assert_eq!(rules::signum(x).1, 0.0, "signum'({x})");
        assert_same(rules::signum(x).0, x.signum(), "signum value");
    }
}

#[test]
fn min_max_split_a_tie_evenly() {
    for x in [-1.0, 0.0, 2.5] {
        assert_eq!(rules::max(x, x), (x, 0.5, 0.5));
        assert_eq!(rules::min(x, x), (x, 0.5, 0.5));
    }
    // Consequence: max(x, x) and min(x, x) have derivative 1, like x itself.
    let x = D1::variable(1.5, 0);
    assert_eq!(x.max(x).eps[0], 1.0);
    assert_eq!(x.min(x).eps[0], 1.0);
    // Ties of infinities keep the value.
    assert_eq!(rules::max(f64::INFINITY, f64::INFINITY).0, f64::INFINITY);
}

#[test]
fn min_max_ignore_a_nan_argument() {
    assert_eq!(rules::max(f64::NAN, 2.0), (2.0, 0.0, 1.0));
    assert_eq!(rules::max(2.0, f64::NAN), (2.0, 1.0, 0.0));
    assert_eq!(rules::min(f64::NAN, 2.0), (2.0, 0.0, 1.0));
    assert_eq!(rules::min(2.0, f64::NAN), (2.0, 1.0, 0.0));
}

#[test]
fn abs_sub_splits_a_tie_like_max() {
    assert_eq!(rules::abs_sub(2.0, 2.0), (0.0, 0.5, -0.5));
}

#[test]
fn clamp_bounds_are_inclusive() {
    // At either bound the derivative goes to x.
    assert_eq!(rules::clamp(0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 0.0));
    assert_eq!(rules::clamp(1.0, 0.0, 1.0), (1.0, 1.0, 0.0, 0.0));
    // Degenerate interval: x equal to both bounds still gets the derivative.
    assert_eq!(rules::clamp(3.0, 3.0, 3.0), (3.0, 1.0, 0.0, 0.0));
    let nan = rules::clamp(f64::NAN, 0.0, 1.0);
    assert!(nan.0.is_nan() && nan.1 == 1.0);
}

#[test]
fn roots_have_infinite_derivative_at_zero() {
    assert_eq!(rules::sqrt(0.0), (0.0, f64::INFINITY));
    let (v, d) = rules::sqrt(-0.0_f64);
    assert!(v == 0.0 && d == f64::INFINITY, "sqrt'(-0) = {d}");
    assert_eq!(rules::cbrt(0.0), (0.0, f64::INFINITY));
    assert_eq!(rules::cbrt(-0.0_f64).1, f64::INFINITY);
    assert_eq!(rules::sqrt(0.0_f32).1, f32::INFINITY);
    // Outside the domain: NaN.
    let (v, d) = rules::sqrt(-1.0_f64);
    assert!(v.is_nan() && d.is_nan());
}

#[test]
fn rounding_functions_have_zero_derivative_at_their_jumps() {
    for x in [-2.0, -0.5, 0.0, 0.5, 3.0] {
        assert_eq!(rules::floor(x).1, 0.0);
        assert_eq!(rules::ceil(x).1, 0.0);
        assert_eq!(rules::round(x).1, 0.0);
        assert_eq!(rules::trunc(x).1, 0.0);
        // fract keeps the slope 1 of its pieces.
        assert_eq!(rules::fract(x).1, 1.0);
    }
}

#[test]
fn domain_boundaries_give_infinite_derivatives() {
    assert_eq!(rules::asin(1.0).1, f64::INFINITY);
    assert_eq!(rules::asin(-1.0).1, f64::INFINITY);
    assert_eq!(rules::acos(1.0).1, f64::NEG_INFINITY);
    assert_eq!(rules::acos(-1.0).1, f64::NEG_INFINITY);
    assert_eq!(rules::acosh(1.0).1, f64::INFINITY);
    assert_eq!(rules::atanh(1.0), (f64::INFINITY, f64::INFINITY));
    assert_eq!(rules::atanh(-1.0), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(rules::ln(0.0), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(rules::ln_1p(-1.0), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(rules::recip(0.0), (f64::INFINITY, f64::NEG_INFINITY));
    // Outside the domain the value is NaN (the derivative formula is still evaluated).
    assert!(rules::asin(1.5_f64).0.is_nan() && rules::asin(1.5_f64).1.is_nan());
    let (v, d) = rules::ln(-2.0_f64);
    assert!(v.is_nan() && d == -0.5);
}

#[test]
fn powf_conventions() {
    // d/dy at x = 0 is 0 (0^y is constant 0 for y > 0), for every y.
    for y in [-1.0, 0.0, 0.5, 1.0, 2.0] {
        assert_eq!(rules::powf(0.0, y).2, 0.0, "d/dy 0^{y}");
    }
    // d/dx at y = 0 is 0, even at x = 0 (x^0 = 1 for every x).
    for x in [0.0, -2.0, 3.0] {
        let (v, dx, _) = rules::powf(x, 0.0);
        assert_eq!((v, dx), (1.0, 0.0), "{x}^0");
    }
    // At x = 0 the x-derivative follows y x^(y-1): 0 for y > 1, 1 for y = 1, ∞ for 0 < y < 1.
    assert_eq!(rules::powf(0.0, 2.0).1, 0.0);
    assert_eq!(rules::powf(0.0, 1.0).1, 1.0);
    assert_eq!(rules::powf(0.0, 0.5).1, f64::INFINITY);
    // The fast path (from the value) and the slow path agree where the value underflows.
    let (x, y) = (1e-300_f64, 2.0);
    assert_close(
        rules::powf(x, y).1 / 2e-300,
        1.0,
        1e-12,
        "powf' with underflowing value",
    );
}

#[test]
fn powi_conventions() {
    assert_eq!(rules::powi(0.0, 0), (1.0, 0.0));
    assert_eq!(rules::powi(0.0, 1), (0.0, 1.0));
    assert_eq!(rules::powi(0.0, 2), (0.0, 0.0));
    assert_eq!(rules::powi(0.0, -1), (f64::INFINITY, f64::NEG_INFINITY));
    // i32::MIN has no n - 1; the derivative comes from the value.
    let (v, d) = rules::powi(1.0, i32::MIN);
    assert_eq!((v, d), (1.0, f64::from(i32::MIN)));
}

#[test]
fn origin_conventions_of_atan2_and_hypot() {
    assert_eq!(rules::atan2(0.0, 0.0), (0.0, 0.0, 0.0));
    assert_eq!(rules::hypot(0.0, 0.0), (0.0, 0.0, 0.0));
    assert_eq!(rules::hypot(-0.0, 0.0), (0.0, 0.0, 0.0));
}

#[test]
fn rem_partials_follow_the_branch_of_the_value() {
    // 6 % 2 = 0: the value lies on the branch q = 3 (continuous from y < 2), slope -3 in y.
    let (v, dx, dy) = rules::rem(6.0, 2.0);
    assert_eq!((v, dx, dy), (0.0, 1.0, -3.0));
    let h = 1e-6;
    let left = (6.0_f64 % 2.0 - 6.0_f64 % (2.0 - h)) / h;
    assert_close(dy, left, 1e-8, "one-sided d/dy of 6 % y at y = 2");
}

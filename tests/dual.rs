//! Dual numbers: operators, the num-traits impls, gradients from one vector-dual evaluation and
//! second derivatives through nested duals, each against closed forms.

mod common;

use autodiff::forward::{derivative, gradient, hessian, jacobian};
use autodiff::num_traits::{self, Float, FloatConst, Num, One, Signed, ToPrimitive, Zero};
use autodiff::{rules, Dual, Real};
use common::{assert_close, fd5};

type D2 = Dual<f64, 2>;

// ---------------------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------------------

/// All owned/borrowed combinations of one operator give the same dual number.
macro_rules! check_forms {
    ($a:expr, $b:expr, $c:expr, $op:tt, $op_assign:tt) => {{
        let (a, b, c): (D2, D2, f64) = ($a, $b, $c);
        let want = a $op b;
        for got in [&a $op b, a $op &b, &a $op &b, {
            let mut t = a;
            t $op_assign b;
            t
        }, {
            let mut t = a;
            t $op_assign &b;
            t
        }] {
            assert_eq!((got.re, got.eps), (want.re, want.eps));
        }
        let want = a $op c;
        for got in [&a $op c, a $op &c, &a $op &c, {
            let mut t = a;
            t $op_assign c;
            t
        }, {
            let mut t = a;
            t $op_assign &c;
            t
        }, a $op D2::constant(c)] {
            assert_eq!((got.re, got.eps), (want.re, want.eps));
        }
        let want = D2::constant(c) $op a;
        for got in [c $op a, c $op &a, &c $op a, &c $op &a] {
            assert_eq!((got.re, got.eps), (want.re, want.eps));
        }
    }};
}

#[test]
fn operator_forms_agree() {
    let a = D2::new(1.5, [0.25, -2.0]);
    let b = D2::new(-0.75, [3.0, 0.5]);
    check_forms!(a, b, 2.5, +, +=);
    check_forms!(a, b, 2.5, -, -=);
    check_forms!(a, b, 2.5, *, *=);
    check_forms!(a, b, 2.5, /, /=);
    check_forms!(a, b, 2.5, %, %=);
    let n = -a;
    assert_eq!((n.re, n.eps), (-1.5, [-0.25, 2.0]));
    assert_eq!((-&a).eps, n.eps);
}

#[test]
fn arithmetic_follows_the_sum_product_and_quotient_rules() {
    // Tangents are arbitrary directions (a', b'); closed forms of the directional derivatives.
    let (a, da) = (1.5, [0.25, -2.0]);
    let (b, db) = (-0.75, [3.0, 0.5]);
    let (x, y) = (D2::new(a, da), D2::new(b, db));
    for i in 0..2 {
        assert_close((x + y).eps[i], da[i] + db[i], 1e-15, "sum");
        assert_close((x - y).eps[i], da[i] - db[i], 1e-15, "difference");
        assert_close((x * y).eps[i], da[i] * b + a * db[i], 1e-15, "product");
        assert_close(
            (x / y).eps[i],
            (da[i] * b - a * db[i]) / (b * b),
            1e-15,
            "quotient",
        );
        // a % b = a - b trunc(a/b) with trunc(1.5 / -0.75) = -2.
        assert_close((x % y).eps[i], da[i] + 2.0 * db[i], 1e-15, "remainder");
        assert_close(
            (3.0 / x).eps[i],
            -3.0 * da[i] / (a * a),
            1e-15,
            "scalar / dual",
        );
        assert_close((3.0 - x).eps[i], -da[i], 0.0, "scalar - dual");
        assert_close((7.0 % x).eps[i], -4.0 * da[i], 1e-15, "scalar % dual");
    }
    assert_eq!((x * y).re, a * b);
    assert_eq!((x / y).re, a / b);
    assert_eq!((x % y).re, a % b);
    assert_eq!((7.0 % x).re, 7.0 % a);
}

#[test]
fn scalar_operands_do_not_create_nan_tangents() {
    // A constant times an infinite value must not produce 0·∞ in the tangents.
    let x = Dual::<f64, 1>::new(f64::INFINITY, [1.0]);
    assert_eq!((2.0 * x).eps, [2.0]);
    assert_eq!((x * 2.0).eps, [2.0]);
    assert_eq!((x + 2.0).eps, [1.0]);
}

#[test]
fn f32_duals() {
    let [x, y] = Dual::<f32, 2>::seed([2.0, 3.0]);
    let f = 2.0_f32 * x * y + y / x;
    // ∇ = (2y - y/x², 2x + 1/x)
    assert!((f.eps[0] - (6.0 - 0.75)).abs() <= 1e-6);
    assert!((f.eps[1] - 4.5).abs() <= 1e-6);
    assert_eq!(f.primal(), f64::from(2.0_f32 * 2.0 * 3.0 + 1.5));
}

// ---------------------------------------------------------------------------------------------
// Elementary functions take the rules
// ---------------------------------------------------------------------------------------------

#[test]
fn float_methods_apply_the_rules_with_the_chain_rule() {
    // With tangent direction t, f(x + tε) = f(x) + f'(x) t ε.
    let t = [0.5, -1.25];
    let x = D2::new(0.4, t);
    type U = (&'static str, fn(D2) -> D2, fn(f64) -> (f64, f64));
    let table: [U; 31] = [
        ("floor", Float::floor, rules::floor),
        ("ceil", Float::ceil, rules::ceil),
        ("round", Float::round, rules::round),
        ("trunc", Float::trunc, rules::trunc),
        ("fract", Float::fract, rules::fract),
        ("abs", Float::abs, rules::abs),
        ("signum", Float::signum, rules::signum),
        ("recip", Float::recip, rules::recip),
        ("sqrt", Float::sqrt, rules::sqrt),
        ("exp", Float::exp, rules::exp),
        ("exp2", Float::exp2, rules::exp2),
        ("ln", Float::ln, rules::ln),
        ("log2", Float::log2, rules::log2),
        ("log10", Float::log10, rules::log10),
        ("to_degrees", Float::to_degrees, rules::to_degrees),
        ("to_radians", Float::to_radians, rules::to_radians),
        ("cbrt", Float::cbrt, rules::cbrt),
        ("sin", Float::sin, rules::sin),
        ("cos", Float::cos, rules::cos),
        ("tan", Float::tan, rules::tan),
        ("asin", Float::asin, rules::asin),
        ("acos", Float::acos, rules::acos),
        ("atan", Float::atan, rules::atan),
        ("exp_m1", Float::exp_m1, rules::exp_m1),
        ("ln_1p", Float::ln_1p, rules::ln_1p),
        ("sinh", Float::sinh, rules::sinh),
        ("cosh", Float::cosh, rules::cosh),
        ("tanh", Float::tanh, rules::tanh),
        ("asinh", Float::asinh, rules::asinh),
        (
            "acosh",
            |x| Float::acosh(x + 1.0),
            |x| rules::acosh(x + 1.0),
        ),
        ("atanh", Float::atanh, rules::atanh),
    ];
    for (name, f, rule) in table {
        let y = f(x);
        let (v, d) = rule(0.4);
        assert_eq!(y.re, v, "{name}");
        assert_eq!(y.eps, [d * t[0], d * t[1]], "{name}");
    }
    let (s, c) = Float::sin_cos(x);
    assert_eq!(
        (s.re, s.eps, c.re, c.eps),
        (x.sin().re, x.sin().eps, x.cos().re, x.cos().eps)
    );
    let p = Float::powi(x, 3);
    assert_eq!(
        p.eps,
        [rules::powi(0.4, 3).1 * t[0], rules::powi(0.4, 3).1 * t[1]]
    );

    let y = D2::new(1.7, [2.0, 0.25]);
    type B = (
        &'static str,
        fn(D2, D2) -> D2,
        fn(f64, f64) -> (f64, f64, f64),
    );
    let table: [B; 8] = [
        ("powf", Float::powf, rules::powf),
        ("log", Float::log, rules::log),
        ("max", Float::max, rules::max),
        ("min", Float::min, rules::min),
        ("abs_sub", Float::abs_sub, rules::abs_sub),
        ("hypot", Float::hypot, rules::hypot),
        ("atan2", Float::atan2, rules::atan2),
        ("copysign", Float::copysign, rules::copysign),
    ];
    for (name, f, rule) in table {
        let z = f(x, y);
        let (v, dx, dy) = rule(x.re, y.re);
        assert_eq!(z.re, v, "{name}");
        for i in 0..2 {
            assert_close(z.eps[i], dx * x.eps[i] + dy * y.eps[i], 1e-15, name);
        }
    }
    let lo = D2::new(0.0, [1.0, 1.0]);
    let hi = D2::new(1.0, [-1.0, 3.0]);
    assert_eq!(Float::clamp(x, lo, hi).eps, x.eps);
    assert_eq!(Float::clamp(x - 1.0, lo, hi).eps, lo.eps);
    assert_eq!(Float::clamp(x + 1.0, lo, hi).eps, hi.eps);
    let m = Float::mul_add(x, y, lo);
    for i in 0..2 {
        assert_close(
            m.eps[i],
            x.eps[i] * y.re + x.re * y.eps[i] + lo.eps[i],
            1e-15,
            "fma",
        );
    }
}

#[test]
fn conventions_hold_through_duals() {
    let zero = Dual::<f64, 1>::variable(0.0, 0);
    assert_eq!(zero.abs().eps, [0.0]);
    assert_eq!(zero.signum().eps, [0.0]);
    assert_eq!(zero.sqrt().eps, [f64::INFINITY]);
    assert_eq!(zero.clamp(zero, zero + 1.0).eps, [1.0]);
    // A zero tangent stays zero under an infinite partial (no 0·∞ = NaN), as documented on
    // `Dual`, so the other inputs' derivatives survive.
    assert_eq!(Dual::<f64, 1>::constant(0.0).sqrt().eps, [0.0]);
    let (v, g) = gradient(|[x, y]| x.sqrt() * y + y.cbrt() + x.powf(y), [0.0, 0.5]);
    // ∂/∂x = y/(2√x) + y x^(y-1) = +∞; ∂/∂y = √x + 1/(3 ∛y²) + x^y ln x (= 0 at x = 0 by the
    // powf convention).
    assert_eq!(v, 0.5_f64.cbrt());
    assert_eq!(g[0], f64::INFINITY);
    assert_close(g[1], 1.0 / (3.0 * 0.5_f64.cbrt().powi(2)), 1e-15, "d/dy");
    // The same through constants: an infinite scalar factor does not reach zero tangents.
    let [x, y] = D2::seed([2.0, 3.0]);
    assert_eq!((x * f64::INFINITY).eps, [f64::INFINITY, 0.0]);
    assert_eq!((f64::INFINITY * y).eps, [0.0, f64::INFINITY]);
    assert_eq!((x / 0.0).eps, [f64::INFINITY, 0.0]);
    assert_eq!((x * D2::constant(f64::INFINITY)).eps, [f64::INFINITY, 0.0]);
}

// ---------------------------------------------------------------------------------------------
// Comparison, printing and num-traits
// ---------------------------------------------------------------------------------------------

#[test]
fn comparisons_look_at_the_primal_only() {
    let a = D2::new(1.0, [1.0, 0.0]);
    let b = D2::new(1.0, [0.0, 5.0]);
    let c = D2::new(2.0, [-1.0, 0.0]);
    assert!(a == b && a <= b && a >= b);
    assert!(a < c && c > b && a != c);
    assert!(a == 1.0 && a < 1.5 && c > 1.5);
    assert_eq!(a.partial_cmp(&D2::constant(f64::NAN)), None);
    assert!(D2::new(0.0, [1.0, 1.0]).is_zero());
    assert!(D2::new(1.0, [1.0, 1.0]).is_one());
}

#[test]
fn printing_and_defaults() {
    let x = D2::new(1.5, [0.25, -2.0]);
    assert_eq!(x.to_string(), "1.5 + [0.25, -2]ε");
    assert_eq!(format!("{x:.1}"), "1.5 + [0.2, -2.0]ε");
    assert_eq!(format!("{x:?}"), "Dual { re: 1.5, eps: [0.25, -2.0] }");
    let d = D2::default();
    assert_eq!((d.re, d.eps), (0.0, [0.0, 0.0]));
    let n: Dual<Dual<f64, 1>, 1> = Dual::default();
    assert_eq!(n.to_string(), "0 + [0]ε + [0 + [0]ε]ε");
}

#[test]
fn sum_and_product_of_iterators() {
    let xs = D2::seed([2.0, 3.0]);
    let s: D2 = xs.iter().sum();
    let p: D2 = xs.into_iter().product();
    assert_eq!((s.re, s.eps), (5.0, [1.0, 1.0]));
    assert_eq!((p.re, p.eps), (6.0, [3.0, 2.0]));
    let s2: D2 = xs.into_iter().sum();
    let p2: D2 = xs.iter().product();
    assert_eq!((s2.eps, p2.eps), (s.eps, p.eps));
}

#[test]
fn num_traits_conversions_and_constants() {
    let x = D2::new(2.75, [1.0, 0.0]);
    assert_eq!(x.to_i32(), Some(2));
    assert_eq!(x.to_f64(), Some(2.75));
    assert_eq!(x.to_u8(), Some(2));
    assert_eq!((-x).to_u32(), None);
    let c: D2 = num_traits::NumCast::from(7_u8).unwrap();
    assert_eq!((c.re, c.eps), (7.0, [0.0, 0.0]));
    let p = D2::from_str_radix("1.5", 10).unwrap();
    assert_eq!((p.re, p.eps), (1.5, [0.0, 0.0]));
    assert!(D2::from_str_radix("nope", 10).is_err());
    assert_eq!(D2::PI().re, std::f64::consts::PI);
    assert_eq!(D2::TAU().re, std::f64::consts::TAU);
    assert_eq!(D2::LOG2_10().re, std::f64::consts::LOG2_10);
    assert_eq!(D2::epsilon().re, f64::EPSILON);
    assert_eq!(D2::max_value().re, f64::MAX);
    assert!(D2::nan().is_nan() && D2::infinity().is_infinite() && x.is_finite());
    assert!(D2::neg_zero().is_sign_negative());
    assert_eq!(x.classify(), 2.75_f64.classify());
    assert_eq!(x.integer_decode(), 2.75_f64.integer_decode());
    assert_eq!(D2::from_f64(0.5).eps, [0.0, 0.0]);
    let from: D2 = 0.5.into();
    assert_eq!((from.re, from.eps), (0.5, [0.0, 0.0]));
    assert_eq!(Dual::<Dual<f32, 1>, 3>::from_f64(0.5).primal(), 0.5);
}

#[test]
fn signed_matches_float() {
    let x = D2::new(-2.0, [1.0, 0.5]);
    assert_eq!(Signed::abs(&x).eps, Float::abs(x).eps);
    assert_eq!(Signed::signum(&x).re, -1.0);
    assert_eq!(Signed::abs_sub(&x, &D2::constant(-3.0)).eps, x.eps);
    assert!(x.is_negative() && !x.is_positive());
}

#[test]
fn accessors_and_constructors() {
    let x = Dual::<f64, 3>::variable(2.0, 2);
    assert_eq!((x.value(), x.tangents()), (2.0, [0.0, 0.0, 1.0]));
    assert_eq!((x * x).eps[2], 4.0);
    assert_eq!((Dual::<f64, 1>::variable(3.0, 0).powi(2)).derivative(), 6.0);
}

#[test]
#[should_panic(expected = "out of range")]
fn variable_slot_out_of_range_panics() {
    let _ = Dual::<f64, 2>::variable(1.0, 2);
}

// ---------------------------------------------------------------------------------------------
// Gradients from one vector-dual evaluation
// ---------------------------------------------------------------------------------------------

#[test]
fn gradient_of_a_product_of_three_and_a_quotient() {
    // f(x, y, z) = x y z + sin(x) e^z / y
    let (x, y, z) = (0.7_f64, -1.3_f64, 0.4_f64);
    let (v, g) = gradient(|[x, y, z]| x * y * z + x.sin() * z.exp() / y, [x, y, z]);
    assert_close(v, x * y * z + x.sin() * z.exp() / y, 1e-15, "value");
    assert_close(g[0], y * z + x.cos() * z.exp() / y, 1e-14, "df/dx");
    assert_close(g[1], x * z - x.sin() * z.exp() / (y * y), 1e-14, "df/dy");
    assert_close(g[2], x * y + x.sin() * z.exp() / y, 1e-14, "df/dz");
}

#[test]
fn gradient_of_log_sum_exp_is_softmax() {
    let xs = [0.5_f64, -1.0, 2.0, 0.0];
    let (v, g) = gradient(
        |x| {
            let m = x
                .iter()
                .copied()
                .fold(Dual::constant(f64::NEG_INFINITY), Float::max);
            m + x
                .iter()
                .map(|&xi| (xi - m).exp())
                .sum::<Dual<f64, 4>>()
                .ln()
        },
        xs,
    );
    let z: f64 = xs.iter().map(|x| x.exp()).sum();
    assert_close(v, z.ln(), 1e-15, "logsumexp");
    for i in 0..4 {
        assert_close(g[i], xs[i].exp() / z, 1e-15, "softmax");
    }
}

#[test]
fn gradient_of_rosenbrock() {
    let (x, y) = (-1.2_f64, 1.0_f64);
    let (_, g) = gradient(
        |[x, y]| (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2),
        [x, y],
    );
    assert_close(
        g[0],
        -2.0 * (1.0 - x) - 400.0 * x * (y - x * x),
        1e-14,
        "d/dx",
    );
    assert_close(g[1], 200.0 * (y - x * x), 1e-14, "d/dy");
}

#[test]
fn derivative_and_jacobian_helpers() {
    // d/dx x^x = x^x (ln x + 1)
    let x = 1.8_f64;
    let (v, d) = derivative(|x| x.powf(x), x);
    assert_close(v, x.powf(x), 1e-15, "x^x");
    assert_close(d, x.powf(x) * (x.ln() + 1.0), 1e-14, "(x^x)'");
    // Spherical coordinates: the Jacobian determinant is r² sin θ.
    let (r, t, p) = (2.0_f64, 0.6_f64, -1.1_f64);
    let (_, j) = jacobian(
        |[r, t, p]| [r * t.sin() * p.cos(), r * t.sin() * p.sin(), r * t.cos()],
        [r, t, p],
    );
    let det = j[0][0] * (j[1][1] * j[2][2] - j[1][2] * j[2][1])
        - j[0][1] * (j[1][0] * j[2][2] - j[1][2] * j[2][0])
        + j[0][2] * (j[1][0] * j[2][1] - j[1][1] * j[2][0]);
    assert_close(det, r * r * t.sin(), 1e-14, "Jacobian determinant");
}

// ---------------------------------------------------------------------------------------------
// Second derivatives through nested duals
// ---------------------------------------------------------------------------------------------

type DD = Dual<Dual<f64, 1>, 1>;

fn second(f: impl Fn(DD) -> DD, x: f64) -> (f64, f64, f64) {
    let y = f(DD::variable(Dual::variable(x, 0), 0));
    // Both first-derivative slots must agree.
    assert_eq!(y.re.eps[0], y.eps[0].re);
    (y.re.re, y.re.eps[0], y.eps[0].eps[0])
}

#[test]
fn second_derivatives_of_elementary_functions() {
    for x in [-0.8, 0.2, 0.9] {
        let (v, d, dd) = second(|x| x.sin(), x);
        assert_eq!(v, x.sin());
        assert_close(d, x.cos(), 1e-15, "sin'");
        assert_close(dd, -x.sin(), 1e-15, "sin''");
        let (_, _, dd) = second(|x| x.tanh(), x);
        let t = x.tanh();
        assert_close(dd, -2.0 * t * (1.0 - t * t), 1e-15, "tanh''");
        let (_, _, dd) = second(|x| x.atan(), x);
        assert_close(dd, -2.0 * x / (1.0 + x * x).powi(2), 1e-15, "atan''");
        let (_, _, dd) = second(|x| x.asin(), x);
        assert_close(dd, x / (1.0 - x * x).powf(1.5), 1e-14, "asin''");
        let (_, _, dd) = second(|x| (x * x + 1.0).sqrt(), x);
        assert_close(dd, (x * x + 1.0).powf(-1.5), 1e-15, "sqrt(x²+1)''");
        let (_, _, dd) = second(|x| 1.0 / (1.0 + (-x).exp()), x);
        let s = 1.0 / (1.0 + (-x).exp());
        assert_close(dd, s * (1.0 - s) * (1.0 - 2.0 * s), 1e-15, "sigmoid''");
    }
    // Third derivative with three levels: (e^{2x})''' = 8 e^{2x}.
    type D3rd = Dual<DD, 1>;
    let x = 0.3_f64;
    let v = D3rd::variable(DD::variable(Dual::variable(x, 0), 0), 0);
    let y = (v + v).exp();
    assert_close(
        y.eps[0].eps[0].eps[0],
        8.0 * (2.0 * x).exp(),
        1e-14,
        "(e^2x)'''",
    );
}

#[test]
fn hessian_of_exp_xy() {
    let (x, y) = (0.8_f64, -0.4_f64);
    let (v, g, h) = hessian(|[x, y]| (x * y).exp(), [x, y]);
    let e = (x * y).exp();
    assert_close(v, e, 1e-15, "value");
    assert_close(g[0], y * e, 1e-15, "gradient x");
    assert_close(g[1], x * e, 1e-15, "gradient y");
    assert_close(h[0][0], y * y * e, 1e-15, "f_xx");
    assert_close(h[0][1], (1.0 + x * y) * e, 1e-15, "f_xy");
    assert_close(h[1][0], (1.0 + x * y) * e, 1e-15, "f_yx");
    assert_close(h[1][1], x * x * e, 1e-15, "f_yy");
}

#[test]
fn mixed_partial_of_x_to_the_y() {
    // ∂²/∂x∂y x^y = x^(y-1) (1 + y ln x); ∂²/∂x² = y(y-1)x^(y-2); ∂²/∂y² = x^y ln² x.
    for (x, y) in [(1.7_f64, 2.3_f64), (0.4, -1.5), (3.0, 0.5)] {
        let (_, _, h) = hessian(|[x, y]| x.powf(y), [x, y]);
        assert_close(h[0][1], x.powf(y - 1.0) * (1.0 + y * x.ln()), 1e-14, "f_xy");
        assert_close(h[1][0], h[0][1], 1e-14, "symmetry");
        assert_close(h[0][0], y * (y - 1.0) * x.powf(y - 2.0), 1e-14, "f_xx");
        assert_close(h[1][1], x.powf(y) * x.ln().powi(2), 1e-14, "f_yy");
    }
}

#[test]
fn hessian_of_rosenbrock_with_scalar_literals() {
    let (x, y) = (-1.2_f64, 1.0_f64);
    let (_, _, h) = hessian(
        |[x, y]| (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2),
        [x, y],
    );
    assert_close(h[0][0], 2.0 - 400.0 * (y - 3.0 * x * x), 1e-14, "f_xx");
    assert_close(h[0][1], -400.0 * x, 1e-14, "f_xy");
    assert_close(h[1][0], -400.0 * x, 1e-14, "f_yx");
    assert_close(h[1][1], 200.0, 1e-14, "f_yy");
}

#[test]
fn hessian_of_a_norm_against_central_differences_of_the_gradient() {
    // f = ‖v‖ = hypot chain; compare each Hessian column with a stencil of the forward gradient.
    let p = [0.3_f64, -1.1, 0.7];
    let f3 = |[a, b, c]: [D3; 3]| a.hypot(b).hypot(c);
    let (_, _, h) = hessian(|[a, b, c]| a.hypot(b).hypot(c), p);
    for j in 0..3 {
        for (i, row) in h.iter().enumerate() {
            let fd = fd5(
                |t| {
                    let mut q = p;
                    q[j] = t;
                    gradient(f3, q).1[i]
                },
                p[j],
                1.0 / 1024.0,
            );
            assert_close(row[j], fd, 1e-10, "Hessian entry");
        }
    }
}

type D3 = Dual<f64, 3>;

// ---------------------------------------------------------------------------------------------
// Generic code
// ---------------------------------------------------------------------------------------------

/// A function written against `num_traits::Float` only, with a data-dependent branch.
fn piecewise<F: Float>(x: F, y: F) -> F {
    let two = F::from(2.0).unwrap();
    if x < y {
        (x * y).sin() + two * x
    } else {
        x.powi(3) / y - y.exp()
    }
}

#[test]
fn generic_float_code_runs_on_f64_f32_and_duals() {
    for (x, y) in [(0.5_f64, 1.5_f64), (2.0, 0.75)] {
        let v64 = piecewise(x, y);
        let v32 = piecewise(x as f32, y as f32);
        let (vd, g) = gradient(|[x, y]| piecewise(x, y), [x, y]);
        assert_eq!(vd, v64, "dual value equals the f64 value");
        assert!((f64::from(v32) - v64).abs() <= 1e-6 * v64.abs().max(1.0));
        // The dual takes the same branch as f64: its gradient is that branch's closed form.
        let want = if x < y {
            [y * (x * y).cos() + 2.0, x * (x * y).cos()]
        } else {
            [3.0 * x * x / y, -x.powi(3) / (y * y) - y.exp()]
        };
        assert_close(g[0], want[0], 1e-14, "d/dx");
        assert_close(g[1], want[1], 1e-14, "d/dy");
    }
}

/// A function written against `Real`, using `from_f64` for literals and compound assignment.
fn horner<T: Real>(coeffs: &[f64], x: T) -> T {
    let mut acc = T::zero();
    for &c in coeffs.iter().rev() {
        acc *= x;
        acc += T::from_f64(c);
    }
    acc
}

#[test]
fn generic_real_code_runs_on_f64_f32_and_nested_duals() {
    // p(x) = 1 - 2x + 3x², p' = -2 + 6x, p'' = 6
    let c = [1.0, -2.0, 3.0];
    let x = 0.7_f64;
    assert_close(horner(&c, x), 1.0 - 1.4 + 3.0 * 0.49, 1e-15, "f64");
    assert!((f64::from(horner(&c, 0.7_f32)) - 1.07).abs() <= 1e-6);
    let (v, d, dd) = second(|x| horner(&c, x), x);
    assert_close(v, 1.07, 1e-15, "value");
    assert_close(d, -2.0 + 6.0 * x, 1e-15, "p'");
    assert_close(dd, 6.0, 1e-15, "p''");
}

/// `max` inside generic code: the branch decision and the tie convention go through the rules.
#[test]
fn generic_max_relu() {
    fn relu<F: Float>(x: F) -> F {
        x.max(F::zero())
    }
    assert_eq!(derivative(relu, 2.0).1, 1.0);
    assert_eq!(derivative(relu, -2.0).1, 0.0);
    assert_eq!(derivative(relu, 0.0).1, 0.5);
    assert_eq!(relu(-2.0_f32), 0.0);
}

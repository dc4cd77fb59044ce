//! Arrays across calls of `#[differentiate]` functions: local arrays passed to a callee (the
//! state of an ODE stepper), a callee's `[f64; N]` result bound to a name and indexed, bound by
//! `let [a, b] = g(..)` or returned as it is, and one array passed to two parameters
//! (`dot(&v, &v)`). Each function is checked against central differences of itself (1e-8) and
//! its forward mode (1e-12); the RK4 stepper also against the same stepper written without
//! calls.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]

mod common;
use autodiff::differentiate;
use common::*;

// ------------------------------------------------------------------ an RK4 pendulum

/// The pendulum `θ'' = -k sin θ` as a first-order system.
#[differentiate]
fn pendulum(s: &[f64], k: f64) -> [f64; 2] {
    [s[1], -k * s[0].sin()]
}

/// Energy after `n` RK4 steps from `p = [θ0, ω0, k, h]`: each stage passes a local array to
/// `pendulum` and reads the array it returns.
#[differentiate]
fn rk4_energy(p: &[f64], n: usize) -> f64 {
    let (k, h) = (p[2], p[3]);
    let mut s = [p[0], p[1]];
    for _ in 0..n {
        let k1 = pendulum(&s, k);
        let mut t = [0.0; 2];
        for i in 0..2 {
            t[i] = s[i] + 0.5 * h * k1[i];
        }
        let k2 = pendulum(&t, k);
        for i in 0..2 {
            t[i] = s[i] + 0.5 * h * k2[i];
        }
        let k3 = pendulum(&t, k);
        for i in 0..2 {
            t[i] = s[i] + h * k3[i];
        }
        let k4 = pendulum(&t, k);
        for i in 0..2 {
            s[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    0.5 * s[1] * s[1] - k * s[0].cos()
}

/// The same stepper with the right-hand side written out, for its value.
fn rk4_energy_inline(p: &[f64], n: usize) -> f64 {
    let (k, h) = (p[2], p[3]);
    let f = |s: [f64; 2]| [s[1], -k * s[0].sin()];
    let mut s = [p[0], p[1]];
    for _ in 0..n {
        let k1 = f(s);
        let k2 = f([s[0] + 0.5 * h * k1[0], s[1] + 0.5 * h * k1[1]]);
        let k3 = f([s[0] + 0.5 * h * k2[0], s[1] + 0.5 * h * k2[1]]);
        let k4 = f([s[0] + h * k3[0], s[1] + h * k3[1]]);
        for i in 0..2 {
            s[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    0.5 * s[1] * s[1] - k * s[0].cos()
}

#[test]
fn rk4_stepper_with_local_state() {
    let p = [0.9, -0.3, 2.5, 0.05];
    for n in [0, 1, 7, 40] {
        assert_close(rk4_energy(&p, n), rk4_energy_inline(&p, n), 1e-14);
        check_slice_function(
            &p,
            |p| rk4_energy(p, n),
            |p, g| rk4_energy_grad(p, g, n),
            |p, dp| rk4_energy_jvp(p, dp, n).1,
        );
    }
    // RK4 conserves the energy to O(h⁴) over a short run: its derivative with respect to the
    // step is small next to its derivative with respect to the start.
    let mut g = [0.0; 4];
    rk4_energy_grad(&p, &mut g, 40);
    assert!(g[3].abs() < 1e-2 * g[0].abs(), "{g:?}");
}

/// A damped pendulum run until it settles: a `while` loop whose trip count depends on the
/// state, stepping through a callee that itself calls `pendulum`.
#[differentiate]
fn euler_step(s: &[f64], k: f64, h: f64) -> [f64; 2] {
    let d = pendulum(s, k);
    [s[0] + h * d[0], (s[1] + h * d[1]) * 0.98]
}

#[differentiate]
fn settle(p: &[f64]) -> f64 {
    let mut s = [p[0], p[1]];
    let mut steps = 0;
    while s[0].abs() + s[1].abs() > 0.05 && steps < 2000 {
        let next = euler_step(&s, p[2], 0.05);
        s = [next[0], next[1]];
        steps += 1;
    }
    s[0] * s[0] + s[1]
}

#[test]
fn data_dependent_loop_of_calls_on_a_local_state() {
    check_slice_function(&[0.4, 0.2, 3.0], settle, settle_grad, |p, dp| {
        settle_jvp(p, dp).1
    });
}

// ------------------------------------------------------------------ local arrays as arguments

#[differentiate]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut t = 0.0;
    for i in 0..a.len() {
        t += a[i] * b[i];
    }
    t
}

/// A vector passed whole and by ranges, then overwritten: the callee's reverse sweep must see
/// the values it was called with.
#[differentiate]
fn overwritten_after_the_call(w: &[f64]) -> f64 {
    let n = w.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[i] = w[i] * w[0];
    }
    let a = dot(&v, w);
    let b = dot(&v[1..3], &w[0..2]);
    for i in 0..n {
        v[i] = v[i].sin();
    }
    a * b + dot(&v, w)
}

/// A local array passed in a loop, changed between the calls.
#[differentiate]
fn passed_in_a_loop(w: &[f64]) -> f64 {
    let mut h = [0.0; 3];
    let mut acc = 0.0;
    for k in 0..w.len() - 2 {
        for j in 0..3 {
            h[j] = (w[k + j] * (j as f64 + 1.0)).tanh();
        }
        acc += dot(&h, &w[k..k + 3]) * dot(&h[1..], &w[..2]);
    }
    acc
}

/// Calls inside branches, with array patterns and a `_`.
#[differentiate]
fn in_branches(w: &[f64]) -> f64 {
    let mut s = [w[0], w[1]];
    let mut r = w[2];
    if w[2] > 0.0 {
        let d = pendulum(&s, w[2]);
        r *= d[0] * d[1];
        s[0] = 2.0 * s[1];
    } else {
        let [p, q] = pendulum(&s, -w[2]);
        r += p + q;
    }
    if r < 100.0 {
        let [c, _] = pendulum(&s, r);
        r += c * s[0];
    }
    r
}

#[test]
fn local_arrays_passed_to_callees() {
    let w = [0.3, -0.7, 1.1, 0.4, -0.25];
    check_slice_function(
        &w,
        overwritten_after_the_call,
        overwritten_after_the_call_grad,
        |w, dw| overwritten_after_the_call_jvp(w, dw).1,
    );
    check_slice_function(&w, passed_in_a_loop, passed_in_a_loop_grad, |w, dw| {
        passed_in_a_loop_jvp(w, dw).1
    });
    for w2 in [1.1, -1.1] {
        let w = [0.3, -0.7, w2];
        check_slice_function(&w, in_branches, in_branches_grad, |w, dw| {
            in_branches_jvp(w, dw).1
        });
    }
}

/// An array parameter taken by value, passed on by reference (and through a local literal).
#[differentiate]
fn by_value(c: [f64; 3], x: f64) -> f64 {
    let o = [1.0, 1.0, 2.0];
    dot(&c, &o) * x + dot(&c[1..], &o[..2]) + dot(&c, &c)
}

#[test]
fn array_parameter_by_value_passed_by_reference() {
    let c = [0.3, -0.7, 1.1];
    let mut dc = [0.0; 3];
    let (v, [dx]) = by_value_grad(c, &mut dc, 0.8);
    let f = |p: [f64; 4]| by_value([p[0], p[1], p[2]], p[3]);
    assert_close(v, f([c[0], c[1], c[2], 0.8]), 1e-14);
    let num = numeric_gradient(f, [c[0], c[1], c[2], 0.8]);
    assert_all_close(&[dc[0], dc[1], dc[2], dx], &num, 1e-8);
    // d/dc of c·o x + c[1..]·o[..2] + c·c, by hand.
    let want = [
        0.8 + 2.0 * c[0],
        0.8 + 1.0 + 2.0 * c[1],
        1.6 + 1.0 + 2.0 * c[2],
    ];
    assert_all_close(&dc, &want, 1e-14);
}

// ------------------------------------------------------------------ one array, two parameters

#[differentiate]
fn dot_n<const N: usize>(a: &[f64; N], b: &[f64; N]) -> f64 {
    let mut t = 0.0;
    for i in 0..N {
        t += a[i] * b[i];
    }
    t
}

#[differentiate]
fn passed_twice(x: &[f64]) -> f64 {
    let mut v = vec![0.0; x.len()];
    let mut acc = dot(x, x) + dot(&x[0..2], &x[1..3]);
    for k in 0..3 {
        for i in 0..x.len() {
            v[i] = x[i] * x[0] + k as f64;
        }
        acc += dot(&v, &v).sqrt() * dot(&v[1..], &x[1..]);
    }
    let a = [x[0], x[1] * x[2]];
    acc + dot_n(&a, &a)
}

#[test]
fn one_array_passed_to_two_parameters() {
    let x = [0.3, -0.7, 1.1, 0.4];
    check_slice_function(&x, passed_twice, passed_twice_grad, |x, dx| {
        passed_twice_jvp(x, dx).1
    });
    // ‖x‖² alone: the gradient is 2x.
    let mut g = [0.0; 4];
    #[differentiate]
    fn norm2(x: &[f64]) -> f64 {
        dot(x, x)
    }
    norm2_grad(&x, &mut g);
    assert_all_close(&g, &x.map(|v| 2.0 * v), 1e-15);
}

// ------------------------------------------------------------------ results of several values

#[differentiate]
fn polar(r: f64, t: f64) -> (f64, f64) {
    (r * t.cos(), r * t.sin())
}

/// Returns the callee's outputs as they are.
#[differentiate]
fn forwarded_tuple(a: f64, b: f64) -> (f64, f64) {
    polar(b, a.sin())
}

#[differentiate]
fn forwarded_array(s: &[f64], k: f64) -> [f64; 2] {
    if k > 0.0 {
        return pendulum(s, k);
    }
    pendulum(s, -k * k)
}

/// A result bound `mut` and changed.
#[differentiate]
fn changed_result(w: &[f64]) -> f64 {
    let mut k = pendulum(w, w[2]);
    k[0] += w[2] * k[1];
    k[1] *= k[0];
    k[0] * k[1]
}

#[test]
fn results_forwarded_and_changed() {
    let (a, b) = (0.3, 0.7);
    let j = forwarded_tuple_jacobian(a, b);
    let want = [
        [b * a.cos() * -a.sin().sin(), a.sin().cos()],
        [b * a.cos() * a.sin().cos(), a.sin().sin()],
    ];
    for r in 0..2 {
        assert_all_close(&j[r], &want[r], 1e-14);
    }
    let s = [0.3, 0.1];
    for k in [2.0, -2.0] {
        let (v, back) = forwarded_array_vjp(&s, k);
        assert_all_close(&v, &pendulum(&s, if k > 0.0 { k } else { -k * k }), 0.0);
        let mut ds = [0.0; 2];
        let [dk] = back([0.0, 1.0], &mut ds);
        // d(-k' sin s0) with k' = k or -k².
        let (kk, dkk) = if k > 0.0 {
            (k, 1.0)
        } else {
            (-k * k, -2.0 * k)
        };
        assert_all_close(&ds, &[-kk * s[0].cos(), 0.0], 1e-15);
        assert_close(dk, -dkk * s[0].sin(), 1e-15);
    }
    check_slice_function(
        &[0.3, 0.1, 1.7],
        changed_result,
        changed_result_grad,
        |w, dw| changed_result_jvp(w, dw).1,
    );
}

// ------------------------------------------------------------------ methods

struct Pendulum {
    g: f64,
}

impl Pendulum {
    #[differentiate]
    fn acceleration(&self, s: &[f64], l: f64) -> [f64; 2] {
        [s[1], -self.g / l * s[0].sin()]
    }

    #[differentiate]
    fn run(&self, p: &[f64]) -> f64 {
        let mut s = p[..2].to_vec();
        let mut e = 0.0;
        for _ in 0..20 {
            let a = self.acceleration(&s, p[2]);
            let b = Self::acceleration(self, &s, p[2]);
            for i in 0..2 {
                s[i] += 0.01 * (a[i] + b[i]);
            }
            e += a[0] * a[0];
        }
        e + s[0]
    }
}

#[test]
fn methods_with_local_arrays() {
    let m = Pendulum { g: 9.8 };
    check_slice_function(
        &[0.3, 0.1, 1.5],
        |p| m.run(p),
        |p, g| m.run_grad(p, g),
        |p, dp| m.run_jvp(p, dp).1,
    );
}

// ------------------------------------------------------------------ arrays assigned whole

/// A plain function of data, not differentiated.
fn halves() -> [f64; 3] {
    [0.5; 3]
}

#[differentiate]
fn euler_run(p: &[f64], #[constant] start: &[f64]) -> f64 {
    let mut s = start.to_vec();
    s[0] += p[0];
    for _ in 0..5 {
        s = euler_step(&s, p[1], 0.1).to_vec();
    }
    let mut t = [0.0; 2];
    for _ in 0..5 {
        t = euler_step(&t, p[1], 0.1);
        // A swap written as an array: both values are read before either changes.
        t = [t[1] + s[0], t[0]];
    }
    let mut h = [0.0; 3];
    let mut acc = 0.0;
    for i in 0..3 {
        acc += h[2];
        h = halves();
        h[i] += p[i % 2] * t[0];
        acc += h[0] * h[1];
    }
    s[0] * s[1] + acc
}

#[test]
fn arrays_assigned_from_calls_and_literals() {
    let start = [0.1, 0.2];
    check_slice_function(
        &[0.4, 2.0],
        |p| euler_run(p, &start),
        |p, g| euler_run_grad(p, g, &start),
        |p, dp| euler_run_jvp(p, dp, &start).1,
    );
}

// ------------------------------------------------------------------ found by stress tests

/// Accelerations of two unit masses on springs: the leapfrog integrator below reassigns the
/// array it first bound from a call.
#[differentiate]
fn springs(x: &[f64], k: f64) -> [f64; 2] {
    [
        -k * x[0] + 0.5 * (x[1] - x[0]),
        -k * x[1] - 0.5 * (x[1] - x[0]).sin(),
    ]
}

#[differentiate]
fn leapfrog(p: &[f64]) -> f64 {
    let k = p[4];
    let mut x = [p[0], p[1]];
    let mut v = [p[2], p[3]];
    let mut acc = springs(&x, k);
    for _ in 0..8 {
        for i in 0..2 {
            v[i] += 0.05 * acc[i];
            x[i] += 0.1 * v[i];
        }
        acc = springs(&x, k);
        for i in 0..2 {
            v[i] += 0.05 * acc[i];
        }
    }
    let mut c = acc;
    c[0] *= 2.0;
    let mut s = springs(&v, k).to_vec();
    s[1] += x[0];
    x[0] * v[1] + c[0] * s[1] + springs(&x, k)[1]
}

/// Newton's method on a residual returning `[f64; 2]`, reassigned in a `while` loop.
#[differentiate]
fn residual(v: &[f64], a: f64) -> [f64; 2] {
    [v[0] * v[0] + v[1] - a, v[0] - v[1] * v[1] * v[1]]
}

#[differentiate]
fn newton(p: &[f64]) -> f64 {
    let mut v = [1.0, 1.0];
    let mut r = residual(&v, p[0]);
    let mut steps = 0;
    while (r[0].abs() + r[1].abs()) > 1e-13 && steps < 50 {
        // The Jacobian [[2v0, 1], [1, -3v1²]], inverted by hand.
        let (a, b, c, d) = (2.0 * v[0], 1.0, 1.0, -3.0 * v[1] * v[1]);
        let det = a * d - b * c;
        v[0] -= (d * r[0] - b * r[1]) / det;
        v[1] -= (-c * r[0] + a * r[1]) / det;
        r = residual(&v, p[0]);
        steps += 1;
    }
    v[0] + 2.0 * v[1]
}

#[test]
fn reassigned_call_results() {
    check_slice_function(
        &[0.4, -0.3, 0.1, 0.2, 1.5],
        leapfrog,
        leapfrog_grad,
        |p, dp| leapfrog_jvp(p, dp).1,
    );
    // Newton converges to the root, whose derivative is the implicit one: only the last
    // steps matter, so central differences and forward mode agree with it.
    let p = [2.5];
    let mut g = [0.0];
    newton_grad(&p, &mut g);
    assert_close(g[0], numeric_slice_gradient(newton, &p)[0], 1e-7);
    assert_close(g[0], newton_jvp(&p, &[1.0]).1, 1e-12);
}

/// A sum of two values, and its square: `square(sum2(&z))` passes a call that takes a local
/// array as the argument of another call.
#[differentiate]
fn sum2(z: &[f64]) -> f64 {
    z[0] + z[1]
}

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

#[differentiate]
fn nested_calls(w: &[f64]) -> f64 {
    let z = [w[0], w[1] * w[2]];
    let mut acc = square(sum2(&z)) + w[0];
    let t = sum2(&z);
    acc += square(t);
    for i in (0..3).step_by(2) {
        acc += sum2(&w[i..i + 2]) * square(sum2(&w[i / 2..i / 2 + 2]));
    }
    acc
}

/// Results bound inside branches of a loop, one element read.
#[differentiate]
fn results_in_branches(w: &[f64]) -> f64 {
    let mut s = [w[0], w[1]];
    let mut acc = 0.0;
    for k in 0..4 {
        if s[0] > -10.0 {
            let r = pendulum(&s, w[2]);
            s[0] += 0.1 * r[0];
        }
        match k % 2 {
            0 => {
                let q = pendulum(w, 1.0);
                acc += q[1].sin();
            }
            _ => acc += 2.0 * pendulum(&s, w[2])[1],
        }
    }
    acc + s[0]
}

#[test]
fn calls_nested_and_in_branches() {
    let w = [0.3, -0.7, 1.1, 0.4];
    check_slice_function(&w, nested_calls, nested_calls_grad, |w, dw| {
        nested_calls_jvp(w, dw).1
    });
    check_slice_function(
        &w[..3],
        results_in_branches,
        results_in_branches_grad,
        |w, dw| results_in_branches_jvp(w, dw).1,
    );
}

/// A layer returning `[f64; 2]`, its result fed to the next layer.
#[differentiate]
fn layer(w: &[f64], z: &[f64]) -> [f64; 2] {
    [
        (w[0] * z[0] + w[1] * z[1]).tanh(),
        (w[2] * z[0] - w[3] * z[1]).tanh(),
    ]
}

#[differentiate]
fn weighted(a: &[f64], #[constant] weights: &[f64]) -> f64 {
    weights[0] * a[0] * a[1] + weights[1] * a[1]
}

#[differentiate]
fn two_layers(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let h1 = layer(&w[0..4], x);
    let h2 = layer(&w[4..8], &h1);
    let grid = [1.0, 2.0];
    // Arrays written out as arguments, to a differentiated and to a constant parameter.
    let lit = dot(&h2, &[0.5, -1.5]) + weighted(&h1, &[2.0, 0.25]);
    // A local closure over a slice, called with a local array.
    let affine = |u: &[f64]| layer(&[u[0], 1.0, u[1], -1.0], u);
    let h3 = affine(&h2);
    lit + weighted(&h3, &grid) + dot(&h1, &h2)
}

#[test]
fn results_passed_on_and_arrays_written_out() {
    let w = [0.3, -0.7, 1.1, 0.4, -0.25, 0.6, 0.9, -0.35];
    let x = [0.8, -0.5];
    check_slice_function(
        &w,
        |w| two_layers(w, &x),
        |w, g| two_layers_grad(w, g, &x),
        |w, dw| two_layers_jvp(w, dw, &x).1,
    );
}

/// Results only walked by iterators (never indexed), reassigned; a result zipped with an
/// `iter_mut()` inside a loop; a result copied whole into an array.
#[differentiate]
fn results_walked(w: &[f64]) -> f64 {
    let mut a = springs(w, 1.5);
    let s1: f64 = a.iter().sum();
    a = springs(&[s1, 1.0], 1.5);
    let s2: f64 = a.iter().map(|v| v * v).sum();
    let mut h = [w[0], w[1]];
    for _ in 0..2 {
        let q = springs(&h, w[1]);
        for (hi, qi) in h.iter_mut().zip(q.iter()) {
            *hi += 0.1 * qi;
        }
    }
    let mut s = [w[0], w[1]];
    let q = springs(&s, 2.0);
    s = q;
    s2 + h[0] * h[1] + s[0] * s[1]
}

#[test]
fn results_walked_by_iterators_and_copied() {
    check_slice_function(
        &[0.5, -0.3],
        results_walked,
        results_walked_grad,
        |w, dw| results_walked_jvp(w, dw).1,
    );
}

// ------------------------------------------------------------------ a result declared with its type

#[differentiate]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[differentiate]
fn length(a: [f64; 3]) -> f64 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

/// `c` is passed on by value and never indexed: its declared type says it is an array.
#[differentiate]
fn triangle_area(p: &[f64]) -> f64 {
    let a = [p[0], p[1], p[2]];
    let b = [p[3], p[4], p[5]];
    let c: [f64; 3] = cross(a, b);
    0.5 * length(c)
}

#[test]
fn array_result_declared_with_its_type() {
    let p = [1.0, 2.0, 0.5, 0.3, -1.0, 2.0];
    check_slice_function(&p, triangle_area, triangle_area_grad, |p, dp| {
        triangle_area_jvp(p, dp).1
    });
}

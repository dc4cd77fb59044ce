//! `&mut` array parameters: callees that write their results into a buffer (`dense(w, b, x,
//! &mut h)`), change an array in place (`tanh_in_place(&mut h)`, an ODE step on `&mut s`), or
//! pass their own `&mut` parameter on (`layer` → `dense`). Callers are checked against central
//! differences (1e-8), forward mode (1e-12) and, for the ODE, the same loop written without a
//! call (1e-14); the siblings of a function with a `&mut` parameter (`_jvp`, `_vjp`) against
//! central differences of what it writes and against each other.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]

mod common;
use autodiff::differentiate;
use common::*;

// ------------------------------------------------------------------ layers writing into buffers

/// `out = W x + b` with `W` row-major, `out.len()` rows.
#[differentiate]
fn dense(w: &[f64], b: &[f64], x: &[f64], out: &mut [f64]) {
    let n = x.len();
    for i in 0..out.len() {
        let mut s = b[i];
        for j in 0..n {
            s += w[i * n + j] * x[j];
        }
        out[i] = s;
    }
}

#[differentiate]
fn tanh_in_place(v: &mut [f64]) {
    for x in v.iter_mut() {
        *x = x.tanh();
    }
}

/// Passes its own `&mut` parameter on, as it is.
#[differentiate]
fn layer(w: &[f64], b: &[f64], x: &[f64], out: &mut [f64]) {
    dense(w, b, x, out);
    tanh_in_place(out);
}

/// A 2-3-2 network with all its weights in one slice, buffers made by the caller.
#[differentiate]
fn mlp(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let mut h = vec![0.0; 3];
    layer(&w[0..6], &w[6..9], x, &mut h);
    let mut o = vec![0.0; 2];
    dense(&w[9..15], &w[15..17], &h, &mut o);
    let mut s = 0.0;
    for v in &o {
        s += v * v;
    }
    s
}

/// The same network with the layers written out.
#[differentiate]
fn mlp_inline(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..3 {
        let mut s = w[6 + i];
        for j in 0..2 {
            s += w[i * 2 + j] * x[j];
        }
        h[i] = s.tanh();
    }
    let mut total = 0.0;
    for i in 0..2 {
        let mut s = w[15 + i];
        for j in 0..3 {
            s += w[9 + i * 3 + j] * h[j];
        }
        total += s * s;
    }
    total
}

#[test]
fn layers_writing_into_buffers() {
    let w: Vec<f64> = (0..17)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) * 0.13)
        .collect();
    let x = [0.9, -1.1];
    check_slice_function(
        &w,
        |w| mlp(w, &x),
        |w, dw| mlp_grad(w, dw, &x),
        |w, dw| mlp_jvp(w, dw, &x).1,
    );
    let (mut g, mut g_inline) = (vec![0.0; 17], vec![0.0; 17]);
    let v = mlp_grad(&w, &mut g, &x);
    let v_inline = mlp_inline_grad(&w, &mut g_inline, &x);
    assert_close(v, v_inline, 1e-14);
    assert_all_close(&g, &g_inline, 1e-14);
}

// ------------------------------------------------------------------ an ODE stepped in place

/// One explicit Euler step of a damped pendulum on the state `s`, returning its kinetic
/// energy before the step; `return`s early for a step that is not positive.
#[differentiate]
fn euler(p: &[f64], dt: f64, s: &mut [f64; 2]) -> f64 {
    if dt <= 0.0 {
        return 0.0;
    }
    let v = s[1];
    s[1] -= dt * p[0] * s[0].sin() + dt * p[1] * v;
    s[0] += dt * v;
    0.5 * v * v
}

#[differentiate]
fn simulate(p: &[f64], dt: f64) -> f64 {
    let mut s = [p[2], p[3]];
    let mut kinetic = 0.0;
    for _ in 0..25 {
        kinetic += euler(p, dt, &mut s);
    }
    s[0] * s[0] + kinetic
}

#[differentiate]
fn simulate_inline(p: &[f64], dt: f64) -> f64 {
    let mut s = [p[2], p[3]];
    let mut kinetic = 0.0;
    for _ in 0..25 {
        if dt > 0.0 {
            let v = s[1];
            s[1] -= dt * p[0] * s[0].sin() + dt * p[1] * v;
            s[0] += dt * v;
            kinetic += 0.5 * v * v;
        }
    }
    s[0] * s[0] + kinetic
}

#[test]
fn ode_state_stepped_in_place() {
    let p = [2.0, 0.3, 0.7, -0.2];
    for dt in [0.05, -0.05] {
        check_slice_function(
            &p,
            |p| simulate(p, dt),
            |p, dp| simulate_grad(p, dp, dt).0,
            |p, dp| simulate_jvp(p, dp, dt, 0.0).1,
        );
        let (mut g, mut g_inline) = ([0.0; 4], [0.0; 4]);
        let (v, [d_dt]) = simulate_grad(&p, &mut g, dt);
        let (v_inline, [d_dt_inline]) = simulate_inline_grad(&p, &mut g_inline, dt);
        assert_close(v, v_inline, 1e-14);
        assert_all_close(&g, &g_inline, 1e-14);
        assert_close(d_dt, d_dt_inline, 1e-14);
    }
}

// ------------------------------------------------------------------ ranges, branches, reuse

/// A range lent `&mut`, an element read before a later call changes it, a call in a branch.
#[differentiate]
fn lent_in_parts(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    tanh_in_place(&mut v[1..3]);
    let first = v[0] * v[1];
    if x[0] > 0.0 {
        tanh_in_place(&mut v);
    }
    tanh_in_place(&mut v[2..]);
    first + v[0] * v[3] + v[2] * v[1]
}

/// `&mut Vec<f64>` and a unit function that returns early.
#[allow(clippy::ptr_arg)]
#[differentiate]
fn scale_tail(v: &mut Vec<f64>, k: f64, from: usize) {
    if from >= v.len() {
        return;
    }
    for i in from..v.len() {
        v[i] = k * v[i] * v[i];
    }
}

/// A callee that returns a value and writes a buffer, bound by `let`.
#[differentiate]
fn normalise(v: &mut [f64]) -> f64 {
    let mut n = 0.0;
    for x in v.iter() {
        n += x * x;
    }
    let n = n.sqrt();
    for i in 0..v.len() {
        v[i] /= n;
    }
    n
}

#[differentiate]
fn uses_both(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    let norm = normalise(&mut v);
    scale_tail(&mut v, x[0], 1);
    scale_tail(&mut v, 2.0, 10);
    let mut s = norm;
    for i in 0..v.len() {
        s += (i as f64 + 1.0) * v[i];
    }
    s
}

#[test]
fn ranges_branches_and_values() {
    for x in [[0.3, -0.6, 0.8, 1.2], [-0.3, -0.6, 0.8, 1.2]] {
        check_slice_function(&x, lent_in_parts, lent_in_parts_grad, |x, dx| {
            lent_in_parts_jvp(x, dx).1
        });
        check_slice_function(&x, uses_both, uses_both_grad, |x, dx| {
            uses_both_jvp(x, dx).1
        });
    }
}

// ------------------------------------------------------------------ the siblings themselves

/// Reads and writes its `&mut` parameter, and returns a value.
#[differentiate]
fn update(a: f64, x: &[f64], y: &mut [f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..y.len() {
        y[i] = y[i] * y[i] + a * x[i].sin();
        s += y[i];
    }
    s * a
}

/// `update`'s value plus `Σ c_i y_i` of what it leaves in `y`: a scalar for central differences.
fn weighted(a: f64, x: &[f64], y0: &[f64], c: &[f64]) -> f64 {
    let mut y = y0.to_vec();
    let r = update(a, x, &mut y);
    r + y.iter().zip(c).map(|(y, c)| y * c).sum::<f64>()
}

#[test]
fn siblings_of_a_function_with_a_mut_parameter() {
    let (a, x, y0, c) = (1.3, [0.5, -0.25, 1.0], [0.3, 0.7, -0.2], [0.1, 0.2, -0.3]);
    // `_vjp`: the buffer of `y` holds `c` (the sensitivity of the final `y`) going in, and
    // the derivative with respect to the first `y` coming out.
    let mut y = y0;
    let (value, back) = update_vjp(a, &x, &mut y);
    let mut y_plain = y0;
    assert_same(value, update(a, &x, &mut y_plain), "value");
    assert_eq!(y, y_plain, "what `_vjp` leaves in `y`");
    let (mut dx, mut dy) = ([0.0; 3], c);
    let [da] = back(1.0, &mut dx, &mut dy);
    assert_close(
        da,
        numeric_derivative(|a| weighted(a, &x, &y0, &c), a),
        1e-8,
    );
    let num_x = numeric_slice_gradient(|x| weighted(a, x, &y0, &c), &x);
    let num_y = numeric_slice_gradient(|y| weighted(a, &x, y, &c), &y0);
    assert_all_close(&dx, &num_x, 1e-8);
    assert_all_close(&dy, &num_y, 1e-8);
    // `_jvp` along (ȧ, ẋ, ẏ0): the tangent of the value and of the final `y`. Their pairing
    // with the sensitivities (1, c) equals the pairing of the reverse derivatives with the
    // tangent.
    let (ta, tx, ty0) = (0.7, [0.2, -0.4, 0.9], [-0.5, 0.3, 0.8]);
    let (mut y, mut ty) = (y0, ty0);
    let (value_fwd, t) = update_jvp(a, ta, &x, &tx, &mut y, &mut ty);
    assert_same(value_fwd, value, "forward value");
    assert_eq!(y, y_plain, "what `_jvp` leaves in `y`");
    let forward: f64 = t + ty.iter().zip(&c).map(|(t, c)| t * c).sum::<f64>();
    let reverse: f64 = da * ta
        + dx.iter().zip(&tx).map(|(d, t)| d * t).sum::<f64>()
        + dy.iter().zip(&ty0).map(|(d, t)| d * t).sum::<f64>();
    assert_close(forward, reverse, 1e-12);
}

// ------------------------------------------------------------------ found by user-style programs

#[differentiate]
fn halve_towards(t: f64, v: &mut [f64]) -> f64 {
    let old = v[0];
    v[0] = 0.5 * (v[0] + t);
    (v[0] - old).abs()
}

#[differentiate]
fn double_first(v: &mut [f64]) -> f64 {
    v[0] *= 2.0;
    v[0]
}

/// Calls that lend `&mut` inside conditions (`if`, `while`, `assert!`, a `bool` local): made
/// first, so that the reverse sweep follows what they change.
#[differentiate]
fn lent_in_conditions(w: &[f64]) -> f64 {
    let mut v = [0.0];
    while halve_towards(w[0], &mut v) > 1e-3 {}
    let mut u = [w[1]];
    let big = double_first(&mut u) > 1.0;
    assert!(double_first(&mut u) > -100.0);
    let r = if double_first(&mut u) > 0.5 {
        u[0]
    } else {
        -u[0]
    };
    if big {
        v[0] + r
    } else {
        v[0] * r
    }
}

#[differentiate]
fn total(x: &[f64]) -> f64 {
    x[0] + x[1]
}

/// A `&mut` parameter passed on to a `&[f64]` parameter (`total(y)`, `total(&*y)`) and
/// reborrowed (`&mut *y`); a unit callee as the tail of a unit function.
#[differentiate]
fn shift(y: &mut [f64]) {
    let s = total(y);
    y[0] += s * total(&*y);
    square_all(&mut *y);
    square_all(y)
}

#[differentiate]
fn square_all(v: &mut [f64]) {
    for i in 0..v.len() {
        v[i] *= v[i];
    }
}

/// A callee with a `&mut` parameter and an array result; a `&mut` parameter named `r`.
#[differentiate]
fn kick(s: &mut [f64; 2]) -> [f64; 2] {
    s[0] += s[1];
    [s[0] * s[1], s[1]]
}

#[differentiate]
fn residual(x: f64, r: &mut [f64]) {
    r[0] = x * x - 2.0;
    r[1] = x.sin();
}

#[differentiate]
fn uses_shift_and_kick(w: &[f64]) -> f64 {
    let mut v = [w[0], w[1]];
    shift(&mut v);
    let mut s = [w[2], w[3]];
    let e = kick(&mut s);
    let mut r = [0.0; 2];
    residual(w[0], &mut r);
    v[0] * v[1] + e[0] + e[1] * s[0] + r[0] * r[1]
}

#[test]
fn calls_in_conditions_reborrows_and_results() {
    for w in [[1.0, 0.7], [0.4, 0.2]] {
        check_slice_function(&w, lent_in_conditions, lent_in_conditions_grad, |w, d| {
            lent_in_conditions_jvp(w, d).1
        });
    }
    check_slice_function(
        &[0.3, -0.4, 0.8, 1.1],
        uses_shift_and_kick,
        uses_shift_and_kick_grad,
        |w, d| uses_shift_and_kick_jvp(w, d).1,
    );
    // `_jvp` of a function whose buffer is named `r`.
    let (mut r, mut dr) = ([0.0; 2], [0.0; 2]);
    residual_jvp(0.5, 1.0, &mut r, &mut dr);
    assert_close(r[0], 0.25 - 2.0, 1e-15);
    assert_close(dr[0], 1.0, 1e-15);
    assert_close(dr[1], 0.5f64.cos(), 1e-15);
}

/// `fill` and `copy_from_slice` of an array written out, into a `&mut` buffer.
#[differentiate]
fn oscillator(p: &[f64], y: &[f64], dy: &mut [f64]) {
    dy.fill(0.0);
    dy.copy_from_slice(&[p[0] * y[1], -p[1] * y[0]]);
}

/// Ranges copied between time steps (`u[1..n - 1].copy_from_slice(&next[1..n - 1])`), a
/// `fill`, and a method of an integer named like a float one (`rem_euclid`).
#[differentiate]
fn heat_with_boundaries(u0: &[f64], k: f64) -> f64 {
    let n = u0.len();
    let mut u = u0.to_vec();
    let mut next = vec![0.0; n];
    for _ in 0..6 {
        for i in 1..n - 1 {
            next[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1]);
        }
        u[1..n - 1].copy_from_slice(&next[1..n - 1]);
    }
    let mut d = [0.0; 2];
    oscillator(&[k, 2.0 * k], &u[..2], &mut d);
    let mut h = vec![1.0; n];
    h.fill(u[2] * k);
    let cell = (n as i64 + 3).rem_euclid(4) as f64;
    u.iter().map(|v| v * v).sum::<f64>() + d[0] * d[1] + h[0] * cell
}

#[test]
fn fills_and_range_copies() {
    let u0 = [0.1, 0.5, 1.0, 0.7, 0.2, 0.3, 0.6];
    for k in [0.2, 0.35] {
        check_slice_function(
            &u0,
            |u| heat_with_boundaries(u, k),
            |u, g| heat_with_boundaries_grad(u, g, k).0,
            |u, d| heat_with_boundaries_jvp(u, d, k, 0.0).1,
        );
        let (_, [dk]) = heat_with_boundaries_grad(&u0, &mut [0.0; 7], k);
        assert_close(
            dk,
            numeric_derivative(|k| heat_with_boundaries(&u0, k), k),
            1e-8,
        );
    }
}

/// A whole array assigned through a `&mut [f64; 3]` (`*out = [r, g, b];`).
#[differentiate]
fn shade(k: f64, out: &mut [f64; 3]) {
    let (r, g, b) = (k.sin(), k * k, k.exp());
    *out = [r, g, b];
    out[1] += out[0];
}

#[differentiate]
fn shaded_total(k: f64) -> f64 {
    let mut c = [0.0; 3];
    shade(k, &mut c);
    c[0] + 2.0 * c[1] + 3.0 * c[2]
}

#[test]
fn whole_array_through_a_mut_reference() {
    let (v, [d]) = shaded_total_grad(0.4);
    let want = |k: f64| k.sin() + 2.0 * (k * k + k.sin()) + 3.0 * k.exp();
    assert_close(v, want(0.4), 1e-15);
    assert_close(d, 3.0 * 0.4f64.cos() + 1.6 + 3.0 * 0.4f64.exp(), 1e-14);
    assert_close(shaded_total_jvp(0.4, 1.0).1, d, 1e-14);
}

/// `for x in &mut buf`, `let [a, b] = *p;`, `*s.last_mut().unwrap() = ..`, a swap of two
/// elements of two arrays, a copy of a whole array into a range, and a name ending in `_`.
#[differentiate]
fn spring_(p: &[f64; 2], s: &mut [f64; 4]) -> f64 {
    let [a, b] = *p;
    let [x, v, _, _] = *s;
    for y in &mut *s {
        *y *= 0.5;
    }
    *s.last_mut().unwrap() = a * x;
    a * b + v
}

#[differentiate]
fn mixed_places(w: &[f64]) -> f64 {
    let mut buf = w.to_vec();
    for x in &mut buf {
        *x *= 0.5 + *x;
    }
    let mut s = [w[0], w[1], w[2], 1.0];
    let e = spring_(&[w[1], w[2]], &mut s);
    let mut b = [w[2], w[0] * w[0]];
    std::mem::swap(&mut s[0], &mut b[1]);
    let lit = [w[1], b[0]];
    buf[1..3].copy_from_slice(&lit);
    buf[0] * buf[1] + buf[2] + e + s[3] * s[0] + b[1]
}

#[test]
fn places_written_through_references() {
    check_slice_function(
        &[0.3, -0.7, 1.2],
        mixed_places,
        mixed_places_grad,
        |w, d| mixed_places_jvp(w, d).1,
    );
}

//! `#[differentiate]` with loops, slices and arrays: every form against central differences
//! (1e-8 with the fourth-order stencil) and forward mode against reverse mode (1e-12).
//! The central differences are taken of the function as written, which the macro leaves in place
//! (`layer_plain` is an independent formulation with an iterator where `layer` has a loop).
#![deny(warnings)]
// The differentiated functions are written the way users write them, index loops included.
#![allow(clippy::needless_range_loop, clippy::ptr_arg)]

mod common;
use autodiff::differentiate;
use common::*;

const MODES: f64 = 1e-12;
const NUMERIC: f64 = 1e-8;

// ------------------------------------------------------------------ ranges

#[differentiate]
fn ranges(w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += w[i] * w[i];
    }
    for i in (1..=n - 1).rev() {
        s += (w[i] - w[i - 1]).sin();
    }
    for i in (0..n).step_by(2) {
        s *= 1.0 + 0.1 * w[i];
    }
    for i in (0..n).rev().step_by(3) {
        s -= w[i].exp() / (i as f64 + 1.0);
    }
    s
}

#[test]
fn range_loops() {
    let w = [0.3, -0.7, 1.1, 0.4, -0.2, 0.9, 0.05];
    let n = w.len();
    let mut g = vec![0.0; n];
    let v = ranges_grad(&w, &mut g, n);
    assert_close(v, ranges(&w, n), 1e-14);
    assert_all_close(&g, &numeric_slice_gradient(|w| ranges(w, n), &w), NUMERIC);
    let fwd = forward_gradient(|dw| ranges_jvp(&w, dw, n).1, n);
    assert_all_close(&fwd, &g, MODES);
}

// ------------------------------------------------------------------ slices

#[differentiate]
fn slices(w: &[f64], #[constant] x: &[f64], y: &Vec<f64>) -> f64 {
    let mut s = 0.0;
    for &xi in x {
        s += xi * w[0];
    }
    for (i, &wi) in w.iter().enumerate() {
        s += wi * x[i] * (i as f64);
    }
    for (a, b) in w.iter().zip(y.iter()) {
        s += a * b;
    }
    for v in y.iter() {
        s += *v * *v * w[1];
    }
    let dot: f64 = w.iter().zip(x).map(|(a, b)| a * b).sum();
    let total: f64 = y.iter().sum();
    let prod: f64 = w.iter().map(|v| 1.0 + 0.1 * v).product();
    s + dot * total + prod + w.len() as f64
}

#[test]
fn slice_iteration_and_reductions() {
    let w = [0.5, -1.2, 0.8];
    let x = [1.0, 2.0, -0.5, 3.0];
    let y = vec![0.2, 0.7, -0.4];
    let plain = |w: &[f64], y: &[f64]| {
        let mut s = 0.0;
        for &xi in &x {
            s += xi * w[0];
        }
        for (i, &wi) in w.iter().enumerate() {
            s += wi * x[i] * (i as f64);
        }
        for (a, b) in w.iter().zip(y.iter()) {
            s += a * b;
        }
        for v in y.iter() {
            s += v * v * w[1];
        }
        let dot: f64 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
        let total: f64 = y.iter().sum();
        let prod: f64 = w.iter().map(|v| 1.0 + 0.1 * v).product();
        s + dot * total + prod + w.len() as f64
    };
    let mut dw = [0.0; 3];
    let mut dy = vec![0.0; 3];
    let v = slices_grad(&w, &mut dw, &x, &y, &mut dy);
    assert_close(v, plain(&w, &y), 1e-14);
    assert_all_close(&dw, &numeric_slice_gradient(|w| plain(w, &y), &w), NUMERIC);
    assert_all_close(&dy, &numeric_slice_gradient(|y| plain(&w, y), &y), NUMERIC);
    let fwd = forward_gradient(|d| slices_jvp(&w, d, &x, &y, &[0.0; 3]).1, 3);
    assert_all_close(&fwd, &dw, MODES);
}

// ------------------------------------------------------------------ while, loop, break, continue, return

#[differentiate]
fn newton_sqrt(a: f64) -> f64 {
    // A data-dependent trip count: Newton's iteration for sqrt(a) until it converges.
    let mut x = if a > 1.0 { a } else { 1.0 };
    let mut steps = 0;
    while (x * x - a).abs() > 1e-14 * a && steps < 100 {
        x = 0.5 * (x + a / x);
        steps += 1;
    }
    x
}

#[test]
fn data_dependent_loop() {
    for a in [0.3, 2.0, 17.0, 1e4] {
        let (v, [d]) = newton_sqrt_grad(a);
        assert_close(v, a.sqrt(), 1e-14);
        // Differentiating the converged iteration gives the derivative of the limit.
        assert_close(d, 0.5 / a.sqrt(), 1e-10);
        assert_close(newton_sqrt_jvp(a, 1.0).1, d, MODES);
    }
}

#[differentiate]
fn exits(w: &[f64], limit: f64) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    loop {
        if i >= w.len() {
            break;
        }
        let v = w[i];
        i += 1;
        if v < 0.0 {
            continue;
        }
        s += v * v * limit;
        if s > limit {
            return s.sqrt();
        }
    }
    'outer: for j in 0..w.len() {
        for k in 0..w.len() {
            if k > j {
                continue 'outer;
            }
            if w[k] > 2.0 {
                break 'outer;
            }
            s += w[j] * w[k];
        }
    }
    s
}

#[test]
fn break_continue_and_return_inside_loops() {
    for (w, limit) in [
        (vec![0.5, -0.3, 0.8, 0.1], 10.0),
        (vec![0.5, -0.3, 2.8, 0.1], 10.0),
        (vec![1.5, 2.5, 0.3], 2.0),
        (vec![-1.0, 0.3, 2.5, 0.2], 50.0),
    ] {
        let mut g = vec![0.0; w.len()];
        let (v, [dl]) = exits_grad(&w, &mut g, limit);
        assert_close(v, exits(&w, limit), 1e-14);
        assert_all_close(
            &g,
            &numeric_slice_gradient(|w| exits(w, limit), &w),
            NUMERIC,
        );
        assert_close(dl, numeric_derivative(|l| exits(&w, l), limit), NUMERIC);
        let fwd = forward_gradient(|d| exits_jvp(&w, d, limit, 0.0).1, w.len());
        assert_all_close(&fwd, &g, MODES);
    }
}

// ------------------------------------------------------------------ local arrays written in place

#[differentiate]
fn layer(w: &[f64], #[constant] x: &[f64], n_in: usize, n_out: usize) -> f64 {
    let mut h = vec![0.0; n_out];
    for j in 0..n_out {
        for k in 0..n_in {
            h[j] += w[j * n_in + k] * x[k];
        }
        h[j] = h[j].tanh();
    }
    let mut acc = [0.0; 4];
    for j in 0..n_out {
        acc[j % 4] += h[j] * h[j];
        acc[j % 4] *= 1.5;
    }
    let mut out = 0.0;
    for a in acc.iter() {
        out += a.sqrt();
    }
    out
}

fn layer_plain(w: &[f64], x: &[f64], n_in: usize, n_out: usize) -> f64 {
    let mut h = vec![0.0; n_out];
    for j in 0..n_out {
        for k in 0..n_in {
            h[j] += w[j * n_in + k] * x[k];
        }
        h[j] = h[j].tanh();
    }
    let mut acc = [0.0; 4];
    for j in 0..n_out {
        acc[j % 4] += h[j] * h[j];
        acc[j % 4] *= 1.5;
    }
    acc.iter().map(|a| a.sqrt()).sum()
}

#[test]
fn in_place_updates_in_nested_loops() {
    let (n_in, n_out) = (3, 6);
    let w: Vec<f64> = (0..n_in * n_out)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 7.0)
        .collect();
    let x = [0.4, -1.1, 0.7];
    let mut g = vec![0.0; w.len()];
    let v = layer_grad(&w, &mut g, &x, n_in, n_out);
    assert_close(v, layer_plain(&w, &x, n_in, n_out), 1e-14);
    let num = numeric_slice_gradient(|w| layer_plain(w, &x, n_in, n_out), &w);
    assert_all_close(&g, &num, NUMERIC);
    let fwd = forward_gradient(|d| layer_jvp(&w, d, &x, n_in, n_out).1, w.len());
    assert_all_close(&fwd, &g, MODES);
}

// ------------------------------------------------------------------ fixed-size arrays and rows

#[differentiate]
fn fixed(p: [f64; 3], rows: &[[f64; 2]], #[constant] scale: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..rows.len() {
        s += (rows[i][0] * p[0] + rows[i][1] * p[1]).powi(2) * p[2];
    }
    s * scale
}

#[test]
fn fixed_arrays_and_rows() {
    let p = [0.3, -0.8, 1.5];
    let rows = [[1.0, 2.0], [0.5, -1.0], [-0.3, 0.2]];
    let plain = |p: &[f64], rows: &[[f64; 2]]| {
        let mut s = 0.0;
        for r in rows {
            s += (r[0] * p[0] + r[1] * p[1]).powi(2) * p[2];
        }
        s * 2.0
    };
    let mut dp = [0.0; 3];
    let mut drows = [[0.0; 2]; 3];
    let v = fixed_grad(p, &mut dp, &rows, &mut drows, 2.0);
    assert_close(v, plain(&p, &rows), 1e-14);
    assert_all_close(
        &dp,
        &numeric_slice_gradient(|q| plain(q, &rows), &p),
        NUMERIC,
    );
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let num_rows = numeric_slice_gradient(
        |f| {
            let r: Vec<[f64; 2]> = f.chunks(2).map(|c| [c[0], c[1]]).collect();
            plain(&p, &r)
        },
        &flat,
    );
    let got: Vec<f64> = drows.iter().flatten().copied().collect();
    assert_all_close(&got, &num_rows, NUMERIC);
}

// ------------------------------------------------------------------ the backpropagator adds into buffers

#[test]
fn vjp_adds_into_caller_buffers_and_grad_overwrites() {
    let w = [0.3, -0.7, 1.1];
    let (v, back) = ranges_vjp(&w, 3);
    let mut acc = [1.0; 3];
    back(1.0, &mut acc);
    let mut g = [5.0; 3];
    let v2 = ranges_grad(&w, &mut g, 3);
    assert_eq!(v, v2);
    for i in 0..3 {
        assert_close(acc[i], 1.0 + g[i], MODES);
    }
}

#[test]
#[should_panic(expected = "has length 2 but `w` has length 3")]
fn mismatched_buffer_is_a_clear_panic() {
    let w = [0.3, -0.7, 1.1];
    let (_, back) = ranges_vjp(&w, 3);
    back(1.0, &mut [0.0; 2]);
}

#[test]
#[should_panic(
    expected = "ranges_grad: the derivative buffer of `w` has length 2 but `w` has length 3"
)]
fn mismatched_gradient_buffer_names_the_called_function() {
    let w = [0.3, -0.7, 1.1];
    ranges_grad(&w, &mut [0.0; 2], 3);
}

#[test]
#[should_panic(expected = "ranges_jvp: the tangent of `w` has length 4 but `w` has length 3")]
fn mismatched_tangent_is_a_clear_panic() {
    let w = [0.3, -0.7, 1.1];
    ranges_jvp(&w, &[0.0; 4], 3);
}

// ------------------------------------------------------------------ what the reverse sweep records
// Each function below exercises one storage decision of the reverse sweep (see the README's
// "What a loop records"); the original function, which the macro leaves as written, is the
// reference for the central differences.

/// Counters: `k` walks a packed triangle (declared in a loop body), `m` counts down from the
/// end with a written type, `top` is declared in the function's block.
#[differentiate]
fn counters(w: &[f64], n: usize, step: usize) -> f64 {
    let mut s = 0.0;
    let mut top = 0;
    for i in 0..n {
        let mut k = i * n;
        let mut m: i64 = (n * n) as i64 - 1;
        for j in i..n {
            s += w[k] * w[j].sin() + w[m as usize] * w[top % n];
            k += step;
            m -= 1;
        }
        top += 2;
    }
    s
}

#[test]
fn counters_are_run_backwards() {
    let w: Vec<f64> = (0..16).map(|i| 0.3 + 0.1 * (i as f64).cos()).collect();
    check_slice_function(
        &w,
        |w| counters(w, 4, 1),
        |w, g| counters_grad(w, g, 4, 1),
        |w, dw| counters_jvp(w, dw, 4, 1).1,
    );
}

/// Arrays overwritten in every iteration and read after: `c` (read more often than written:
/// its old elements are recorded and restored) and `q` (written more often than read: its
/// reads are recorded), and a constant buffer `buf` of data multiplied with active values.
#[differentiate]
fn overwritten(w: &[f64], #[constant] x: &[f64], n: usize) -> f64 {
    let mut c = vec![0.0; n];
    let mut q = vec![0.0; n];
    let mut buf = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            c[j] = x[j] * w[i] - w[j];
            buf[j] = x[(i + j) % n];
        }
        for j in 0..n {
            q[j] = c[j] * c[j];
            for l in 0..j {
                q[j] += c[l] * c[j] * buf[l];
                q[l] *= 0.9;
            }
        }
        for j in 0..n {
            s += (q[j] * c[j]).tanh() + q[j] * q[j] * buf[j];
        }
    }
    s
}

#[test]
fn overwritten_arrays_are_restored_or_recorded() {
    let w = [0.3, -0.5, 0.8, 0.1, -0.2];
    let x = [1.0, 0.5, -0.7, 0.2, 0.9];
    check_slice_function(
        &w,
        |w| overwritten(w, &x, 5),
        |w, g| overwritten_grad(w, g, &x, 5),
        |w, dw| overwritten_jvp(w, dw, &x, 5).1,
    );
}

/// Indices that cannot be recomputed (`a`, `b` are not counters), stored and read in one
/// statement, and two arrays of different lengths made in each iteration.
#[differentiate]
fn scattered(w: &[f64], n: usize) -> f64 {
    let mut h = vec![0.0; n];
    let mut a = 0;
    let mut b = n - 1;
    let mut s = 0.0;
    for i in 0..3 * n {
        a = (a + 3) % n;
        b = (b * 5 + 1) % n;
        h[a] += w[b] * w[b] + w[a];
        let mut short = vec![0.0; n / 3];
        let mut long = vec![0.0; n + 3];
        short[1] = h[a] * w[i % n];
        long[n + 2] = short[1].sin();
        s += long[n + 2] * short[1];
    }
    for i in 0..n {
        s += h[i] * h[i];
    }
    s
}

#[test]
fn recorded_indices_and_per_iteration_arrays() {
    let w = [0.3, -0.5, 0.8, 0.1, -0.2, 0.6];
    check_slice_function(
        &w,
        |w| scattered(w, 6),
        |w, g| scattered_grad(w, g, 6),
        |w, dw| scattered_jvp(w, dw, 6).1,
    );
}

/// Arrays filled afresh at the start of each iteration. `v` and `u` are filled by one loop
/// from data nothing changes: the reverse sweep fills them again rather than recording them.
/// The other fills cannot be repeated there: `late` reads `h`, which the body changes
/// afterwards; `prev` is read before its fill (the previous iteration's values); `grow` fills a
/// range that changes; `scaled` uses a value computed in the iteration.
#[differentiate]
fn refilled(w: &[f64], #[constant] x: &[f64], n: usize) -> f64 {
    let mut v = vec![0.0; n];
    let mut u = vec![0.0; n];
    let mut h = vec![0.0; n];
    let mut late = vec![0.0; n];
    let mut prev = vec![0.0; n];
    let mut grow = vec![0.0; n];
    let mut scaled = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        s += prev[i] * w[i];
        for j in 0..n {
            v[j] = x[(i + j) % n] - w[j];
            u[j] = (w[j] * x[j]).sin();
        }
        for j in 0..n {
            late[j] = h[j] * w[i];
            prev[j] = v[j] * w[i];
        }
        for j in 0..=i {
            grow[j] = w[j] * w[i];
        }
        let wi = w[i] * 2.0;
        for j in 0..n {
            scaled[j] = wi * x[j];
        }
        for j in 0..n {
            h[j] += v[j] * u[j];
            s += v[j] * u[j] * late[j] + grow[j] * scaled[j] * v[j];
        }
    }
    s
}

/// A fill after a `continue`, in a `while` loop.
#[differentiate]
fn refilled_after_exit(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let n = w.len();
    let mut t = vec![0.0; n];
    let mut s = 0.0;
    let mut k = 0;
    while k < n {
        k += 1;
        if w[k - 1] < 0.0 {
            continue;
        }
        for j in 0..n {
            t[j] = (w[j] * x[j]).cos() * w[n - 1 - j];
        }
        s += t[k - 1] * t[k - 1] * w[k - 1];
    }
    s
}

/// Elements that an inner loop reads without moving (`v[col]` in the `row` and `while` loops):
/// the reverse sweep sums their adjoints in a local. `y[0]` is read at a fixed element too but
/// also written in the loop, so its adjoint goes to the array directly.
#[differentiate]
fn fixed_elements(w: &[f64], #[constant] x: &[f64], n: usize) -> f64 {
    let mut v = vec![0.0; n];
    let mut y = vec![0.0; n];
    for j in 0..n {
        v[j] = w[j] * x[j];
    }
    let mut k = 0;
    let mut s = 0.0;
    for col in 0..n {
        for row in col + 1..n {
            y[row] += x[k % n] * v[col] * v[col] + y[0] * w[row];
            k += 1;
        }
        let t = v[col];
        let mut m = 0;
        while m < 2 {
            s += v[col] * t * w[m];
            m += 1;
        }
    }
    for j in 0..n {
        s += y[j] * y[j];
    }
    s
}

#[test]
fn arrays_filled_in_each_iteration_and_fixed_elements() {
    let w = [0.3, -0.5, 0.8, 0.1, -0.2];
    let x = [1.0, 0.5, -0.7, 0.2, 0.9];
    check_slice_function(
        &w,
        |w| refilled(w, &x, 5),
        |w, g| refilled_grad(w, g, &x, 5),
        |w, dw| refilled_jvp(w, dw, &x, 5).1,
    );
    check_slice_function(
        &w,
        |w| fixed_elements(w, &x, 5),
        |w, g| fixed_elements_grad(w, g, &x, 5),
        |w, dw| fixed_elements_jvp(w, dw, &x, 5).1,
    );
    check_slice_function(
        &w,
        |w| refilled_after_exit(w, &x),
        |w, g| refilled_after_exit_grad(w, g, &x),
        |w, dw| refilled_after_exit_jvp(w, dw, &x).1,
    );
}

// ------------------------------------------------------------------ whole arrays

/// Arrays handled as a whole, as users write them: made from a value that carries a derivative
/// (`[x; n]`, `vec![w[0]; n]`, rows `[[x; 2]; 3]`), reset (`h = [0.0; 3]`,
/// `g = vec![0.0; n]`), copied (`let old = cur;`, `prev = old;`, `.clone()`, `.to_vec()`),
/// and read with `.len()` inside the loop that makes them.
#[differentiate]
fn whole_arrays(w: &[f64]) -> f64 {
    let n = w.len();
    let start = [w[0]; 2];
    let mut acc = vec![w[1] * 0.5; n];
    let rows = [[w[2]; 2]; 3];
    let mut cur = [0.0; 2];
    cur[0] = start[0] + rows[2][1];
    cur[1] = start[1] * rows[0][0];
    let mut prev = [0.0; 2];
    let mut h = [0.0; 3];
    let mut g = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        s += h[1] * g[0];
        let old = cur;
        cur[0] = old[0] * 0.9 + old[1] * old[1] * 0.1;
        cur[1] = old[1] - 0.1 * old[0] * prev[1];
        prev = old;
        h = [0.0; 3];
        g = vec![w[i]; n];
        for j in 0..h.len() {
            h[j] += w[(i + j) % n] * w[i] + g[j];
        }
        let mut tmp = vec![0.0; i + 1];
        for j in 0..tmp.len() {
            tmp[j] = w[j] * acc[j];
        }
        acc[i] *= tmp[i] + 1.0;
        s += h[0] * h[1] + h[2] + tmp[0];
    }
    let snapshot = acc.clone();
    let mut copy = w.to_vec();
    copy[0] *= snapshot[1];
    s + cur[0] * prev[1] + cur[1] + copy[0] * g[0]
}

/// A state written as an array of values (`[x, v]`), stepped in place by a leapfrog
/// integrator; the initial state has a value that carries a derivative and a constant.
#[differentiate]
fn oscillator(w: &[f64], steps: usize) -> f64 {
    let k = w[0];
    let mut state = [w[1], 0.0];
    let dt = 0.1;
    for _ in 0..steps {
        let half = state[1] - 0.5 * dt * k * state[0];
        state[0] += dt * half;
        state[1] = half - 0.5 * dt * k * state[0];
    }
    let energy: [f64; 2] = [0.5 * k * state[0] * state[0], 0.5 * state[1] * state[1]];
    energy[0] + energy[1] + state[0]
}

/// A local array returned as the function's value.
#[differentiate]
fn moments(w: &[f64]) -> [f64; 2] {
    let mut r = [0.0; 2];
    for i in 0..w.len() {
        r[0] += w[i];
        r[1] += w[i] * w[i];
    }
    r
}

/// `let t = if c { .. } else { break/continue };` in loops.
#[differentiate]
fn diverging_lets(w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        let t = if w[i] > -0.6 { w[i] * w[i] } else { break };
        let u = if w[i] > 0.0 { t.sin() } else { continue };
        s += t * u;
    }
    s
}

#[test]
fn whole_array_values_resets_and_copies() {
    let w = [0.3, -0.5, 0.8, 0.1, -0.2];
    check_slice_function(&w, whole_arrays, whole_arrays_grad, |w, dw| {
        whole_arrays_jvp(w, dw).1
    });
    check_slice_function(
        &[2.0, 0.7],
        |w| oscillator(w, 20),
        |w, g| oscillator_grad(w, g, 20),
        |w, dw| oscillator_jvp(w, dw, 20).1,
    );
    let w2 = [0.3, -0.7, 0.8, 0.1];
    check_slice_function(&w2, diverging_lets, diverging_lets_grad, |w, dw| {
        diverging_lets_jvp(w, dw).1
    });
    // The returned array, by its backpropagator and its forward mode, against the closed form.
    let (value, back) = moments_vjp(&w);
    assert_all_close(&value, &moments(&w), 1e-15);
    for k in 0..2 {
        let mut seed = [0.0; 2];
        seed[k] = 1.0;
        let mut g = [0.0; 5];
        back(seed, &mut g);
        let closed: Vec<f64> = w
            .iter()
            .map(|&x| if k == 0 { 1.0 } else { 2.0 * x })
            .collect();
        assert_all_close(&g, &closed, 1e-15);
        let along = forward_gradient(|dw| moments_jvp(&w, dw).1[k], 5);
        assert_all_close(&along, &g, MODES);
    }
}

// ------------------------------------------------------------------ calls with array arguments

#[differentiate]
fn dot(a: &[f64], #[constant] b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

#[differentiate]
fn weighted_norm(v: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += w[i] * v[i] * v[i];
    }
    s.sqrt()
}

/// Array arguments in every form: a parameter (`w`), a range of it (`&w[..]`), a constant
/// slice and a range of one, and a constant array where the callee differentiates its
/// parameter (the callee then collects into a scratch buffer of its own).
#[differentiate]
fn calls_with_arrays(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let n = x.len();
    let first = dot(&w[0..n], x);
    let half = dot(&w[0..n / 2], &x[0..n / 2]);
    let hidden = weighted_norm(&w[n..2 * n], x);
    let whole = weighted_norm(x, w);
    first * half + hidden * whole
}

#[test]
fn calls_pass_array_adjoints_to_the_callee() {
    let w = [0.3, -0.5, 0.8, 0.1, 0.6, 0.9, 0.4, 0.7];
    let x = [1.0, 0.5, -0.7, 0.2];
    check_slice_function(
        &w,
        |w| calls_with_arrays(w, &x),
        |w, g| calls_with_arrays_grad(w, g, &x),
        |w, dw| calls_with_arrays_jvp(w, dw, &x).1,
    );
}

// ------------------------------------------------------------------ reversed iteration

/// `.iter().rev()` and `.iter().enumerate().rev()` with both element patterns, a label and
/// `continue` to it.
#[differentiate]
fn reversed(c: &[f64], x: f64) -> f64 {
    let mut acc = 0.0;
    for &ci in c.iter().rev() {
        acc = acc * x + ci;
    }
    let mut s = 0.0;
    'outer: for v in c.iter().rev() {
        for &u in c.iter().rev() {
            if u > 2.5 && *v < 1.5 {
                continue 'outer;
            }
            s += *v * u * x;
        }
    }
    for (i, &ci) in c.iter().enumerate().rev() {
        s = s * 0.5 + ci * (i as f64 + x);
    }
    for (_, v) in c.iter().enumerate().rev() {
        s += *v * s;
    }
    acc + s
}

#[test]
fn reversed_element_loops() {
    let c = [1.0, 2.0, 3.0, -0.5];
    let x = 0.7;
    check_slice_function(
        &c,
        |c| reversed(c, x),
        |c, g| reversed_grad(c, g, x).0,
        |c, dc| reversed_jvp(c, dc, x, 0.0).1,
    );
    let (_, [dx]) = reversed_grad(&c, &mut [0.0; 4], x);
    assert_close(dx, numeric_derivative(|x| reversed(&c, x), x), NUMERIC);
}

// ------------------------------------------------------------------ runs of loops

/// Vector code as a run of loops over one range. The macro fuses neighbours whose bodies share
/// arrays only element by element (the first three loops); the others read a scalar or an
/// element the loop before writes at another index, and fusing them would change the values.
#[differentiate]
fn loop_runs(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    let mut y = vec![0.0; n];
    for j in 0..n {
        v[j] = x[j] - w[j];
    }
    for j in 0..n {
        y[j] = w[n + j] * v[j];
    }
    for j in 0..n {
        y[j] += v[j] * v[j];
    }
    let mut s = 0.0;
    for j in 0..n {
        s += y[j].sin();
    }
    for j in 0..n {
        v[j] = s * y[j];
    }
    for j in 0..n {
        y[j] += 0.5 * v[(j + 1) % n];
    }
    for j in 0..n {
        v[j] = y[n - 1 - j] * w[j];
    }
    for j in 0..n {
        s += v[j] * y[j];
    }
    s
}

#[test]
fn runs_of_loops_keep_their_values() {
    let x = [0.3, -1.2, 0.8, 2.0, -0.4];
    let w = [0.5, 0.1, -0.3, 0.9, 1.4, -0.6, 0.2, 0.75, -1.1, 0.35];
    let v = loop_runs_grad(&w, &mut vec![0.0; w.len()], &x);
    // The same operations on the same values in the same order: equal, not merely close.
    assert_eq!(v, loop_runs(&w, &x));
    assert_eq!(loop_runs_jvp(&w, &vec![0.0; w.len()], &x).0, v);
    check_slice_function(
        &w,
        |w| loop_runs(w, &x),
        |w, g| loop_runs_grad(w, g, &x),
        |w, dw| loop_runs_jvp(w, dw, &x).1,
    );
}

/// Two arrays filled in each iteration, each filled again in the reverse of the same later loop;
/// and loops with `for _`, which fusion and the refill must not name.
#[differentiate]
fn refills_and_wildcards(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let d = x.len();
    let mut u = vec![0.0; d];
    let mut v = vec![0.0; d];
    let mut decay = 1.0;
    for _ in 0..d {
        decay *= 0.9;
    }
    for j in 0..d {
        u[j] = decay * w[j];
    }
    let mut s = 0.0;
    for i in 0..d {
        for j in 0..d {
            u[j] = w[i] * w[j];
        }
        s += 1.0;
        for j in 0..d {
            v[j] = w[j] - x[i];
        }
        s += u[0] * u[0] * v[d - 1];
        for j in 0..d {
            s += w[j] * x[j];
        }
        for _ in 0..d {
            s *= 0.99;
        }
    }
    s + u[1]
}

#[test]
fn refills_share_a_loop_and_wildcard_loops_fuse() {
    let x = [0.4, -0.3, 0.9];
    let w = [0.5, -0.8, 0.3];
    let v = refills_and_wildcards_grad(&w, &mut vec![0.0; w.len()], &x);
    assert_eq!(v, refills_and_wildcards(&w, &x));
    check_slice_function(
        &w,
        |w| refills_and_wildcards(w, &x),
        |w, g| refills_and_wildcards_grad(w, g, &x),
        |w, dw| refills_and_wildcards_jvp(w, dw, &x).1,
    );
}

/// An explicit Euler integration whose step count comes from data: a float that carries no
/// derivative, cast to an integer.
#[differentiate]
fn euler_decay(x0: f64, k: f64, #[constant] t_end: f64) -> f64 {
    let dt = 0.01;
    let steps = (t_end / dt) as usize;
    let mut x = x0;
    for _ in 0..steps {
        x += -k * x * dt;
    }
    x
}

#[test]
fn step_counts_cast_from_constant_floats() {
    let (x0, k, t_end) = (1.5, 0.5, 2.0);
    let (v, g) = euler_decay_grad(x0, k, t_end);
    // x = x0 (1 − k dt)^n with n = 200 steps.
    let (dt, n) = (0.01_f64, 200);
    assert_eq!(v, euler_decay(x0, k, t_end));
    assert_close(v, x0 * (1.0 - k * dt).powi(n), 1e-12);
    assert_close(g[0], (1.0 - k * dt).powi(n), 1e-12);
    assert_close(
        g[1],
        -x0 * n as f64 * dt * (1.0 - k * dt).powi(n - 1),
        1e-12,
    );
    assert_close(euler_decay_jvp(x0, 0.0, k, 1.0, t_end).1, g[1], MODES);
    let h = euler_decay_hessian(x0, k, t_end);
    let dkk = x0 * (n * (n - 1)) as f64 * dt * dt * (1.0 - k * dt).powi(n - 2);
    assert_close(h[1][1], dkk, 1e-10);
}

// ------------------------------------------------------------------ folds and closures over arrays

#[differentiate]
fn folds(w: &[f64]) -> f64 {
    let top = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let low = w.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    let energy = w.iter().fold(0.0, |acc, v| acc + v * v);
    let product = w.iter().map(|v| v.cos()).fold(1.0, |p, c| p * c);
    let mut scaled = 0.0;
    for (i, &v) in w.iter().enumerate() {
        scaled += v * i as f64;
    }
    top * low + energy.sqrt() + product + scaled
}

fn folds_plain(w: &[f64]) -> f64 {
    let mut top = w[0];
    let mut low = w[0];
    let mut energy = 0.0;
    let mut product = 1.0;
    let mut scaled = 0.0;
    for (i, &v) in w.iter().enumerate() {
        top = top.max(v);
        low = low.min(v);
        energy += v * v;
        product *= v.cos();
        scaled += v * i as f64;
    }
    top * low + energy.sqrt() + product + scaled
}

#[test]
fn folds_with_closures_and_rule_functions() {
    let w = [0.3, -1.2, 2.0, 0.7, -0.1];
    assert_close(folds(&w), folds_plain(&w), 1e-15);
    check_slice_function(&w, folds_plain, folds_grad, |w, dw| folds_jvp(w, dw).1);
}

/// A closure that takes a slice and loops over it, called with `w` and `&w`.
#[allow(clippy::needless_borrow)]
#[differentiate]
fn slice_closure(w: &[f64], x: f64) -> f64 {
    let dot = |v: &[f64], s: f64| {
        let mut acc = 0.0;
        for i in 0..v.len() {
            acc += v[i] * s;
        }
        acc
    };
    let relu = |t: f64| t.max(0.0);
    let shifted = |t: f64| relu(t - 0.5);
    dot(w, x) + dot(&w, x * x) + w.iter().copied().map(shifted).sum::<f64>()
        - w.iter().copied().fold(0.0, smooth_step)
}

#[differentiate]
fn smooth_step(acc: f64, v: f64) -> f64 {
    acc + v * v * (3.0 - 2.0 * v)
}

#[test]
fn closures_over_slices() {
    let w = [0.3, -1.2, 2.0, 0.7];
    let plain = |w: &[f64], x: f64| {
        let s: f64 = w.iter().sum();
        s * x + s * x * x + w.iter().map(|v| (v - 0.5).max(0.0)).sum::<f64>()
            - w.iter().map(|v| v * v * (3.0 - 2.0 * v)).sum::<f64>()
    };
    check_slice_function(
        &w,
        |w| plain(w, 0.8),
        |w, g| slice_closure_grad(w, g, 0.8).0,
        |w, dw| slice_closure_jvp(w, dw, 0.8, 0.0).1,
    );
    let mut g = [0.0; 4];
    let (_, dx) = slice_closure_grad(&w, &mut g, 0.8);
    assert_close(dx[0], numeric_derivative(|x| plain(&w, x), 0.8), NUMERIC);
}

// ------------------------------------------------------------------ matrices of values

/// A rotation matrix written out as rows, applied in nested loops; and a typed 2 × 3 matrix with a
/// constant entry.
#[differentiate]
fn matrix_literals(w: &[f64]) -> f64 {
    let (s, c) = w[0].sin_cos();
    let r = [[c, -s], [s, c]];
    let p = [w[1], w[2]];
    let mut q = [0.0; 2];
    for i in 0..2 {
        for j in 0..2 {
            q[i] += r[i][j] * p[j];
        }
    }
    let m: [[f64; 3]; 2] = [[w[1], w[1] * w[2], 1.0], [w[2].exp(), 0.5, w[0] - w[1]]];
    let mut t = 0.0;
    for i in 0..2 {
        for j in 0..3 {
            t += m[i][j] * (i + j + 1) as f64;
        }
    }
    q[0] * q[0] * 2.0 + q[1] * 3.0 + t * m[1][0]
}

fn matrix_literals_plain(w: &[f64]) -> f64 {
    let (s, c) = w[0].sin_cos();
    let q0 = c * w[1] - s * w[2];
    let q1 = s * w[1] + c * w[2];
    let t = w[1] + 2.0 * w[1] * w[2] + 3.0 + 2.0 * w[2].exp() + 3.0 * 0.5 + 4.0 * (w[0] - w[1]);
    q0 * q0 * 2.0 + q1 * 3.0 + t * w[2].exp()
}

#[test]
fn matrices_written_as_rows() {
    let w = [0.3, 1.2, -0.7];
    assert_close(matrix_literals(&w), matrix_literals_plain(&w), 1e-14);
    check_slice_function(&w, matrix_literals_plain, matrix_literals_grad, |w, dw| {
        matrix_literals_jvp(w, dw).1
    });
}

/// `vec![a, b, c]` of values, and a vector of rows (as users write them, where an array would do).
#[allow(clippy::useless_vec)]
#[differentiate]
fn vector_literals(x: f64, y: f64) -> f64 {
    let v = vec![x, y, x * y];
    let rows = vec![[x, 1.0], [y.exp(), -x]];
    v[0] + v[2] * rows[1][0] + rows[0][0] * rows[1][1]
}

#[test]
fn vectors_of_values() {
    let plain = |x: f64, y: f64| x + x * y * y.exp() - x * x;
    for (x, y) in [(0.5, 2.0), (-1.3, 0.4)] {
        let (v, g) = vector_literals_grad(x, y);
        assert_close(v, plain(x, y), 1e-14);
        let num = numeric_gradient(|p| plain(p[0], p[1]), [x, y]);
        assert_all_close(&g, &num, NUMERIC);
        let (_, dx) = vector_literals_jvp(x, 1.0, y, 0.0);
        let (_, dy) = vector_literals_jvp(x, 0.0, y, 1.0);
        assert_all_close(&[dx, dy], &g, MODES);
    }
}

/// Lifetime parameters are accepted: the siblings take the same references with elided lifetimes.
#[allow(clippy::needless_lifetimes)]
#[differentiate]
fn with_lifetimes<'a, 'b>(w: &'a [f64], #[constant] x: &'b [f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        s += w[i] * w[i] * x[i];
    }
    s
}

#[test]
fn functions_with_lifetime_parameters() {
    let (w, x) = ([0.5, -1.5, 2.0], [1.0, 2.0, 3.0]);
    let mut g = [0.0; 3];
    let v = with_lifetimes_grad(&w, &mut g, &x);
    assert_close(v, with_lifetimes(&w, &x), 1e-15);
    let want: Vec<f64> = w.iter().zip(&x).map(|(w, x)| 2.0 * w * x).collect();
    assert_all_close(&g, &want, 1e-15);
}

/// Closure calls in a range's bounds and in `step_by` are computed before the loop; a closure
/// with a labelled loop is inlined inside a loop with the same label.
#[differentiate]
fn closures_in_loop_heads(w: &[f64], n: usize) -> f64 {
    let count = |m: usize| m * 2 + 1;
    let stride = |m: usize| m + 1;
    let first_negative = |v: &[f64]| {
        let mut r = 0.0;
        'outer: for i in 0..v.len() {
            for j in 1..3 {
                if v[i] < 0.0 {
                    r = v[i] * j as f64;
                    break 'outer;
                }
            }
        }
        r
    };
    let mut s = 0.0;
    for i in 0..count(n) {
        s += w[0] * i as f64;
    }
    for i in (0..10).step_by(stride(n)) {
        s += w[1] * w[1] * i as f64;
    }
    'outer: for k in 0..3 {
        s += first_negative(w) * k as f64;
        if s > 1e6 {
            break 'outer;
        }
    }
    s + (0..count(n)).fold(0.0, |a, i| a + w[2] * i as f64)
}

#[test]
fn closures_in_loop_heads_and_labels() {
    let w = [0.5, -1.5, 2.0];
    let plain = |w: &[f64]| {
        let first_negative = w.iter().copied().find(|v| *v < 0.0).unwrap_or(0.0);
        21.0 * w[0] + w[1] * w[1] * (0.0 + 4.0 + 8.0) + first_negative * 3.0 + 21.0 * w[2]
    };
    assert_close(closures_in_loop_heads(&w, 3), plain(&w), 1e-14);
    check_slice_function(
        &w,
        plain,
        |w, g| closures_in_loop_heads_grad(w, g, 3),
        |w, dw| closures_in_loop_heads_jvp(w, dw, 3).1,
    );
}

// ------------------------------------------------------------------ const parameters

/// Functions over arrays of any length `N`: every sibling declares `N` too.
#[differentiate]
fn norm_n<const N: usize>(x: [f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += x[i] * x[i];
    }
    s.sqrt()
}

#[differentiate]
fn scaled_sines<const N: usize>(a: f64, #[constant] x: [f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += (a * x[i]).sin();
    }
    s
}

#[differentiate]
fn norm_and_shift<const N: usize>(w: [f64; N], b: f64) -> (f64, f64) {
    let n = norm_n(w);
    (n * b, n + b)
}

#[differentiate]
fn weighted_rows<const R: usize, const C: usize>(m: &[[f64; C]], v: [f64; R]) -> f64 {
    let mut s = 0.0;
    for i in 0..R {
        for j in 0..C {
            s += m[i][j] * v[i] * v[i];
        }
    }
    s
}

#[test]
fn const_parameters() {
    let x = [3.0, 4.0, 12.0];
    let mut g = [0.0; 3];
    assert_close(norm_n_grad(x, &mut g), 13.0, 1e-15);
    assert_all_close(&g, &[3.0 / 13.0, 4.0 / 13.0, 12.0 / 13.0], 1e-15);
    assert_close(norm_n_jvp(x, &[0.0, 1.0, 0.0]).1, g[1], MODES);

    let data = [1.0, 2.0];
    let (_, [da]) = scaled_sines_grad(0.5, data);
    let want = (0.5f64).cos() + 2.0 * (1.0f64).cos();
    assert_close(da, want, 1e-14);
    let h = scaled_sines_hessian(0.5, data)[0][0];
    assert_close(h, -(0.5f64).sin() - 4.0 * (1.0f64).sin(), 1e-14);

    let (_, back) = norm_and_shift_vjp([3.0, 4.0], 2.0);
    let mut gw = [0.0; 2];
    let [db] = back((1.0, 0.0), &mut gw);
    assert_close(db, 5.0, 1e-15);
    assert_all_close(&gw, &[1.2, 1.6], 1e-15);

    let m = [[1.0, 2.0], [3.0, 4.0], [5.0, -6.0]];
    let v = [1.0, 2.0, 3.0];
    let (mut gm, mut gv) = ([[0.0; 2]; 3], [0.0; 3]);
    let value = weighted_rows_grad(&m, &mut gm, v, &mut gv);
    assert_close(value, weighted_rows(&m, v), 1e-15);
    for i in 0..3 {
        let row: f64 = m[i].iter().sum();
        assert_close(gv[i], 2.0 * row * v[i], 1e-15);
        assert_all_close(&gm[i], &[v[i] * v[i]; 2], 1e-15);
    }
}

/// A callee with several outputs called in a loop, its outputs bound by `let (a, b) = ..`.
#[differentiate]
fn rotate_pairs(w: &[f64], angle: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() - 1 {
        let (a, b) = turn(w[i], w[i + 1], angle * i as f64);
        s += a * b * b;
    }
    s
}

#[differentiate]
fn turn(x: f64, y: f64, angle: f64) -> (f64, f64) {
    (
        angle.cos() * x - angle.sin() * y,
        angle.sin() * x + angle.cos() * y,
    )
}

#[test]
fn several_outputs_in_a_loop() {
    let w = [0.3, -0.5, 0.9, 1.2];
    let plain = |w: &[f64], angle: f64| {
        let mut s = 0.0;
        for i in 0..w.len() - 1 {
            let t = angle * i as f64;
            let a = t.cos() * w[i] - t.sin() * w[i + 1];
            let b = t.sin() * w[i] + t.cos() * w[i + 1];
            s += a * b * b;
        }
        s
    };
    check_slice_function(
        &w,
        |w| plain(w, 0.4),
        |w, g| rotate_pairs_grad(w, g, 0.4).0,
        |w, dw| rotate_pairs_jvp(w, dw, 0.4, 0.0).1,
    );
    let mut g = [0.0; 4];
    let (_, [da]) = rotate_pairs_grad(&w, &mut g, 0.4);
    assert_close(da, numeric_derivative(|t| plain(&w, t), 0.4), NUMERIC);
}

/// Loops over plain ranges left by `break` or `return`: the reverse sweep walks back the
/// iterations that ran, with the index, ascending, reversed and inclusive; a callee is given
/// a sub-slice that depends on the index.
#[differentiate]
fn pair_product(w: &[f64]) -> f64 {
    w[0] * w[1]
}

#[differentiate]
fn early_exits(w: &[f64], limit: f64) -> f64 {
    let mut acc = 0.0;
    for t in 0..w.len() - 1 {
        if acc > limit {
            break;
        }
        acc += pair_product(&w[t..t + 2]) + w[t] * w[t];
    }
    for t in (1..w.len()).rev() {
        acc += (w[t] - w[t - 1]).sin();
        if acc > 2.0 * limit {
            break;
        }
    }
    for t in (0..=3).rev() {
        if w[t] < 0.0 {
            return acc * w[t];
        }
        acc += w[t].exp();
    }
    acc
}

#[test]
fn loops_left_early_walk_back_their_indices() {
    let w = [0.5, 1.5, -0.7, 2.0, 1.1, 0.3];
    for limit in [0.93, 3.3, 100.0] {
        check_slice_function(
            &w,
            |w| early_exits(w, limit),
            |w, g| early_exits_grad(w, g, limit).0,
            |w, dw| early_exits_jvp(w, dw, limit, 0.0).1,
        );
    }
}

/// A `#[constant]` fixed-size array passed on to a callee's fixed-size array, by value and by
/// reference.
#[differentiate]
fn weighted_square(x: f64, #[constant] w: [f64; 2]) -> f64 {
    x * w[0] + x * x * w[1]
}

#[differentiate]
fn weighted_square_ref(x: f64, #[constant] w: &[f64; 2]) -> f64 {
    x * w[0] + x * x * w[1]
}

#[differentiate]
fn passes_constant_arrays(x: f64, #[constant] c: [f64; 2], #[constant] r: &[f64; 2]) -> f64 {
    weighted_square(x, c) + weighted_square_ref(x, r) + weighted_square(x * x, c)
}

#[test]
fn constant_fixed_arrays_passed_on() {
    let (c, r) = ([2.0, 3.0], [0.5, -1.0]);
    let plain = |x: f64| 2.0 * x + 3.0 * x * x + 0.5 * x - x * x + 2.0 * x * x + 3.0 * x.powi(4);
    let (v, [dx]) = passes_constant_arrays_grad(1.5, c, &r);
    assert_close(v, plain(1.5), 1e-14);
    assert_close(dx, numeric_derivative(plain, 1.5), NUMERIC);
    assert_close(passes_constant_arrays_jvp(1.5, 1.0, c, &r).1, dx, MODES);
    let h = passes_constant_arrays_hessian(1.5, c, &r)[0][0];
    assert_close(h, 6.0 - 2.0 + 4.0 + 36.0 * 1.5 * 1.5, 1e-13);
}

/// Data with a lifetime parameter, read through a reference: the siblings elide it.
pub struct Coefficients<'a> {
    values: &'a [f64],
}

#[differentiate]
fn with_lifetime_in_a_type<'a>(c: &'a Coefficients<'a>, x: f64) -> f64 {
    c.values[0] * x * x + c.values[1] * x
}

#[test]
fn lifetimes_inside_parameter_types() {
    let values = [2.0, -3.0];
    let c = Coefficients { values: &values };
    let (v, [dx]) = with_lifetime_in_a_type_grad(&c, 1.5);
    assert_close(v, 2.0 * 2.25 - 4.5, 1e-15);
    assert_close(dx, 4.0 * 1.5 - 3.0, 1e-15);
}

/// Const parameters that no argument's type fixes are given by the caller (`f_grad::<2>`) and
/// passed on by every sibling.
#[differentiate]
fn first_rows<const R: usize>(m: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..R {
        s += m[i] * m[i];
    }
    s
}

#[differentiate]
fn splat<const N: usize>(a: f64, b: f64) -> f64 {
    let v = [a * b; N];
    let mut s = 0.0;
    for i in 0..N {
        s += v[i] * v[i];
    }
    s
}

#[test]
fn const_parameters_given_by_the_caller() {
    let mut g = [0.0; 3];
    assert_close(first_rows_grad::<2>(&[1.0, 2.0, 3.0], &mut g), 5.0, 1e-15);
    assert_all_close(&g, &[2.0, 4.0, 0.0], 1e-15);
    let (v, [da, db]) = splat_grad::<3>(1.0, 2.0);
    assert_close(v, 12.0, 1e-15);
    assert_all_close(&[da, db], &[24.0, 12.0], 1e-15);
    assert_close(splat_jvp::<3>(1.0, 1.0, 2.0, 0.0).1, da, MODES);
    let h = splat_hessian::<3>(1.0, 2.0);
    assert_all_close(&[h[0][0], h[0][1], h[1][1]], &[24.0, 24.0, 6.0], 1e-13);
}

// ------------------------------------------------------------------ slicing before loops

mod tables {
    pub const K: [f64; 4] = [0.5, -1.0, 2.0, 0.25];
}

/// Loops the slicing pass (`slices.rs`) must leave alone or slice correctly: arrays whose names
/// differ by the generated prefixes (`adj_w`, `__w`), an index read inside the index of a `const`
/// path, a mutable copy of the index that moves on, and a base read through a `Cell` the body
/// changes.
#[differentiate]
#[allow(non_snake_case)]
fn slice_traps(
    w: &[f64],
    #[constant] adj_w: &[f64],
    #[constant] __w: &[f64],
    #[constant] idx: &[usize],
) -> f64 {
    let n = idx.len() - 1;
    let mut s = 0.0;
    for j in 0..n {
        s += (w[j] * adj_w[j]).sin() + __w[j] * w[j] * w[j];
    }
    for j in 0..n {
        s += w[j] * tables::K[idx[j]] + w[j] * idx[1 + j] as f64;
    }
    for i in 0..n {
        let mut k = i;
        s += w[k] * w[k];
        k += 1;
        s += 0.5 * w[k];
    }
    s
}

fn slice_traps_plain(w: &[f64], adj_w: &[f64], under_w: &[f64], idx: &[usize]) -> f64 {
    let n = idx.len() - 1;
    let mut s = 0.0;
    for j in 0..n {
        s += (w[j] * adj_w[j]).sin() + under_w[j] * w[j] * w[j];
        s += w[j] * tables::K[idx[j]] + w[j] * idx[1 + j] as f64;
        s += w[j] * w[j] + 0.5 * w[j + 1];
    }
    s
}

struct Cursor {
    at: std::cell::Cell<usize>,
}

impl Cursor {
    /// The base of the index moves with a `Cell` the body sets: the reverse sweep must not read
    /// it again.
    #[differentiate]
    fn walk(&self, w: &[f64], n: usize) -> f64 {
        let mut s = 0.0;
        for j in 0..n {
            s += w[self.at.get() + j] * w[self.at.get() + j];
            self.at.set(self.at.get() + 1);
        }
        s
    }
}

#[test]
fn slicing_keeps_values_names_and_moving_bases() {
    let w = [0.3, -0.8, 1.1, 0.45, -0.2];
    let (adj_w, under_w, idx) = ([0.7, 1.3, -0.4, 2.0], [1.5, -0.5, 0.25, 1.0], [2, 0, 3, 1]);
    assert_close(
        slice_traps(&w, &adj_w, &under_w, &idx),
        slice_traps_plain(&w, &adj_w, &under_w, &idx),
        1e-14,
    );
    check_slice_function(
        &w,
        |w| slice_traps_plain(w, &adj_w, &under_w, &idx),
        |w, g| slice_traps_grad(w, g, &adj_w, &under_w, &idx),
        |w, dw| slice_traps_jvp(w, dw, &adj_w, &under_w, &idx).1,
    );
    // Each call moves the cursor by n: a fresh one for each evaluation.
    let walk = |w: &[f64]| Cursor { at: 0.into() }.walk(w, 3);
    check_slice_function(
        &w,
        walk,
        |w, g| Cursor { at: 0.into() }.walk_grad(w, g, 3),
        |w, dw| Cursor { at: 0.into() }.walk_jvp(w, dw, 3).1,
    );
    // The cursor and `j` both move: elements 1 and 3.
    let mut g = [0.0; 5];
    Cursor { at: 1.into() }.walk_grad(&w, &mut g, 2);
    assert_all_close(&g, &[0.0, 2.0 * w[1], 0.0, 2.0 * w[3], 0.0], 1e-15);
}

/// Vectors made inside a branch of a loop body, one of them in a branch of a nested loop: the
/// reverse sweep sizes their adjoints from lengths kept in the body's scope.
#[differentiate]
fn vectors_in_branches(w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        if w[i] > 0.0 {
            let mut t = vec![0.0; i + 2];
            for j in 0..t.len() {
                t[j] = w[i] * (j as f64 + 0.5) + w[(i + j) % w.len()];
            }
            s += t[1] * t[t.len() - 1];
        } else {
            let mut k = 0;
            while k < 2 {
                if s > -100.0 {
                    let u = vec![w[i] * s; k + 1];
                    s += u[k].sin();
                }
                k += 1;
            }
        }
    }
    s
}

#[test]
fn vectors_made_in_branches_of_loops() {
    let w = [0.3, -0.8, 1.1, -0.45, 0.2];
    check_slice_function(
        &w,
        vectors_in_branches,
        vectors_in_branches_grad,
        |w, dw| vectors_in_branches_jvp(w, dw).1,
    );
}

/// Vectors grown by `push`: residuals collected then reduced, indices of data, a trajectory
/// read back while it grows (`traj[traj.len() - 3]`), and vectors made in a loop body and in a
/// branch of it.
#[differentiate]
fn pushed(p: &[f64], #[constant] xs: &[f64], #[constant] ys: &[f64]) -> f64 {
    let mut r = Vec::new();
    let mut idx = Vec::new();
    for i in 0..xs.len() {
        r.push(ys[i] - (p[0] * xs[i] + p[1]).tanh());
        if xs[i] > 0.0 {
            idx.push(i);
        }
    }
    let mut pos: Vec<f64> = Vec::with_capacity(idx.len());
    for &i in idx.iter() {
        pos.push(r[i] * p[2]);
    }
    let mut s = 0.0;
    for k in 0..r.len() {
        s += r[k] * r[k];
    }
    let m: f64 = pos.iter().map(|v| v.exp()).sum();
    let mut traj = vec![];
    let mut x = p[0];
    for _ in 0..5 {
        x = x - 0.1 * x.sin();
        traj.push(x);
        if traj.len() > 2 {
            let a = traj[traj.len() - 1];
            let b = traj[traj.len() - 3];
            x += 0.01 * (a - b) * b;
        }
    }
    for t in 0..2 {
        let mut local = Vec::new();
        if t == 1 {
            let mut inner = Vec::new();
            if x > -10.0 {
                inner.push(p[1] * x);
            }
            inner.push(inner[0] * inner[0]);
            s += inner[1];
        }
        for j in 0..3 {
            local.push(p[j] * t as f64 + s);
        }
        s += local.iter().sum::<f64>() * 0.1;
    }
    s + m + traj.iter().sum::<f64>()
}

#[test]
fn vectors_grown_by_push() {
    let xs = [0.5, -1.0, 1.5, 2.0];
    let ys = [0.2, -0.4, 0.6, 0.9];
    check_slice_function(
        &[0.4, -0.3, 0.7],
        |p| pushed(p, &xs, &ys),
        |p, g| pushed_grad(p, g, &xs, &ys),
        |p, dp| pushed_jvp(p, dp, &xs, &ys).1,
    );
}

/// `let [x, y] = p;` of array parameters and locals.
#[differentiate]
fn destructured(p: [f64; 2], q: &[f64]) -> f64 {
    let [x, y] = p;
    let r = [q[0] * y, q[1]];
    let [u, _] = r;
    x * u + y * q[1]
}

#[test]
fn arrays_destructured_by_let() {
    let (p, q) = ([1.5, -0.5], [0.25, 2.0]);
    let (mut dp, mut dq) = ([0.0; 2], [0.0; 2]);
    let v = destructured_grad(p, &mut dp, &q, &mut dq);
    // x·q0·y + y·q1: by hand.
    assert_close(v, p[0] * q[0] * p[1] + p[1] * q[1], 1e-15);
    assert_all_close(&dp, &[q[0] * p[1], p[0] * q[0] + q[1]], 1e-15);
    assert_all_close(&dq, &[p[0] * p[1], p[1]], 1e-15);
}

/// Indices of data collected by `push` and passed to a callee, copies of a pushed vector, and
/// a pushed vector read (with a float method) before the first push in the source.
#[differentiate]
fn gather(p: &[f64], idx: &[usize]) -> f64 {
    let mut s = 0.0;
    for &i in idx {
        s += p[i] * p[i];
    }
    s
}

#[differentiate]
fn pushed_more(p: &[f64]) -> f64 {
    let mut idx = Vec::new();
    for i in 0..p.len() {
        if p[i] > 0.0 {
            idx.push(i);
        }
    }
    let mut xs: Vec<f64> = Vec::new();
    let mut x = p[0];
    for _ in 0..20 {
        if xs.len() > 2 && (x - xs[xs.len() - 1]).abs() < 1e-3 {
            break;
        }
        x = 0.5 * (x + p[1].abs() / x);
        xs.push(x);
    }
    let c = xs.clone();
    gather(p, &idx) + c[c.len() - 1] + xs.iter().sum::<f64>()
}

#[test]
fn pushed_vectors_passed_on_and_copied() {
    check_slice_function(
        &[0.9, 2.0, -0.4, 0.3],
        pushed_more,
        pushed_more_grad,
        |p, dp| pushed_more_jvp(p, dp).1,
    );
}

/// Double buffering with `std::mem::swap` of two vectors, a swap of floats and `v.swap(i, j)`.
#[differentiate]
fn jacobi_sweeps(w: &[f64]) -> f64 {
    let n = w.len();
    let mut cur = w.to_vec();
    let mut nxt = vec![0.0; n];
    for _ in 0..4 {
        for i in 0..n {
            let l = if i > 0 { cur[i - 1] } else { 0.0 };
            let r = if i + 1 < n { cur[i + 1] } else { 0.0 };
            nxt[i] = 0.25 * (l + r) + 0.5 * cur[i] * cur[i];
        }
        std::mem::swap(&mut cur, &mut nxt);
    }
    let mut a = w[0];
    let mut b = w[1] * 2.0;
    std::mem::swap(&mut a, &mut b);
    let mut p = [w[0], w[1], w[2]];
    p.swap(0, 2);
    cur.iter().sum::<f64>() + a * 3.0 + b + p[0] * 10.0 + nxt[1]
}

#[test]
fn swaps() {
    check_slice_function(
        &[0.3, -0.5, 0.8, 0.2],
        jacobi_sweeps,
        jacobi_sweeps_grad,
        |w, dw| jacobi_sweeps_jvp(w, dw).1,
    );
}

/// `let [x0, y0] = pts[i];` of rows and `let [u, v] = [a, b];`: the shoelace area.
#[differentiate]
fn shoelace(pts: &[[f64; 2]], s: f64) -> f64 {
    let mut a = 0.0;
    for i in 0..pts.len() {
        let [x0, y0] = pts[i];
        let [x1, y1] = pts[(i + 1) % pts.len()];
        a += x0 * y1 - x1 * y0;
    }
    let [u, v] = [a * s, a + s];
    0.5 * u * v
}

#[test]
fn rows_and_values_destructured() {
    let pts = [[0.0, 0.0], [2.0, 0.3], [1.5, 1.8], [-0.2, 1.0]];
    let mut d = [[0.0; 2]; 4];
    let (v, [ds]) = shoelace_grad(&pts, &mut d, 0.7);
    assert_close(v, shoelace(&pts, 0.7), 1e-15);
    assert_close(ds, numeric_derivative(|s| shoelace(&pts, s), 0.7), 1e-8);
    for (i, row) in d.iter().enumerate() {
        for j in 0..2 {
            let f = |t: f64| {
                let mut p = pts;
                p[i][j] = t;
                shoelace(&p, 0.7)
            };
            assert_close(row[j], numeric_derivative(f, pts[i][j]), 1e-8);
        }
    }
}

// ------------------------------------------------------------------ found by user-style programs

/// An early `return` before a local array that a loop reads and overwrites (a Cholesky
/// factorisation guarded against a matrix that is not positive definite).
#[differentiate]
fn guarded_cholesky(a: &[f64], n: usize) -> f64 {
    if a[0] <= 0.0 {
        return f64::INFINITY;
    }
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut s = a[j * n + j];
        for k in 0..j {
            s -= l[j * n + k] * l[j * n + k];
        }
        if s <= 0.0 {
            return f64::INFINITY;
        }
        l[j * n + j] = s.sqrt();
        for i in j + 1..n {
            let mut t = a[i * n + j];
            for k in 0..j {
                t -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = t / l[j * n + j];
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut t = 1.0;
        for k in 0..i {
            t -= l[i * n + k] * y[k];
        }
        y[i] = t / l[i * n + i];
    }
    let mut log_det = 0.0;
    for i in 0..n {
        log_det += 2.0 * l[i * n + i].ln();
    }
    0.5 * y.iter().map(|v| v * v).sum::<f64>() + 0.5 * log_det
}

/// Integer casts of values that carry a derivative (a table lookup): the index is data, the
/// interpolation weight carries the derivative.
#[differentiate]
fn lookup(w: &[f64], #[constant] ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in w {
        let u = x * 2.0;
        let i = (u.floor().max(0.0) as usize).min(ys.len() - 2);
        let t = u - i as f64;
        s += ys[i] * (1.0 - t) + ys[i + 1] * t + 2f64.powi(x.round() as i32) * x;
    }
    s
}

/// Shadowing: an array by one built from it, and a parameter by its own copy.
#[allow(clippy::useless_vec)]
#[differentiate]
fn shadowed_arrays(w: &[f64]) -> f64 {
    let s = [w[0], w[1]];
    let s = [s[0] * 2.0, s[1] * s[0]];
    let s = vec![s[1], s[0].sin()];
    let mut w = w.to_vec();
    w[0] = 0.0;
    let mut penalty = 0.0;
    for v in &w {
        penalty += v * v;
    }
    s[0] * s[1] + penalty
}

#[differentiate]
fn norm3(a: [f64; 3]) -> f64 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

/// A copy of an array parameter taken by value keeps its length (`norm3(r)` takes `[f64; 3]`).
#[differentiate]
fn copied_fixed(b: [f64; 3]) -> f64 {
    let mut r = b;
    r[0] -= 1.0;
    norm3(r) * norm3(b)
}

#[test]
fn forms_found_by_user_style_programs() {
    let a = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
    check_slice_function(
        &a,
        |a| guarded_cholesky(a, 3),
        |a, g| guarded_cholesky_grad(a, g, 3),
        |a, d| guarded_cholesky_jvp(a, d, 3).1,
    );
    let (mut g, bad) = ([0.0; 9], [-1.0; 9]);
    assert_eq!(guarded_cholesky_grad(&bad, &mut g, 3), f64::INFINITY);
    assert_eq!(g, [0.0; 9]);
    let ys = [0.0, 1.0, 4.0, 9.0, 16.0, 25.0];
    check_slice_function(
        &[0.3, 1.15, 2.2, 0.9],
        |w| lookup(w, &ys),
        |w, g| lookup_grad(w, g, &ys),
        |w, d| lookup_jvp(w, d, &ys).1,
    );
    check_slice_function(
        &[0.7, -0.4, 1.3],
        shadowed_arrays,
        shadowed_arrays_grad,
        |w, d| shadowed_arrays_jvp(w, d).1,
    );
    check_slice_function(
        &[1.0, 2.0, 2.0],
        |b| copied_fixed([b[0], b[1], b[2]]),
        |b, g| {
            let mut d = [0.0; 3];
            let v = copied_fixed_grad([b[0], b[1], b[2]], &mut d);
            g.copy_from_slice(&d);
            v
        },
        |b, d| copied_fixed_jvp([b[0], b[1], b[2]], &[d[0], d[1], d[2]]).1,
    );
}

/// `loop` as a value: `break value` from the loop itself, from a nested loop by label, and
/// as the function's value.
#[allow(clippy::never_loop)]
#[differentiate]
fn loop_values(w: &[f64]) -> f64 {
    let mut y = w[0];
    let first = loop {
        y *= 2.0;
        if y > 10.0 {
            break y * w[1];
        }
    };
    let found = 'outer: loop {
        for i in 0..w.len() {
            for j in 0..w.len() {
                if w[i] * w[j] > 1.0 {
                    break 'outer w[i] - w[j] * 0.5;
                }
            }
        }
        break 0.0;
    };
    let mut x = w[2];
    loop {
        let next = 0.5 * (x + w[2] / x);
        if (next - x).abs() < 1e-14 {
            break next + first + found;
        }
        x = next;
    }
}

/// A `while` whose condition calls a closure and a `#[differentiate]` function (a backtracking
/// line search), with `break` and `continue` in the body.
#[differentiate]
fn backtracking(w: &[f64]) -> f64 {
    let (x, dir) = (w[0], w[1]);
    let f = |y: f64| (y - 1.0).powi(2) + 0.1 * y.exp();
    let mut t = 1.0;
    while f(x + t * dir) > f(x) + 1e-4 * t * dir && t > 1e-10 {
        t *= 0.5;
    }
    let mut s = 0.0;
    let mut k = 0;
    while norm3([x + s, dir, 1.0]) > norm3([x, dir, 1.0]) - 0.3 {
        s += 0.25 * dir;
        k += 1;
        if k > 20 {
            break;
        }
        if k % 2 == 0 {
            continue;
        }
        s += 0.01 * x;
    }
    x + t * dir + s
}

const GAUSS3: [(f64, f64); 3] = [
    (-0.774_596_669_241_483_4, 0.555_555_555_555_555_6),
    (0.0, 0.888_888_888_888_888_8),
    (0.774_596_669_241_483_4, 0.555_555_555_555_555_6),
];

/// Tuples of data taken apart: rows of a `#[constant]` slice of tuples (by `let` and in a
/// `for` pattern), of a `const` table, of integer rows, and integers from a `match`; and a
/// tuple of values that carry derivatives from an `if`.
#[differentiate]
fn tuples_of_data(
    u: &[f64],
    #[constant] ratings: &[(usize, usize, f64)],
    #[constant] pairs: &[[usize; 2]],
    k: usize,
) -> f64 {
    let mut loss = 0.0;
    for n in 0..ratings.len() {
        let (i, j, r) = ratings[n];
        loss += (u[i] * u[j] - r).powi(2);
    }
    for &(i, _, r) in ratings {
        loss += u[i] * r;
    }
    for (n, (_, j, r)) in ratings.iter().enumerate() {
        loss += u[*j] * r * n as f64;
    }
    for p in 0..pairs.len() {
        let [a, b] = pairs[p];
        loss += u[a] * u[b];
    }
    for &(x, w) in GAUSS3.iter() {
        loss += w * (u[0] * x).exp();
    }
    let (p, q) = match k {
        0 => (0, 1),
        _ => (1, 0),
    };
    let (hi, lo) = if u[p] > u[q] {
        (u[p], u[q])
    } else {
        (u[q], u[p])
    };
    loss + hi - 2.0 * lo
}

/// Arrays written out as a loop's or a reduction's source, and `copy_from_slice`.
#[differentiate]
fn written_out_sources(w: &[f64]) -> f64 {
    let (x, y, z) = (w[0], w[1], w[2]);
    let mut s = 0.0;
    for v in [x, y, z] {
        s += v * v;
    }
    for &v in &[x, 2.0 * y] {
        s += v.sin();
    }
    let t = [x, y * 2.0, z].iter().sum::<f64>();
    let m = [x, y, z].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut u = w.to_vec();
    let mut next = vec![0.0; u.len()];
    for _ in 0..5 {
        for i in 1..u.len() - 1 {
            next[i] = u[i] + 0.2 * (u[i - 1] - 2.0 * u[i] + u[i + 1]);
        }
        u.copy_from_slice(&next);
    }
    s + t * m + u.iter().map(|v| v * v).sum::<f64>()
}

#[test]
fn loop_values_conditions_tuples_and_sources() {
    for w in [[1.3, 0.5, 2.0, 0.4], [0.2, 0.9, 1.5, 0.3]] {
        check_slice_function(&w, loop_values, loop_values_grad, |w, d| {
            loop_values_jvp(w, d).1
        });
    }
    check_slice_function(&[2.0, -1.0], backtracking, backtracking_grad, |w, d| {
        backtracking_jvp(w, d).1
    });
    let ratings = [(0, 1, 3.0), (1, 2, -1.0), (2, 0, 0.5)];
    let pairs = [[0, 2], [1, 1]];
    for k in [0, 1] {
        check_slice_function(
            &[0.3, -0.6, 0.8],
            |u| tuples_of_data(u, &ratings, &pairs, k),
            |u, g| tuples_of_data_grad(u, g, &ratings, &pairs, k),
            |u, d| tuples_of_data_jvp(u, d, &ratings, &pairs, k).1,
        );
    }
    check_slice_function(
        &[0.3, -0.7, 1.1, 0.5, 0.0],
        written_out_sources,
        written_out_sources_grad,
        |w, d| written_out_sources_jvp(w, d).1,
    );
}

/// Helper `fn`s declared in the body (used before their declaration too), and `.any()` /
/// `.all()` feasibility checks of a barrier.
#[differentiate]
fn nested_helpers_and_checks(w: &[f64]) -> f64 {
    if w.iter().any(|&v| v <= 0.0) {
        return f64::INFINITY;
    }
    let inside = w.iter().all(|v| *v < 10.0);
    let a = sq(w[0]) + cube(w[1]);
    fn sq(t: f64) -> f64 {
        t * t
    }
    fn cube(t: f64) -> f64 {
        t * sq(t)
    }
    let mut barrier = 0.0;
    for &v in w {
        barrier -= v.ln();
    }
    if inside {
        a + barrier
    } else {
        a + 2.0 * barrier
    }
}

#[test]
fn nested_helpers_any_and_all() {
    for w in [[0.5, 2.0, 1.5], [0.5, 12.0, 1.5]] {
        check_slice_function(
            &w,
            nested_helpers_and_checks,
            nested_helpers_and_checks_grad,
            |w, d| nested_helpers_and_checks_jvp(w, d).1,
        );
    }
    let mut g = [0.0; 3];
    assert_eq!(
        nested_helpers_and_checks_grad(&[0.5, -1.0, 1.0], &mut g),
        f64::INFINITY
    );
}

//! Iterator chains over arrays: `.skip()`, `.take()`, `.step_by()`, `.rev()` anywhere in the
//! chain, `.zip()` of chains nested as Rust nests them, `.windows()`, `.chunks()`,
//! `.chunks_exact()`, `.filter()` and `.map()` steps, `.iter_mut()`, sub-slices `&xs[a..b]` as loop sources, and runs of an array bound by
//! `let r = &xs[a..b];`. Each function is checked against central differences of itself (1e-8)
//! and its forward mode (1e-12), on lengths where the adaptors cut the array unevenly; the values
//! of the same functions written with index loops (`*_indexed`) check that the chains walk the
//! elements Rust's iterators walk.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]

mod common;
use autodiff::differentiate;
use common::*;

/// Seven values, away from any kink.
const W: [f64; 7] = [0.3, -0.8, 1.1, 0.45, -0.2, 0.9, -1.3];

fn ramp(n: usize) -> Vec<f64> {
    (0..n).map(|i| (0.7 * i as f64 + 0.3).sin()).collect()
}

// ------------------------------------------------------------------ skip, take, step_by, rev

#[differentiate]
fn cut(x: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    for v in x.iter().skip(k) {
        s += v * v;
    }
    for &v in x.iter().take(k + 1) {
        s = s * 0.5 + v.sin();
    }
    for (j, v) in x.iter().skip(1).step_by(k).enumerate() {
        s += v.exp() * (j as f64 + 1.0);
    }
    let tail: f64 = x.iter().rev().take(k).map(|v| v.cos()).sum();
    s + tail * s
}

fn cut_indexed(x: &[f64], k: usize) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in k..n {
        s += x[i] * x[i];
    }
    for i in 0..(k + 1).min(n) {
        s = s * 0.5 + x[i].sin();
    }
    let mut j = 0;
    let mut i = 1;
    while i < n {
        s += x[i].exp() * (j as f64 + 1.0);
        j += 1;
        i += k;
    }
    let mut tail = 0.0;
    for i in (n.saturating_sub(k)..n).rev() {
        tail += x[i].cos();
    }
    s + tail * s
}

#[test]
fn skip_take_step_and_rev() {
    for k in [1, 2, 3, 9] {
        assert_close(cut(&W, k), cut_indexed(&W, k), 1e-14);
        check_slice_function(
            &W,
            |x| cut(x, k),
            |x, g| cut_grad(x, g, k),
            |x, dx| cut_jvp(x, dx, k).1,
        );
    }
}

/// `.rev()` before other adaptors reverses the positions they see.
#[differentiate]
fn reversed_then(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, &v) in x.iter().rev().enumerate() {
        s = s * 0.9 + (i as f64 + 1.0) * v;
    }
    for v in x.iter().rev().skip(2).step_by(2) {
        s *= 1.0 + 0.1 * v;
    }
    for (a, b) in x.iter().rev().zip(x.iter()) {
        s += a * b.sin();
    }
    s
}

fn reversed_then_indexed(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        s = s * 0.9 + (i as f64 + 1.0) * x[n - 1 - i];
    }
    let mut i = 2;
    while i < n {
        s *= 1.0 + 0.1 * x[n - 1 - i];
        i += 2;
    }
    for i in 0..n {
        s += x[n - 1 - i] * x[i].sin();
    }
    s
}

#[test]
fn rev_before_other_adaptors() {
    assert_close(reversed_then(&W), reversed_then_indexed(&W), 1e-14);
    check_slice_function(&W, reversed_then, reversed_then_grad, |x, dx| {
        reversed_then_jvp(x, dx).1
    });
}

#[test]
#[should_panic(expected = "`step_by`'s step must not be zero")]
fn zero_step_panics_as_std_does() {
    cut_grad(&W, &mut [0.0; 7], 0);
}

// ------------------------------------------------------------------ zip

/// Zips nest as Rust nests them: `((a, b), c)` and `((i, a), b)`; a zip stops at the shorter.
#[differentiate]
fn nested_zips(a: &[f64], b: &[f64], #[constant] c: &[f64]) -> f64 {
    let mut s = 0.0;
    for ((x, y), z) in a.iter().zip(b).zip(c) {
        s += x * y * z;
    }
    for ((i, x), &y) in a.iter().enumerate().zip(b.iter().skip(1)) {
        s += (i as f64) * x * y.tanh();
    }
    let dot: f64 = a.iter().zip(b.iter().rev()).map(|(p, q)| p * q).sum();
    s + dot
}

#[test]
fn zips_nest_and_stop_at_the_shorter() {
    let b = ramp(5);
    let c = [0.5, -1.5, 2.0, 0.25, 1.0, 3.0];
    let want = {
        let mut s = 0.0;
        for i in 0..5 {
            s += W[i] * b[i] * c[i];
        }
        for i in 0..4 {
            s += i as f64 * W[i] * b[i + 1].tanh();
        }
        for i in 0..5 {
            s += W[i] * b[4 - i];
        }
        s
    };
    assert_close(nested_zips(&W, &b, &c), want, 1e-14);
    let mut db = vec![0.0; 5];
    check_slice_function(
        &W,
        |a| nested_zips(a, &b, &c),
        |a, g| nested_zips_grad(a, g, &b, &mut db.clone(), &c),
        |a, da| nested_zips_jvp(a, da, &b, &[0.0; 5], &c).1,
    );
    check_slice_function(
        &b,
        |b| nested_zips(&W, b, &c),
        |b, g| nested_zips_grad(&W, &mut [0.0; 7], b, g, &c),
        |b, d| nested_zips_jvp(&W, &[0.0; 7], b, d, &c).1,
    );
    let mut da = [0.0; 7];
    nested_zips_grad(&W, &mut da, &b, &mut db, &c);
    // Past the shortest array nothing is read: a's last two entries only meet b through `rev`.
    assert_eq!(da[6], 0.0);
}

// ------------------------------------------------------------------ windows and chunks

/// A smoothness penalty and a 1-D convolution over windows, the kernel zipped with each window.
#[differentiate]
fn convolve(x: &[f64], kernel: &[f64]) -> f64 {
    let mut rough = 0.0;
    for w in x.windows(2) {
        rough += (w[1] - w[0]).powi(2);
    }
    let mut s = 0.0;
    for (i, w) in x.windows(kernel.len()).enumerate() {
        let y: f64 = w.iter().zip(kernel).map(|(a, k)| a * k).sum();
        s += y.tanh() * (1.0 + i as f64 * w.len() as f64);
    }
    s + 0.1 * rough
}

fn convolve_indexed(x: &[f64], kernel: &[f64]) -> f64 {
    let mut rough = 0.0;
    for i in 1..x.len() {
        rough += (x[i] - x[i - 1]).powi(2);
    }
    let m = kernel.len();
    let mut s = 0.0;
    for i in 0..(x.len() + 1).saturating_sub(m) {
        let mut y = 0.0;
        for j in 0..m {
            y += x[i + j] * kernel[j];
        }
        s += y.tanh() * (1.0 + (i * m) as f64);
    }
    s + 0.1 * rough
}

#[test]
fn windows() {
    let kernel = [0.25, -0.5, 0.75];
    assert_close(convolve(&W, &kernel), convolve_indexed(&W, &kernel), 1e-14);
    check_slice_function(
        &W,
        |x| convolve(x, &kernel),
        |x, g| convolve_grad(x, g, &kernel, &mut [0.0; 3]),
        |x, dx| convolve_jvp(x, dx, &kernel, &[0.0; 3]).1,
    );
    check_slice_function(
        &kernel,
        |k| convolve(&W, k),
        |k, g| convolve_grad(&W, &mut [0.0; 7], k, g),
        |k, dk| convolve_jvp(&W, &[0.0; 7], k, dk).1,
    );
    // A window longer than the slice: no window, as in Rust.
    let long = [1.0; 9];
    let mut g = [0.0; 2];
    let v = convolve_grad(&W[..2], &mut g, &long, &mut [0.0; 9]);
    assert_close(v, convolve_indexed(&W[..2], &long), 1e-14);
}

/// Weights of a layer as rows of one slice (`chunks`, the last row shorter), and as exact rows.
#[differentiate]
fn layer(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, row) in w.chunks(x.len()).enumerate() {
        let z: f64 = row.iter().zip(x).map(|(a, b)| a * b).sum();
        s += (i as f64 + 1.0) * z.sin() / row.len() as f64;
    }
    for pair in w.chunks_exact(2).rev() {
        s = s * 0.5 + pair[0] * pair[1];
    }
    s
}

fn layer_indexed(w: &[f64], x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    let mut i = 0;
    while i * n < w.len() {
        let len = n.min(w.len() - i * n);
        let mut z = 0.0;
        for j in 0..len {
            z += w[i * n + j] * x[j];
        }
        s += (i as f64 + 1.0) * z.sin() / len as f64;
        i += 1;
    }
    for p in (0..w.len() / 2).rev() {
        s = s * 0.5 + w[2 * p] * w[2 * p + 1];
    }
    s
}

#[test]
fn chunks() {
    let x = [0.5, -1.0, 2.0];
    assert_close(layer(&W, &x), layer_indexed(&W, &x), 1e-14);
    check_slice_function(
        &W,
        |w| layer(w, &x),
        |w, g| layer_grad(w, g, &x),
        |w, dw| layer_jvp(w, dw, &x).1,
    );
}

// ------------------------------------------------------------------ sub-slices and views

#[differentiate]
fn squared_norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum()
}

/// Sub-slices as loop sources, a row bound by `let row = &w[..];` (indexed, measured, walked,
/// sliced again, passed to a `#[differentiate]` function).
#[differentiate]
fn slices(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let n = x.len();
    let diffs: f64 = w[1..]
        .iter()
        .zip(&w[..w.len() - 1])
        .map(|(a, b)| (a - b).powi(2))
        .sum();
    let mut s = 0.0;
    for &v in &w[2..=4] {
        s += v.exp();
    }
    for i in 0..w.len() / n {
        let row = &w[i * n..(i + 1) * n];
        let mut z = 0.0;
        for j in 0..row.len() {
            z += row[j] * x[j];
        }
        let head = &row[..2];
        s += z.tanh() + squared_norm(head).sqrt() + row.iter().map(|r| r.sin()).sum::<f64>();
    }
    s + diffs
}

fn slices_indexed(w: &[f64], x: &[f64]) -> f64 {
    let n = x.len();
    let mut diffs = 0.0;
    for i in 1..w.len() {
        diffs += (w[i] - w[i - 1]).powi(2);
    }
    let mut s = 0.0;
    for i in 2..=4 {
        s += w[i].exp();
    }
    for i in 0..w.len() / n {
        let mut z = 0.0;
        let mut sines = 0.0;
        for j in 0..n {
            z += w[i * n + j] * x[j];
            sines += w[i * n + j].sin();
        }
        let head = (w[i * n].powi(2) + w[i * n + 1].powi(2)).sqrt();
        s += z.tanh() + head + sines;
    }
    s + diffs
}

#[test]
fn sub_slices_and_rows() {
    let x = [0.5, -1.0, 2.0];
    assert_close(slices(&W, &x), slices_indexed(&W, &x), 1e-14);
    check_slice_function(
        &W,
        |w| slices(w, &x),
        |w, g| slices_grad(w, g, &x),
        |w, dw| slices_jvp(w, dw, &x).1,
    );
}

/// Views of a local array written in a loop, read in the next.
#[differentiate]
fn local_views(w: &[f64]) -> f64 {
    let mut h = vec![0.0; w.len()];
    for i in 0..w.len() {
        h[i] = (w[i] * 1.5).tanh();
    }
    let mut s = 0.0;
    for c in h.chunks(3) {
        s += c.iter().sum::<f64>() * c[0];
    }
    let inner = &h[1..h.len() - 1];
    for (a, b) in inner.iter().zip(inner.iter().skip(1)) {
        s += a * b;
    }
    s
}

#[test]
fn views_of_a_local_array() {
    let w = ramp(8);
    check_slice_function(&w, local_views, local_views_grad, |w, dw| {
        local_views_jvp(w, dw).1
    });
}

// ------------------------------------------------------------------ collect

/// `.collect()` into a `Vec<f64>` (typed on the `let` or by a turbofish), after `.map()` or not,
/// also under the name of the array it reads, and of a range mapped to floats.
#[differentiate]
fn softmax_loss(z: &[f64], #[constant] y: &[f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    let p = e.iter().map(|v| v / s).collect::<Vec<f64>>();
    let ramp: Vec<f64> = (1..z.len()).map(|i| z[i] * i as f64).collect();
    let z: Vec<f64> = z.iter().rev().skip(1).copied().collect();
    let mut loss = 0.0;
    for (pi, yi) in p.iter().zip(y) {
        loss -= yi * pi.ln();
    }
    loss + z[0] * 0.1 + z.len() as f64 + ramp[ramp.len() - 1].powi(2)
}

fn softmax_loss_indexed(z: &[f64], y: &[f64]) -> f64 {
    let n = z.len();
    let mut m = f64::NEG_INFINITY;
    for i in 0..n {
        m = m.max(z[i]);
    }
    let mut s = 0.0;
    for i in 0..n {
        s += (z[i] - m).exp();
    }
    let mut loss = 0.0;
    for i in 0..n {
        loss -= y[i] * ((z[i] - m).exp() / s).ln();
    }
    loss + z[n - 2] * 0.1 + (n - 1) as f64 + (z[n - 1] * (n - 1) as f64).powi(2)
}

#[test]
fn collected_vectors() {
    let z = [0.3, -1.2, 0.8, 0.1, -0.4];
    let y = [0.1, 0.2, 0.4, 0.2, 0.1];
    assert_close(softmax_loss(&z, &y), softmax_loss_indexed(&z, &y), 1e-14);
    check_slice_function(
        &z,
        |z| softmax_loss(z, &y),
        |z, g| softmax_loss_grad(z, g, &y),
        |z, dz| softmax_loss_jvp(z, dz, &y).1,
    );
}

// ------------------------------------------------------------------ runs checked as slices

/// A run is read in place, so its bounds are checked as the slice's would be.
#[differentiate]
fn past_a_run(x: &[f64], k: usize) -> f64 {
    let row = &x[0..2];
    let mut s = 0.0;
    for j in 0..k {
        s += row[j] * (j as f64 + 1.0);
    }
    s
}

#[differentiate]
fn wider_than_a_run(x: &[f64], k: usize) -> f64 {
    let row = &x[0..2];
    let wide = &row[..k];
    wide.iter().sum::<f64>()
}

#[test]
fn runs_keep_the_bounds_of_their_slice() {
    let mut g = [0.0; 7];
    assert_close(past_a_run_grad(&W, &mut g, 2), W[0] + 2.0 * W[1], 1e-15);
    assert_close(wider_than_a_run_grad(&W, &mut g, 2), W[0] + W[1], 1e-15);
    let past = std::panic::catch_unwind(|| past_a_run_grad(&W, &mut [0.0; 7], 3));
    let wide = std::panic::catch_unwind(|| wider_than_a_run_grad(&W, &mut [0.0; 7], 3));
    assert!(past.is_err() && wide.is_err());
    // As the function itself does.
    assert!(std::panic::catch_unwind(|| past_a_run(&W, 3)).is_err());
    assert!(std::panic::catch_unwind(|| wider_than_a_run(&W, 3)).is_err());
}

const KV: [f64; 4] = [0.5, -0.25, 1.0, 2.0];

/// A sub-slice of a run passed to a callee, a sub-slice of a `const` as a source, and a run
/// passed to a callee in a loop over elements left by `break`.
#[differentiate]
fn runs_to_callees(x: &[f64], #[constant] c: &[f64]) -> f64 {
    let row = &x[1..4];
    let mut s = squared_norm(&row[1..]) + KV[1..].iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
    for (j, _) in c.iter().enumerate() {
        let tail = &x[j..];
        s += squared_norm(tail);
        if s > 5.0 {
            break;
        }
    }
    s
}

#[test]
fn runs_passed_to_callees() {
    let x = [0.5, 1.0, -0.3, 0.8, 1.2];
    let c = [1.0; 3];
    let want = {
        let mut s = 0.09 + 0.64 + (-0.25 * 0.5 + 1.0 * 1.0 + 2.0 * -0.3);
        for j in 0..3 {
            s += x[j..].iter().map(|v| v * v).sum::<f64>();
            if s > 5.0 {
                break;
            }
        }
        s
    };
    assert_close(runs_to_callees(&x, &c), want, 1e-14);
    check_slice_function(
        &x,
        |x| runs_to_callees(x, &c),
        |x, g| runs_to_callees_grad(x, g, &c),
        |x, dx| runs_to_callees_jvp(x, dx, &c).1,
    );
}

// ------------------------------------------------------------------ filter, map, iter_mut

/// `.filter()` and several `.map()`s before a reduction (and `.count()` after a filter), and in
/// `for` loops.
#[differentiate]
fn filtered(w: &[f64]) -> f64 {
    let t = w[0];
    let positive: f64 = w.iter().filter(|&&x| x > 0.0).sum();
    let small: f64 = w.iter().filter(|x| **x < t).map(|x| x * x).sum();
    let twice: f64 = w.iter().map(|x| x * t).map(f64::sin).sum();
    let mixed: f64 = w
        .iter()
        .map(|&x| x * t)
        .filter(|&y| y > -0.1)
        .map(|y| y.exp())
        .sum();
    let even: f64 = w
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, x)| x * x * t)
        .sum();
    let product: f64 = w.iter().filter(|x| x.abs() > 0.25).product();
    let folded = w
        .iter()
        .filter(|&&x| x != 0.5)
        .fold(0.0, |a, &x| a * 0.5 + x * t);
    let rising = w
        .iter()
        .zip(w.iter().skip(1))
        .filter(|(a, b)| *a < *b)
        .fold(1.0, |acc, (a, b)| acc + a * b);
    let mut s = 0.0;
    for x in w.iter().filter(|x| **x > -0.5) {
        s += x * t;
    }
    for (i, &x) in w.iter().enumerate().filter(|&(i, _)| i > 0) {
        if i == 3 {
            continue;
        }
        s += x.sin() * i as f64;
    }
    for y in w.iter().map(|x| x * x) {
        s *= 1.0 + 0.1 * y;
    }
    for k in (0..w.len()).filter(|k| k % 2 == 1) {
        s += w[k] * t;
    }
    let kept = w
        .iter()
        .enumerate()
        .filter(|(i, x)| *i > 0 && x.abs() > 0.25)
        .count();
    positive + small + twice + mixed + even + product + folded + rising + s + kept as f64 * t
}

fn filtered_indexed(w: &[f64]) -> f64 {
    let t = w[0];
    let (mut positive, mut small, mut twice, mut mixed, mut even) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut product, mut folded, mut rising, mut s) = (1.0, 0.0, 1.0, 0.0);
    for i in 0..w.len() {
        let x = w[i];
        if x > 0.0 {
            positive += x;
        }
        if x < t {
            small += x * x;
        }
        twice += (x * t).sin();
        if x * t > -0.1 {
            mixed += (x * t).exp();
        }
        if i % 2 == 0 {
            even += x * x * t;
        }
        if x.abs() > 0.25 {
            product *= x;
        }
        if x != 0.5 {
            folded = folded * 0.5 + x * t;
        }
        if i + 1 < w.len() && x < w[i + 1] {
            rising += x * w[i + 1];
        }
    }
    for i in 0..w.len() {
        if w[i] > -0.5 {
            s += w[i] * t;
        }
    }
    for i in 1..w.len() {
        if i != 3 {
            s += w[i].sin() * i as f64;
        }
    }
    for i in 0..w.len() {
        s *= 1.0 + 0.1 * w[i] * w[i];
    }
    for k in 0..w.len() {
        if k % 2 == 1 {
            s += w[k] * t;
        }
    }
    let mut kept = 0;
    for i in 1..w.len() {
        if w[i].abs() > 0.25 {
            kept += 1;
        }
    }
    positive + small + twice + mixed + even + product + folded + rising + s + kept as f64 * t
}

#[test]
fn filter_and_map_steps() {
    assert_close(filtered(&W), filtered_indexed(&W), 1e-14);
    check_slice_function(&W, filtered, filtered_grad, |w, dw| filtered_jvp(w, dw).1);
}

/// `iter_mut()` over a local vector and a range of it, alone and zipped.
#[differentiate]
fn layer_in_place(w: &[f64]) -> f64 {
    let n = 3;
    let mut h = vec![0.0; n];
    for i in 0..n {
        for j in 0..n {
            h[i] += w[i * n + j] * w[(j + i) % w.len()];
        }
    }
    for (o, b) in h.iter_mut().zip(&w[4..]) {
        *o += b;
    }
    for v in h.iter_mut() {
        *v = v.tanh();
    }
    for (i, v) in h[1..].iter_mut().enumerate() {
        *v *= 1.0 + i as f64 * (*v);
    }
    for v in h.iter_mut().rev().skip(1) {
        let t = *v;
        *v = t * t + (*v).sin();
    }
    h.iter().map(|v| v * v).sum()
}

fn layer_in_place_indexed(w: &[f64]) -> f64 {
    let n = 3;
    let mut h = vec![0.0; n];
    for i in 0..n {
        for j in 0..n {
            h[i] += w[i * n + j] * w[(j + i) % w.len()];
        }
        h[i] += w[4 + i];
        h[i] = h[i].tanh();
    }
    for i in 1..n {
        h[i] *= 1.0 + (i - 1) as f64 * h[i];
    }
    for i in (0..n - 1).rev() {
        h[i] = h[i] * h[i] + h[i].sin();
    }
    h.iter().map(|v| v * v).sum()
}

#[test]
fn iter_mut_over_a_local() {
    let w = [0.3, -0.8, 1.1, 0.45, -0.2, 0.9, -1.3, 0.25, 0.6];
    assert_close(layer_in_place(&w), layer_in_place_indexed(&w), 1e-14);
    check_slice_function(&w, layer_in_place, layer_in_place_grad, |w, dw| {
        layer_in_place_jvp(w, dw).1
    });
}

/// Vectors made in filtered loops and after `continue`, and a comparison with a reference as
/// a filter writes it.
#[allow(clippy::useless_vec)]
#[differentiate]
fn vectors_in_filtered_loops(w: &[f64]) -> f64 {
    let mut acc = 0.0;
    for &x in w.iter().filter(|x| **x > -1.0) {
        let tmp = vec![x, x * x];
        acc += tmp[0] * tmp[1];
    }
    for &x in w.iter() {
        if x > 1.0 {
            continue;
        }
        let tmp = vec![x, 1.0];
        acc += tmp[0] * tmp[1];
    }
    let positive: f64 = w.iter().filter(|&x| x > &0.0).map(|x| x * x).sum();
    acc + positive
}

#[test]
fn vectors_in_filtered_loops_and_reference_comparisons() {
    check_slice_function(
        &W,
        vectors_in_filtered_loops,
        vectors_in_filtered_loops_grad,
        |w, dw| vectors_in_filtered_loops_jvp(w, dw).1,
    );
}

/// `*x.last().unwrap()`, `x.first().copied().unwrap()`, and the maximum and minimum by
/// `partial_cmp`/`total_cmp`, read as indexing and as folds with `f64::max`/`f64::min`.
#[differentiate]
fn ends_and_extrema(x: &[f64]) -> f64 {
    let last = *x.last().unwrap();
    let first = x.first().copied().unwrap();
    let m = x
        .iter()
        .copied()
        .max_by(|a, b| a.partial_cmp(b).unwrap())
        .unwrap();
    let n = *x.iter().min_by(|a, b| a.total_cmp(b)).unwrap();
    let lse = x.iter().map(|v| (v - m).exp()).sum::<f64>().ln() + m;
    last * first + lse + n
}

#[test]
fn ends_and_extrema_of_slices() {
    check_slice_function(
        &[0.3, 1.7, -0.4, 0.9],
        ends_and_extrema,
        ends_and_extrema_grad,
        |x, d| ends_and_extrema_jvp(x, d).1,
    );
}

/// Inclusive ranges and untyped bounds collected into vectors.
#[differentiate]
fn collected_ranges(x: f64, n: usize) -> f64 {
    let m = 3;
    let terms: Vec<f64> = (0..=n)
        .map(|k| x.powi(k as i32) / (k as f64 + 1.0))
        .collect();
    let scaled = (1..=m).map(|k| x * k as f64).collect::<Vec<f64>>();
    let none: Vec<f64> = (m - 1..=m - 2).map(|k| x * k as f64).collect();
    terms.iter().sum::<f64>() + scaled[2] + none.len() as f64
}

#[test]
fn inclusive_and_untyped_ranges_collected() {
    for n in [0, 3] {
        let (v, [d]) = collected_ranges_grad(0.5, n);
        assert_close(v, collected_ranges(0.5, n), 1e-15);
        assert_close(d, numeric_derivative(|x| collected_ranges(x, n), 0.5), 1e-8);
        assert_close(collected_ranges_jvp(0.5, 1.0, n).1, d, 1e-14);
    }
}

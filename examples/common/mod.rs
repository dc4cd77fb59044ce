//! What the examples and the benchmark share: the digits data and a two-layer perceptron.
//!
//! The MLP is `64 → hidden (tanh) → 10 (softmax)`, trained on mean cross-entropy; all its weights live in one
//! flat slice (layout in [`Mlp`]). [`mlp_loss`] is the loss as a user would write it, with loops, and
//! `#[differentiate]` generates its gradient `mlp_loss_grad`; [`mlp_loss_grad_hand`] is the same
//! gradient written by hand (both checked in `tests/mlp.rs`).
#![allow(clippy::needless_range_loop)]

use autodiff::differentiate;
use std::path::Path;

/// Number of pixels per image (8×8).
pub const PIXELS: usize = 64;
/// Number of classes (digits 0–9).
pub const CLASSES: usize = 10;

/// The digits data set split into a training and a test part; pixels scaled to [0, 1], images row-major in
/// one flat vector per part.
pub struct Digits {
    pub x_train: Vec<f64>,
    pub y_train: Vec<usize>,
    pub x_test: Vec<f64>,
    pub y_test: Vec<usize>,
}

impl Digits {
    /// Loads `data/digits/digits.csv` and puts a reproducible random `test_fraction` of it aside.
    pub fn load(test_fraction: f64, seed: u64) -> Digits {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits/digits.csv");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut rows: Vec<(usize, Vec<f64>)> = text
            .lines()
            .skip(1)
            .map(|line| {
                let mut fields = line.split(',');
                let label = fields.next().unwrap().parse().unwrap();
                let pixels: Vec<f64> = fields.map(|f| f.parse::<f64>().unwrap() / 16.0).collect();
                assert_eq!(pixels.len(), PIXELS, "malformed row: {line}");
                (label, pixels)
            })
            .collect();
        shuffle(&mut rows, seed);
        let n_test = (rows.len() as f64 * test_fraction).round() as usize;
        let (test, train) = rows.split_at(n_test);
        let flatten = |part: &[(usize, Vec<f64>)]| {
            (
                part.iter().flat_map(|(_, x)| x.iter().copied()).collect(),
                part.iter().map(|&(y, _)| y).collect(),
            )
        };
        let (x_train, y_train) = flatten(train);
        let (x_test, y_test) = flatten(test);
        Digits {
            x_train,
            y_train,
            x_test,
            y_test,
        }
    }

    /// The training images `indices` (pixels, labels), e.g. one minibatch.
    pub fn batch(&self, indices: &[usize]) -> (Vec<f64>, Vec<usize>) {
        let x = indices
            .iter()
            .flat_map(|&i| self.x_train[i * PIXELS..(i + 1) * PIXELS].iter().copied())
            .collect();
        let y = indices.iter().map(|&i| self.y_train[i]).collect();
        (x, y)
    }
}

/// A reproducible pseudo-random generator (SplitMix64); the examples need repeatable, not secure, numbers.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Fisher–Yates shuffle driven by [`Rng`].
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = Rng::new(seed);
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Minibatches of `0..n` for one epoch: a fresh permutation cut into chunks of `size` (the last may be
/// shorter).
pub fn minibatches(n: usize, size: usize, epoch_seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, epoch_seed);
    order.chunks(size).map(|c| c.to_vec()).collect()
}

/// Layout of the MLP's flat weight vector: `W1` (`hidden × 64`, row-major), `b1` (`hidden`), `W2`
/// (`10 × hidden`), `b2` (`10`).
#[derive(Clone, Copy, Debug)]
pub struct Mlp {
    pub hidden: usize,
}

impl Mlp {
    pub fn len(&self) -> usize {
        self.hidden * PIXELS + self.hidden + CLASSES * self.hidden + CLASSES
    }

    /// Offsets of `b1`, `W2`, `b2`.
    fn offsets(&self) -> (usize, usize, usize) {
        let b1 = self.hidden * PIXELS;
        let w2 = b1 + self.hidden;
        let b2 = w2 + CLASSES * self.hidden;
        (b1, w2, b2)
    }

    /// Weights uniform in ±1/sqrt(fan-in) (PyTorch's default for linear layers), biases 0.
    pub fn init(&self, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        let (b1, w2, b2) = self.offsets();
        let mut w = vec![0.0; self.len()];
        let s1 = 1.0 / (PIXELS as f64).sqrt();
        let s2 = 1.0 / (self.hidden as f64).sqrt();
        for v in &mut w[..b1] {
            *v = s1 * (2.0 * rng.uniform() - 1.0);
        }
        for v in &mut w[w2..b2] {
            *v = s2 * (2.0 * rng.uniform() - 1.0);
        }
        w
    }
}

/// Mean cross-entropy of the MLP with weights `w` (layout in [`Mlp`]) on images `x` (n × 64) with
/// labels `y`, written with index loops as a user would write it. `#[differentiate]` generates
/// `mlp_loss_grad(w, dw, x, y, hidden)`, which the examples train with.
#[differentiate]
pub fn mlp_loss(w: &[f64], #[constant] x: &[f64], y: &[usize], hidden: usize) -> f64 {
    let n = y.len();
    let o_b1 = hidden * PIXELS;
    let o_w2 = o_b1 + hidden;
    let o_b2 = o_w2 + CLASSES * hidden;
    let mut h = vec![0.0; hidden];
    let mut z = [0.0; CLASSES];
    let mut total = 0.0;
    for s in 0..n {
        for j in 0..hidden {
            let mut a = w[o_b1 + j];
            for i in 0..PIXELS {
                a += w[j * PIXELS + i] * x[s * PIXELS + i];
            }
            h[j] = a.tanh();
        }
        let mut zmax = f64::NEG_INFINITY;
        for c in 0..CLASSES {
            let mut a = w[o_b2 + c];
            for j in 0..hidden {
                a += w[o_w2 + c * hidden + j] * h[j];
            }
            z[c] = a;
            if a > zmax {
                zmax = a;
            }
        }
        let mut sum = 0.0;
        for c in 0..CLASSES {
            sum += (z[c] - zmax).exp();
        }
        total += zmax + sum.ln() - z[y[s]];
    }
    total / n as f64
}

/// [`mlp_loss`] and its gradient with respect to `w`, added into `grad`: backpropagation written by
/// hand, the baseline that `tests/mlp.rs` and `benches/optim.rs` compare the generated gradient with.
pub fn mlp_loss_grad_hand(
    w: &[f64],
    x: &[f64],
    y: &[usize],
    hidden: usize,
    grad: &mut [f64],
) -> f64 {
    let n = y.len();
    let inv_n = 1.0 / n as f64;
    let (o_b1, o_w2, o_b2) = Mlp { hidden }.offsets();
    let (w1, rest) = w.split_at(o_b1);
    let (b1, rest) = rest.split_at(hidden);
    let (w2, b2) = rest.split_at(CLASSES * hidden);
    let (g_w1, rest) = grad.split_at_mut(o_b1);
    let (g_b1, rest) = rest.split_at_mut(hidden);
    let (g_w2, g_b2) = rest.split_at_mut(CLASSES * hidden);
    debug_assert_eq!(
        (o_w2, o_b2),
        (o_b1 + hidden, o_b1 + hidden + CLASSES * hidden)
    );
    let mut h = vec![0.0; hidden];
    let mut dh = vec![0.0; hidden];
    let mut total = 0.0;
    for s in 0..n {
        let xs = &x[s * PIXELS..(s + 1) * PIXELS];
        // Forward.
        for (j, hj) in h.iter_mut().enumerate() {
            let row = &w1[j * PIXELS..(j + 1) * PIXELS];
            let a: f64 = b1[j] + row.iter().zip(xs).map(|(a, b)| a * b).sum::<f64>();
            *hj = a.tanh();
        }
        let mut z = [0.0; CLASSES];
        for (c, zc) in z.iter_mut().enumerate() {
            let row = &w2[c * hidden..(c + 1) * hidden];
            *zc = b2[c] + row.iter().zip(&h).map(|(a, b)| a * b).sum::<f64>();
        }
        let zmax = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut p = [0.0; CLASSES];
        let mut sum = 0.0;
        for (pc, &zc) in p.iter_mut().zip(&z) {
            *pc = (zc - zmax).exp();
            sum += *pc;
        }
        total += zmax + sum.ln() - z[y[s]];
        // Backward: dL/dz = softmax(z) − onehot(y), scaled by 1/n.
        dh.fill(0.0);
        for c in 0..CLASSES {
            let dz = (p[c] / sum - if c == y[s] { 1.0 } else { 0.0 }) * inv_n;
            g_b2[c] += dz;
            let row = &w2[c * hidden..(c + 1) * hidden];
            let g_row = &mut g_w2[c * hidden..(c + 1) * hidden];
            for j in 0..hidden {
                g_row[j] += dz * h[j];
                dh[j] += dz * row[j];
            }
        }
        for j in 0..hidden {
            let da = dh[j] * (1.0 - h[j] * h[j]);
            g_b1[j] += da;
            let g_row = &mut g_w1[j * PIXELS..(j + 1) * PIXELS];
            for (g, &xi) in g_row.iter_mut().zip(xs) {
                *g += da * xi;
            }
        }
    }
    total * inv_n
}

/// Fraction of images `x` whose most probable class under the MLP is the label.
pub fn accuracy(w: &[f64], x: &[f64], y: &[usize], hidden: usize) -> f64 {
    let (o_b1, o_w2, o_b2) = Mlp { hidden }.offsets();
    let mut correct = 0;
    let mut h = vec![0.0; hidden];
    for (s, &label) in y.iter().enumerate() {
        let xs = &x[s * PIXELS..(s + 1) * PIXELS];
        for (j, hj) in h.iter_mut().enumerate() {
            let row = &w[j * PIXELS..(j + 1) * PIXELS];
            *hj = (w[o_b1 + j] + row.iter().zip(xs).map(|(a, b)| a * b).sum::<f64>()).tanh();
        }
        let mut best = (f64::NEG_INFINITY, 0);
        for c in 0..CLASSES {
            let row = &w[o_w2 + c * hidden..o_w2 + (c + 1) * hidden];
            let zc = w[o_b2 + c] + row.iter().zip(&h).map(|(a, b)| a * b).sum::<f64>();
            if zc > best.0 {
                best = (zc, c);
            }
        }
        if best.1 == label {
            correct += 1;
        }
    }
    correct as f64 / y.len() as f64
}

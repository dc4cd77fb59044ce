//! The peer: the same objectives differentiated by the `num-dual` crate (forward mode, vector duals).
//!
//! num-dual needs each objective rewritten generically over its `DualNum` trait; that rewriting is the
//! cost `#[differentiate]` removes, so it is kept as short as the maths allows. Tests check every peer
//! derivative against the hand-written one before any of it is timed.

use super::data::GmmInput;
use super::gmm::{wishart_constant, GmmGradient};
use num_dual::{Dual64, DualNum, DualSVec64};

// ---- Rosenbrock -------------------------------------------------------------------------------------

fn rosenbrock_generic<D: DualNum<Primitive = f64> + Copy>(x: D, y: D) -> D {
    let (a, b) = (-x + 1.0, y - x * x);
    a * a + b * b * 100.0
}

/// Value and gradient of the Rosenbrock function with a 2-wide num-dual vector dual.
pub fn rosenbrock_gradient_num_dual(x: f64, y: f64) -> (f64, [f64; 2]) {
    let f = rosenbrock_generic(
        DualSVec64::<2>::from_re(x).derivative(0),
        DualSVec64::<2>::from_re(y).derivative(1),
    );
    (f.re, tangents(&f))
}

// ---- Bundle adjustment ------------------------------------------------------------------------------

fn ba_residual_generic<D: DualNum<Primitive = f64> + Copy>(
    cam: [D; 11],
    x: [D; 3],
    w: D,
    feat: [f64; 2],
) -> [D; 2] {
    let [r0, r1, r2, c0, c1, c2, f, u0, v0, k1, k2] = cam;
    let xo = [x[0] - c0, x[1] - c1, x[2] - c2];
    let theta2 = r0 * r0 + r1 * r1 + r2 * r2;
    let cross = |a: [D; 3], b: [D; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let xc: [D; 3] = if theta2.re() != 0.0 {
        let theta = theta2.sqrt();
        let (s, c) = theta.sin_cos();
        let a = [r0 / theta, r1 / theta, r2 / theta];
        let axo = cross(a, xo);
        let t = (a[0] * xo[0] + a[1] * xo[1] + a[2] * xo[2]) * (-c + 1.0);
        std::array::from_fn(|i| xo[i] * c + axo[i] * s + a[i] * t)
    } else {
        let rxo = cross([r0, r1, r2], xo);
        std::array::from_fn(|i| xo[i] + rxo[i])
    };
    let p = [xc[0] / xc[2], xc[1] / xc[2]];
    let s = p[0] * p[0] + p[1] * p[1];
    let distortion = k1 * s + k2 * s * s + 1.0;
    [
        w * (p[0] * distortion * f + u0 - feat[0]),
        w * (p[1] * distortion * f + v0 - feat[1]),
    ]
}

/// Residual and 2×15 Jacobian of `ba_residual` with one pass of a 15-wide num-dual vector dual.
#[allow(clippy::too_many_arguments)] // same signature as ba_residual_jacobian_hand
pub fn ba_residual_jacobian_num_dual(
    r0: f64,
    r1: f64,
    r2: f64,
    c0: f64,
    c1: f64,
    c2: f64,
    f: f64,
    u0: f64,
    v0: f64,
    k1: f64,
    k2: f64,
    x0: f64,
    x1: f64,
    x2: f64,
    w: f64,
    feat_x: f64,
    feat_y: f64,
) -> ((f64, f64), [[f64; 15]; 2]) {
    let inputs = [r0, r1, r2, c0, c1, c2, f, u0, v0, k1, k2, x0, x1, x2, w];
    let v: [DualSVec64<15>; 15] =
        std::array::from_fn(|i| DualSVec64::from_re(inputs[i]).derivative(i));
    let cam = std::array::from_fn(|i| v[i]);
    let err = ba_residual_generic(cam, [v[11], v[12], v[13]], v[14], [feat_x, feat_y]);
    (
        (err[0].re, err[1].re),
        [tangents(&err[0]), tangents(&err[1])],
    )
}

// ---- Gaussian mixture model -------------------------------------------------------------------------

#[allow(clippy::needless_range_loop)] // written as the plain objective is
fn gmm_objective_generic<D: DualNum<Primitive = f64> + Copy>(
    alphas: &[D],
    means: &[D],
    icf: &[D],
    inp: &GmmInput,
) -> D {
    let (d, k) = (inp.d, inp.k);
    let icf_len = d * (d + 1) / 2;
    let zero = D::from(0.0);
    let lse = |v: &[D]| {
        let max = v.iter().fold(v[0], |m, &t| if t > m { t } else { m });
        v.iter().fold(zero, |s, &t| s + (t - max).exp()).ln() + max
    };
    let q_diag: Vec<D> = (0..k * d)
        .map(|i| icf[i / d * icf_len + i % d].exp())
        .collect();
    let sum_q: Vec<D> = (0..k)
        .map(|c| icf[c * icf_len..c * icf_len + d].iter().copied().sum())
        .collect();
    let (mut v, mut qx, mut main, mut data_term) =
        (vec![zero; d], vec![zero; d], vec![zero; k], zero);
    for xi in inp.x.chunks_exact(d) {
        for c in 0..k {
            for j in 0..d {
                v[j] = -means[c * d + j] + xi[j];
                qx[j] = q_diag[c * d + j] * v[j];
            }
            let mut li = c * icf_len + d;
            for col in 0..d {
                for row in col + 1..d {
                    qx[row] += icf[li] * v[col];
                    li += 1;
                }
            }
            main[c] = alphas[c] + sum_q[c] - qx.iter().fold(zero, |s, &t| s + t * t) * 0.5;
        }
        data_term += lse(&main);
    }
    let mut prior = zero;
    for c in 0..k {
        let diag = q_diag[c * d..(c + 1) * d]
            .iter()
            .fold(zero, |s, &t| s + t * t);
        let lower = icf[c * icf_len + d..(c + 1) * icf_len]
            .iter()
            .fold(zero, |s, &t| s + t * t);
        prior += (diag + lower) * (0.5 * inp.gamma * inp.gamma) - sum_q[c] * inp.m as f64;
    }
    let n = inp.n as f64;
    data_term - lse(alphas) * n + prior
        - n * d as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln()
        - k as f64 * wishart_constant(d, inp.gamma, inp.m)
}

/// Value and full gradient of the GMM objective with num-dual: [`gmm_gradient_pass_num_dual`] for each
/// block of `W` inputs, `⌈(k + k·d + k·d(d+1)/2) / W⌉` passes.
pub fn gmm_gradient_num_dual<const W: usize>(inp: &GmmInput) -> (f64, GmmGradient) {
    let total = inp.alphas.len() + inp.means.len() + inp.icf.len();
    let mut grad = vec![0.0; total];
    let mut value = 0.0;
    for start in (0..total).step_by(W) {
        let (f, partials) = gmm_gradient_pass_num_dual::<W>(inp, start);
        value = f;
        let end = total.min(start + W);
        grad[start..end].copy_from_slice(&partials[..end - start]);
    }
    let icf_grad = grad.split_off(inp.k + inp.means.len());
    let means_grad = grad.split_off(inp.k);
    let gradient = GmmGradient {
        alphas: grad,
        means: means_grad,
        icf: icf_grad,
    };
    (value, gradient)
}

/// Number of `W`-wide passes [`gmm_gradient_num_dual`] makes for this input.
pub fn gmm_num_dual_passes<const W: usize>(inp: &GmmInput) -> usize {
    (inp.alphas.len() + inp.means.len() + inp.icf.len()).div_ceil(W)
}

/// One num-dual pass: the value and the partial derivatives in inputs `start .. start + W` (α, μ, icf
/// concatenated; slots past the end are 0).
pub fn gmm_gradient_pass_num_dual<const W: usize>(inp: &GmmInput, start: usize) -> (f64, [f64; W]) {
    let mut offset = 0;
    let [a, mu, icf] = [&inp.alphas, &inp.means, &inp.icf].map(|part| {
        let seeded: Vec<DualSVec64<W>> = (offset..offset + part.len())
            .zip(part.iter())
            .map(|(g, &v)| match g.checked_sub(start) {
                Some(slot) if slot < W => DualSVec64::from_re(v).derivative(slot),
                _ => DualSVec64::from_re(v),
            })
            .collect();
        offset += part.len();
        seeded
    });
    let f = gmm_objective_generic(&a, &mu, &icf, inp);
    (f.re, tangents(&f))
}

/// Value and one directional derivative `∇f · dir` of the GMM objective with a scalar num-dual `Dual64`:
/// the cost of a single forward direction. `dir` is laid out as α, μ, icf concatenated.
pub fn gmm_directional_num_dual(inp: &GmmInput, dir: &[f64]) -> (f64, f64) {
    let mut offset = 0;
    let [a, mu, icf] = [&inp.alphas, &inp.means, &inp.icf].map(|part| {
        let seeded: Vec<Dual64> = part
            .iter()
            .zip(&dir[offset..offset + part.len()])
            .map(|(&v, &t)| Dual64::new(v, t))
            .collect();
        offset += part.len();
        seeded
    });
    let f = gmm_objective_generic(&a, &mu, &icf, inp);
    (f.re, f.eps)
}

/// The tangent part of a num-dual vector dual (num-dual stores an all-zero tangent as `None`).
fn tangents<const W: usize>(x: &DualSVec64<W>) -> [f64; W] {
    match &x.eps.0 {
        Some(eps) => std::array::from_fn(|i| eps[i]),
        None => [0.0; W],
    }
}

//! ADBench's Gaussian-mixture-model log-likelihood with a Wishart prior.
//!
//! [`gmm_objective`] is written the way a user would write it: flat slices, index loops, the log-sum-exp
//! inlined (max subtracted first). [`gmm_objective_gradient`] is the hand-written reverse-mode gradient of
//! the same code, the baseline the generated code is compared with. Layout (ADBench's): `alphas[k]`,
//! `means[k·d]` row-major, `icf[k·d(d+1)/2]` row-major with each row the log-diagonal `q` (d values) then
//! the strictly-lower entries of `L` column by column, `x[n·d]` row-major.
// Index loops are the form the objective is written in on purpose, and the flat ADBench layout is passed
// as a user would; module-wide so that these also cover the functions #[differentiate] generates.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

use autodiff::differentiate;
use std::f64::consts::PI;

/// Negative log-likelihood-like objective `f` of ADBench's GMM (its sign convention, see `docs/adbench.md`):
///
/// `f = −n·d/2·ln 2π + Σ_i logsumexp_c(α_c + Σ q_c − ½‖Q_c(x_i − μ_c)‖²) − n·logsumexp(α)
///      + Σ_c (½γ²(‖exp q_c‖² + ‖l_c‖²) − m·Σ q_c) − k·C`,
/// with `Q_c = diag(exp q_c) + L_c` and `C` the Wishart normalising constant ([`wishart_constant`]).
#[differentiate]
pub fn gmm_objective(
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    #[constant] x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    #[constant] gamma: f64,
    m: i32,
) -> f64 {
    let icf_len = d * (d + 1) / 2;

    // Per component: the diagonal of Q (exp of the log-diagonal) and the sum of the log-diagonal.
    let mut q_diag = vec![0.0; k * d];
    let mut sum_q = vec![0.0; k];
    for c in 0..k {
        for j in 0..d {
            let q = icf[c * icf_len + j];
            q_diag[c * d + j] = q.exp();
            sum_q[c] += q;
        }
    }

    // Data term: Σ_i logsumexp over the components.
    let mut centred = vec![0.0; d];
    let mut qx = vec![0.0; d];
    let mut main = vec![0.0; k];
    let mut data_term = 0.0;
    for i in 0..n {
        for c in 0..k {
            for j in 0..d {
                centred[j] = x[i * d + j] - means[c * d + j];
            }
            for j in 0..d {
                qx[j] = q_diag[c * d + j] * centred[j];
            }
            let mut li = c * icf_len + d;
            for col in 0..d {
                for row in col + 1..d {
                    qx[row] += icf[li] * centred[col];
                    li += 1;
                }
            }
            let mut sq = 0.0;
            for j in 0..d {
                sq += qx[j] * qx[j];
            }
            main[c] = alphas[c] + sum_q[c] - 0.5 * sq;
        }
        let mut max = main[0];
        for c in 1..k {
            if main[c] > max {
                max = main[c];
            }
        }
        let mut sum_exp = 0.0;
        for c in 0..k {
            sum_exp += (main[c] - max).exp();
        }
        data_term += sum_exp.ln() + max;
    }

    // Mixture-weight normaliser: n · logsumexp(α).
    let mut max_alpha = alphas[0];
    for c in 1..k {
        if alphas[c] > max_alpha {
            max_alpha = alphas[c];
        }
    }
    let mut sum_exp_alpha = 0.0;
    for c in 0..k {
        sum_exp_alpha += (alphas[c] - max_alpha).exp();
    }
    let lse_alpha = sum_exp_alpha.ln() + max_alpha;

    // Wishart prior.
    let mut prior = 0.0;
    for c in 0..k {
        let mut frobenius = 0.0;
        for j in 0..d {
            frobenius += q_diag[c * d + j] * q_diag[c * d + j];
        }
        for li in c * icf_len + d..(c + 1) * icf_len {
            frobenius += icf[li] * icf[li];
        }
        prior += 0.5 * gamma * gamma * frobenius - m as f64 * sum_q[c];
    }

    let n_f = n as f64;
    -n_f * d as f64 * 0.5 * (2.0 * PI).ln() + data_term - n_f * lse_alpha + prior
        - k as f64 * wishart_constant(d, gamma, m)
}

/// Gradient of [`gmm_objective`], one vector per input slice, in the same layouts.
#[derive(Clone, Debug, PartialEq)]
pub struct GmmGradient {
    /// `∂f/∂α`, `k` values.
    pub alphas: Vec<f64>,
    /// `∂f/∂μ`, `k·d` values.
    pub means: Vec<f64>,
    /// `∂f/∂icf`, `k·d(d+1)/2` values.
    pub icf: Vec<f64>,
}

/// Hand-written reverse-mode value and gradient of [`gmm_objective`].
///
/// Per point `i` the forward pass keeps `v_c = x_i − μ_c` and `y_c = Q_c v_c` for every component; with
/// the softmax weights `ω_c = exp(main_c − lse_i)` the backward pass accumulates
/// `∂main_c/∂α_c = 1`, `∂main_c/∂q_cj = 1 − y_j exp(q_cj) v_j`, `∂main_c/∂L_c[r][s] = −y_r v_s`,
/// `∂main_c/∂μ_c = Q_cᵀ y_c`. The normaliser adds `−n·softmax(α)`, the prior `γ² exp(2q) − m` and `γ² l`.
/// The `1` terms are summed once per component (`Σ_i ω_c`) instead of per point.
pub fn gmm_objective_gradient(
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    gamma: f64,
    m: i32,
) -> (f64, GmmGradient) {
    let icf_len = d * (d + 1) / 2;
    let mut q_diag = vec![0.0; k * d];
    let mut sum_q = vec![0.0; k];
    for c in 0..k {
        for j in 0..d {
            let q = icf[c * icf_len + j];
            q_diag[c * d + j] = q.exp();
            sum_q[c] += q;
        }
    }

    let mut g_alpha = vec![0.0; k]; // Σ_i ω_c until the end
    let mut g_means = vec![0.0; k * d];
    let mut g_icf = vec![0.0; k * icf_len];

    let mut centred = vec![0.0; k * d];
    let mut qx = vec![0.0; k * d];
    let mut main = vec![0.0; k];
    let mut wy = vec![0.0; d];
    let mut data_term = 0.0;
    for i in 0..n {
        let xi = &x[i * d..(i + 1) * d];
        // Forward, keeping v_c and y_c of every component.
        let mut max = f64::NEG_INFINITY;
        for c in 0..k {
            let v = &mut centred[c * d..(c + 1) * d];
            let y = &mut qx[c * d..(c + 1) * d];
            let qd = &q_diag[c * d..(c + 1) * d];
            let mu = &means[c * d..(c + 1) * d];
            for j in 0..d {
                v[j] = xi[j] - mu[j];
                y[j] = qd[j] * v[j];
            }
            let l = &icf[c * icf_len + d..(c + 1) * icf_len];
            let mut li = 0;
            for col in 0..d {
                let vc = v[col];
                for row in col + 1..d {
                    y[row] += l[li] * vc;
                    li += 1;
                }
            }
            let sq: f64 = y.iter().map(|t| t * t).sum();
            main[c] = alphas[c] + sum_q[c] - 0.5 * sq;
            max = max.max(main[c]);
        }
        let mut sum_exp = 0.0;
        for c in 0..k {
            main[c] = (main[c] - max).exp(); // reuse as the unnormalised weight
            sum_exp += main[c];
        }
        data_term += sum_exp.ln() + max;

        // Backward: d lse / d main_c = ω_c.
        let inv_sum = 1.0 / sum_exp;
        for c in 0..k {
            let omega = main[c] * inv_sum;
            g_alpha[c] += omega;
            let v = &centred[c * d..(c + 1) * d];
            let y = &qx[c * d..(c + 1) * d];
            let qd = &q_diag[c * d..(c + 1) * d];
            let gq = &mut g_icf[c * icf_len..(c + 1) * icf_len];
            let gm = &mut g_means[c * d..(c + 1) * d];
            for j in 0..d {
                wy[j] = omega * y[j];
                gq[j] -= wy[j] * qd[j] * v[j];
                gm[j] += wy[j] * qd[j];
            }
            let l = &icf[c * icf_len + d..(c + 1) * icf_len];
            let mut li = 0;
            for col in 0..d {
                let vc = v[col];
                let mut lt_wy = 0.0; // (Lᵀ ω y)_col
                for row in col + 1..d {
                    gq[d + li] -= wy[row] * vc;
                    lt_wy += l[li] * wy[row];
                    li += 1;
                }
                gm[col] += lt_wy;
            }
        }
    }

    // Normaliser n · logsumexp(α): value and −n · softmax(α).
    let max_alpha = alphas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp_alpha: Vec<f64> = alphas.iter().map(|a| (a - max_alpha).exp()).collect();
    let sum_exp_alpha: f64 = exp_alpha.iter().sum();
    let lse_alpha = sum_exp_alpha.ln() + max_alpha;
    let n_f = n as f64;

    // Prior, and the per-component Σ_i ω_c into ∂/∂q.
    let gamma2 = gamma * gamma;
    let m_f = m as f64;
    let mut prior = 0.0;
    for c in 0..k {
        let weight_sum = g_alpha[c];
        g_alpha[c] = weight_sum - n_f * exp_alpha[c] / sum_exp_alpha;
        let gq = &mut g_icf[c * icf_len..(c + 1) * icf_len];
        let row = &icf[c * icf_len..(c + 1) * icf_len];
        let mut frobenius = 0.0;
        for j in 0..d {
            let e2 = q_diag[c * d + j] * q_diag[c * d + j];
            frobenius += e2;
            gq[j] += weight_sum + gamma2 * e2 - m_f;
        }
        for li in d..icf_len {
            frobenius += row[li] * row[li];
            gq[li] += gamma2 * row[li];
        }
        prior += 0.5 * gamma2 * frobenius - m_f * sum_q[c];
    }

    let f = -n_f * d as f64 * 0.5 * (2.0 * PI).ln() + data_term - n_f * lse_alpha + prior
        - k as f64 * wishart_constant(d, gamma, m);
    (
        f,
        GmmGradient {
            alphas: g_alpha,
            means: g_means,
            icf: g_icf,
        },
    )
}

/// Wishart normalising constant `C = n·d·(ln γ − ½ ln 2) − ln Γ_d(n/2)` with `n = d + m + 1`.
///
/// It does not depend on the differentiated inputs.
pub fn wishart_constant(d: usize, gamma: f64, m: i32) -> f64 {
    let dof = d as f64 + m as f64 + 1.0;
    dof * d as f64 * (gamma.ln() - 0.5 * 2f64.ln()) - ln_multivariate_gamma(0.5 * dof, d)
}

/// Log of the multivariate gamma function,
/// `ln Γ_d(a) = ¼ d(d−1) ln π + Σ_{j=1..d} ln Γ(a + (1 − j)/2)`.
pub fn ln_multivariate_gamma(a: f64, d: usize) -> f64 {
    let d_f = d as f64;
    let mut out = 0.25 * d_f * (d_f - 1.0) * PI.ln();
    for j in 1..=d {
        out += ln_gamma(a + 0.5 * (1.0 - j as f64));
    }
    out
}

/// `ln |Γ(x)|` by the Lanczos approximation (g = 7, nine coefficients, P. Godfrey's set), with the
/// reflection formula `Γ(x)Γ(1 − x) = π / sin(πx)` below ½. About 15 significant digits; infinite at
/// the poles `x = 0, −1, −2, …`.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (PI / (PI * x).sin().abs()).ln() - ln_gamma(1.0 - x);
    }
    let z = x - 1.0;
    let mut series = COEFFICIENTS[0];
    for (i, coefficient) in COEFFICIENTS.iter().enumerate().skip(1) {
        series += coefficient / (z + i as f64);
    }
    let t = z + G + 0.5;
    0.5 * (2.0 * PI).ln() + (z + 0.5) * t.ln() - t + series.ln()
}

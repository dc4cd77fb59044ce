//! Behaviour of the hyper-stacked gradient-descent driver (`autodiff::optim`).
//!
//! Independent sources: the closed-form recurrences of pure SGD stacks, the hand-checkable trace of the
//! specification (its published numbers), central differences of the loss through one replayed step, and
//! recurrences written out in the tests. Tolerances are stated at each assertion.

// Indexing several parallel arrays by one counter reads better here than zipped iterators.
#![allow(clippy::needless_range_loop)]

use autodiff::optim::{
    squash, unsquash, AdaGrad, Adam, AdamBaydin, Error, Optimizer, RMSProp, RMSPropAlpha, Sgd,
    SgdPerParam, Stack,
};
use autodiff::{Dual, Real};

// ---------------------------------------------------------------------------------------------------------
// Test problems
// ---------------------------------------------------------------------------------------------------------

/// Reproducible numbers in [-1, 1) from a 64-bit linear congruential generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// `L(w) = mean_i (x_i·w − y_i)²`, gradient `2/n Σ_i (x_i·w − y_i) x_i`.
struct LeastSquares {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
}

impl LeastSquares {
    fn generate(n: usize, d: usize, seed: u64) -> Self {
        let mut r = Lcg(seed);
        let truth: Vec<f64> = (0..d).map(|_| r.next()).collect();
        let x: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| r.next()).collect()).collect();
        let y = x
            .iter()
            .map(|xi| dot(xi, &truth) + 0.1 * r.next())
            .collect();
        LeastSquares { x, y }
    }

    fn loss_grad(&self, w: &[f64], g: &mut [f64]) -> f64 {
        let n = self.y.len() as f64;
        let mut loss = 0.0;
        for (xi, &yi) in self.x.iter().zip(&self.y) {
            let r = dot(xi, w) - yi;
            loss += r * r / n;
            for (gj, &xij) in g.iter_mut().zip(xi) {
                *gj += 2.0 * r * xij / n;
            }
        }
        loss
    }
}

/// `L(w) = mean_i log(1 + exp(−y_i (x_i·w)))`, a smooth non-quadratic loss.
struct Logistic {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
}

impl Logistic {
    fn generate(n: usize, d: usize, seed: u64) -> Self {
        let mut r = Lcg(seed);
        let x: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..d).map(|_| 2.0 * r.next()).collect())
            .collect();
        let y = (0..n)
            .map(|_| if r.next() > 0.0 { 1.0 } else { -1.0 })
            .collect();
        Logistic { x, y }
    }

    fn loss_grad(&self, w: &[f64], g: &mut [f64]) -> f64 {
        let n = self.y.len() as f64;
        let mut loss = 0.0;
        for (xi, &yi) in self.x.iter().zip(&self.y) {
            let z = -yi * dot(xi, w);
            loss += (1.0 + z.exp()).ln() / n;
            let s = 1.0 / (1.0 + (-z).exp()); // d/dz log(1 + e^z)
            for (gj, &xij) in g.iter_mut().zip(xi) {
                *gj += -yi * s * xij / n;
            }
        }
        loss
    }

    fn loss(&self, w: &[f64]) -> f64 {
        self.loss_grad(w, &mut vec![0.0; w.len()])
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `|a − b| ≤ rel · (max(|a|, |b|) + floor)`.
#[track_caller]
fn assert_close(what: &str, a: f64, b: f64, rel: f64, floor: f64) {
    assert!(
        (a - b).abs() <= rel * (a.abs().max(b.abs()) + floor),
        "{what}: {a:e} vs {b:e} (difference {:e}, rel {rel:e}, floor {floor:e})",
        (a - b).abs()
    );
}

// ---------------------------------------------------------------------------------------------------------
// Pure SGD stacks against their closed form
// ---------------------------------------------------------------------------------------------------------

/// The specification's closed form: `H_0(t) = −⟨g_t, g_{t−1}⟩`, `H_k(t) = −H_{k−1}(t)·H_{k−1}(t−1)`,
/// `α_k(t+1) = α_k(t) − α_{k+1}(t+1)·H_k(t)` top-down, `w_{t+1} = w_t − α_0(t+1)·g_t`.
struct ClosedForm {
    alpha: Vec<f64>,
    hyper: Vec<f64>,
    g_prev: Vec<f64>,
    w: Vec<f64>,
}

impl ClosedForm {
    fn new(alpha: &[f64], w: &[f64]) -> Self {
        ClosedForm {
            alpha: alpha.to_vec(),
            hyper: vec![0.0; alpha.len()],
            g_prev: vec![0.0; w.len()],
            w: w.to_vec(),
        }
    }

    /// One step with gradient `g` at `self.w`.
    fn step(&mut self, g: &[f64]) {
        let n = self.alpha.len();
        let prev = self.hyper.clone();
        self.hyper[0] = -dot(g, &self.g_prev);
        for k in 1..n {
            self.hyper[k] = -self.hyper[k - 1] * prev[k - 1];
        }
        for k in (0..n - 1).rev() {
            self.alpha[k] -= self.alpha[k + 1] * self.hyper[k];
        }
        for (w, &gi) in self.w.iter_mut().zip(g) {
            *w -= self.alpha[0] * gi;
        }
        self.g_prev = g.to_vec();
    }
}

fn sgd_stack(alpha: &[f64]) -> Stack {
    let mut stack = Stack::new(Sgd::new(alpha[0]));
    for &a in &alpha[1..] {
        stack = stack / Sgd::new(a);
    }
    stack
}

#[test]
fn sgd_stacks_follow_the_closed_form_at_several_heights() {
    let problem = LeastSquares::generate(40, 6, 7);
    for alpha in [
        vec![0.05],
        vec![0.05, 0.05],
        vec![0.02, 0.5, 0.5],
        vec![0.02, 0.5, 2.0, 2.0],
        vec![0.02, 0.3, 1.0, 3.0, 3.0, 3.0],
    ] {
        let height = alpha.len();
        let mut stack = sgd_stack(&alpha);
        let mut w = vec![0.0; 6];
        let mut cf = ClosedForm::new(&alpha, &w);
        for t in 0..40 {
            let mut g = vec![0.0; 6];
            problem.loss_grad(&cf.w, &mut g);
            cf.step(&g);
            stack.step(&mut w, |w, g| problem.loss_grad(w, g)).unwrap();
            // Same operations in a different order (dual numbers vs the recurrence): 1e-12 relative.
            for i in 0..6 {
                assert_close(&format!("h{height} t{t} w{i}"), w[i], cf.w[i], 1e-12, 1e-12);
            }
            for k in 0..height {
                let level = stack.level(k);
                assert_close(
                    &format!("h{height} t{t} α{k}"),
                    level.raw()[0],
                    cf.alpha[k],
                    1e-12,
                    0.0,
                );
                let h = level.hypergradient()[0];
                assert_close(
                    &format!("h{height} t{t} H{k}"),
                    h,
                    cf.hyper[k],
                    1e-12,
                    1e-300,
                );
                // μ is unused without momentum: hypergradient exactly 0, value unchanged.
                assert_eq!(level.hypergradient()[1], 0.0);
                assert_eq!(level.raw()[1], 0.0);
            }
        }
        // The check means something only if the hyperparameters moved.
        for k in 0..height.saturating_sub(1).min(3) {
            let moved = (stack.level(k).raw()[0] - alpha[k]).abs() / alpha[k];
            assert!(
                moved > 1e-6,
                "height {height}: α{k} moved by only {moved:e}"
            );
        }
    }
}

#[test]
fn a_height_50_sgd_stack_runs_and_follows_the_closed_form() {
    let problem = LeastSquares::generate(20, 4, 11);
    let alpha = vec![0.01; 50];
    let mut stack = sgd_stack(&alpha);
    assert_eq!(stack.height(), 50);
    let mut w = vec![0.0; 4];
    let mut cf = ClosedForm::new(&alpha, &w);
    for t in 0..60 {
        let mut g = vec![0.0; 4];
        problem.loss_grad(&cf.w, &mut g);
        cf.step(&g);
        stack.step(&mut w, |w, g| problem.loss_grad(w, g)).unwrap();
        for i in 0..4 {
            assert_close(&format!("t{t} w{i}"), w[i], cf.w[i], 1e-12, 1e-12);
        }
        for k in 0..50 {
            assert_close(
                &format!("t{t} α{k}"),
                stack.level(k).raw()[0],
                cf.alpha[k],
                1e-12,
                0.0,
            );
            // Beyond the first few levels the hypergradients (degree 2^(k+1) in g) underflow: compare
            // absolutely below 1e-300.
            let h = stack.level(k).hypergradient()[0];
            assert_close(&format!("t{t} H{k}"), h, cf.hyper[k], 1e-12, 1e-300);
        }
    }
    assert!(
        stack.level(0).raw()[0] > 0.01 * 1.01,
        "level 0 learned nothing"
    );
}

#[test]
fn level_k_first_moves_at_step_k_and_hypergradients_start_at_zero() {
    let problem = LeastSquares::generate(30, 3, 5);
    let alpha = [0.05, 0.1, 0.1, 0.1];
    let mut stack = sgd_stack(&alpha);
    let mut w = vec![0.0; 3];
    for t in 0..5u64 {
        stack.step(&mut w, |w, g| problem.loss_grad(w, g)).unwrap();
        if t == 0 {
            for k in 0..4 {
                assert_eq!(stack.level(k).hypergradient(), [0.0, 0.0], "H_{k}(0)");
            }
        }
        // After step t, level k ≥ 1 has moved θ_{k−1} iff t ≥ k.
        for k in 1..4u64 {
            let below = (k - 1) as usize;
            let moved = stack.level(below).raw()[0] != alpha[below];
            assert_eq!(
                moved,
                t >= k,
                "step {t}: level {k} moved θ_{below}: {moved}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The specification's hand-checkable trace
// ---------------------------------------------------------------------------------------------------------

/// The trace's numbers for SGD(0.01)/SGD(0.01) on the model `a·x`, `L = mean (a x_i − y_i)²`, `a_0 = 0`.
const G0: f64 = -2.095392163516614;
const G1: f64 = -2.08083744171818;

#[test]
fn trace_recurrences_hold_on_our_own_run() {
    // Our own 64 points; the g's are taken from the run itself.
    let mut r = Lcg(3);
    let xs: Vec<f64> = (0..64).map(|_| r.next() + 1.0).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 1.7 * x + 0.2 * r.next()).collect();
    let mut gs = Vec::new();
    let mut stack = Sgd::new(0.01) / Sgd::new(0.01);
    let mut a = [0.0];
    let mut h0 = Vec::new();
    let mut h1 = Vec::new();
    let mut alpha = Vec::new();
    for _ in 0..3 {
        stack
            .step(&mut a, |a, g| {
                let n = xs.len() as f64;
                let (mut loss, mut grad) = (0.0, 0.0);
                for (x, y) in xs.iter().zip(&ys) {
                    loss += (a[0] * x - y).powi(2) / n;
                    grad += 2.0 * (a[0] * x - y) * x / n;
                }
                g[0] = grad;
                gs.push(grad);
                loss
            })
            .unwrap();
        h0.push(stack.level(0).hypergradient()[0]);
        h1.push(stack.level(1).hypergradient()[0]);
        alpha.push(stack.level(0).raw()[0]);
    }
    // Step 0: H_0(0) = 0, α stays 0.01, a_1 = −0.01·g_0.
    assert_eq!(h0[0], 0.0);
    assert_eq!(alpha[0], 0.01);
    // Step 1: H_0(1) = −g_1·g_0 and α = 0.01 − 0.01·H_0(1); a_2 = a_1 − α·g_1. Rounding only: 1e-15.
    assert_close("H_0(1)", h0[1], -gs[1] * gs[0], 1e-15, 0.0);
    assert_close("α(2)", alpha[1], 0.01 - 0.01 * h0[1], 1e-15, 0.0);
    // Step 2: the level-1 hypergradient is −H_0(2)·H_0(1), with H_0(2) = −g_2·g_1.
    assert_close("H_0(2)", h0[2], -gs[2] * gs[1], 1e-15, 0.0);
    assert_close("H_1(2)", h1[2], -h0[2] * h0[1], 1e-15, 0.0);
}

#[test]
fn trace_numbers_of_the_specification_are_reproduced() {
    // For the model a·x the gradient is 2(a·S − R) with S = mean x², R = mean x·y: the trace's g_0 and g_1
    // fix R and S, and 64 points with those moments reproduce the rest of the published trace.
    let a1 = 0.02095392163516614; // published a_1 = −0.01·g_0
    let big_r = -G0 / 2.0;
    let big_s = (G1 / 2.0 + big_r) / a1;
    let mut r = Lcg(17);
    let raw: Vec<f64> = (0..64).map(|_| r.next() + 0.5).collect();
    let scale = (big_s / (raw.iter().map(|x| x * x).sum::<f64>() / 64.0)).sqrt();
    let xs: Vec<f64> = raw.iter().map(|x| x * scale).collect();
    let ys: Vec<f64> = xs.iter().map(|x| big_r / big_s * x).collect();
    let loss_grad = |a: &[f64], g: &mut [f64]| {
        let n = xs.len() as f64;
        let mut loss = 0.0;
        for (x, y) in xs.iter().zip(&ys) {
            loss += (a[0] * x - y).powi(2) / n;
            g[0] += 2.0 * (a[0] * x - y) * x / n;
        }
        loss
    };
    let mut stack = Sgd::new(0.01) / Sgd::new(0.01);
    let mut a = [0.0];
    stack.step(&mut a, loss_grad).unwrap();
    assert_eq!(stack.level(0).hypergradient()[0], 0.0);
    assert_eq!(stack.level(0).raw()[0], 0.01);
    // The published values carry 16 digits; S is recovered through a cancellation that loses about two:
    // 1e-12 relative.
    assert_close("a_1", a[0], a1, 1e-12, 0.0);
    stack.step(&mut a, loss_grad).unwrap();
    assert_close(
        "H_0(1)",
        stack.level(0).hypergradient()[0],
        -4.360170468928233,
        1e-12,
        0.0,
    );
    assert_close(
        "α",
        stack.level(0).raw()[0],
        0.05360170468928233,
        1e-12,
        0.0,
    );
    stack.step(&mut a, loss_grad).unwrap();
    assert_close(
        "H_1(2)",
        stack.level(1).hypergradient()[0],
        -18.17612880253004,
        1e-12,
        0.0,
    );
}

// ---------------------------------------------------------------------------------------------------------
// Hypergradients against central differences of the loss through one replayed step
// ---------------------------------------------------------------------------------------------------------

/// Runs `stack` to step `t` and checks every reported `H_k(t)` (every level, every raw hyperparameter)
/// against central differences of `L_t`: `L_t(θ ± δ)` replays step `t − 1` from a copy of the stack taken
/// before it, with that raw hyperparameter shifted. Richardson extrapolation of the quotients at `δ` and
/// `δ/2`, `δ = 1e-3·max(|θ|, 0.1)`, leaves a truncation error of order δ⁴ and a rounding error of about
/// 1e-16/δ. Tolerance: `1e-6·|H| + floor`.
fn check_by_central_differences(
    stack: Stack,
    w0: &[f64],
    t: usize,
    loss_grad: &dyn Fn(&[f64], &mut [f64]) -> f64,
    floor: f64,
) {
    let label = stack.to_string();
    let mut stack = stack;
    let mut w = w0.to_vec();
    for _ in 0..t - 1 {
        stack.step(&mut w, loss_grad).unwrap();
    }
    let before = stack.clone();
    let w_before = w.clone();
    stack.step(&mut w, loss_grad).unwrap();
    stack.step(&mut w, loss_grad).unwrap();
    let loss = |w: &[f64]| loss_grad(w, &mut vec![0.0; w.len()]);
    for k in 0..stack.height() {
        for j in 0..stack.level(k).raw().len() {
            let theta = before.level(k).raw()[j];
            let delta = 1e-3 * theta.abs().max(0.1);
            let replay = |shift: f64| {
                let mut s = before.clone();
                s.set_raw(k, j, theta + shift);
                let mut w = w_before.clone();
                s.step(&mut w, loss_grad).unwrap();
                loss(&w)
            };
            let quotient = |d: f64| (replay(d) - replay(-d)) / (2.0 * d);
            let fd = (4.0 * quotient(delta / 2.0) - quotient(delta)) / 3.0;
            let h = stack.level(k).hypergradient()[j];
            let name = &stack.level(k).names()[j];
            assert!(
                (h - fd).abs() <= 1e-6 * h.abs() + floor,
                "{label}: level {k} `{name}` at step {t}: H = {h:e}, central difference {fd:e}"
            );
        }
    }
}

#[test]
fn hypergradients_of_every_builtin_optimizer_match_central_differences() {
    let problem = Logistic::generate(30, 4, 23);
    let f = |w: &[f64], g: &mut [f64]| problem.loss_grad(w, g);
    let w0 = [0.3, -0.2, 0.1, 0.05];
    let stacks: Vec<Stack> = vec![
        Stack::new(Sgd::new(0.5)),
        Stack::new(Sgd::with_momentum(0.5, 0.7)),
        Stack::new(AdaGrad::new(0.3)),
        Stack::new(RMSProp::new(0.01, 0.9)),
        Stack::new(RMSPropAlpha::new(0.01, 0.9)),
        Stack::new(Adam::new(0.05, 0.8, 0.95)),
        Stack::new(AdamBaydin::new(0.05, 0.8, 0.95)),
        Stack::new(SgdPerParam::new([("a", 0.3), ("b", 0.6)]))
            .with_weight_entries([("a", 0..2), ("b", 2..4)]),
        Sgd::new(0.5) / Sgd::new(0.01),
        Sgd::with_momentum(0.5, 0.7) / Adam::new(1e-3, 0.9, 0.99),
        Adam::new(0.05, 0.8, 0.95) / Sgd::new(1e-3) / Sgd::new(1e-3),
        RMSProp::new(0.01, 0.9) / Adam::new(1e-3, 0.9, 0.99) / Sgd::new(1e-4),
        AdaGrad::new(0.3) / RMSProp::new(1e-3, 0.9),
        Sgd::with_momentum(0.5, 0.7) / SgdPerParam::new([("mu", 0.01)]) / Sgd::new(1e-3),
    ];
    for stack in stacks {
        for t in [1, 4] {
            check_by_central_differences(stack.clone(), &w0, t, &f, 1e-11);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Adam's β1 hypergradient at its second step
// ---------------------------------------------------------------------------------------------------------

#[test]
fn adams_beta1_hypergradient_is_zero_at_its_second_step() {
    // w_1 comes from Adam's first update (t = 1) with m_prev = 0: m = (1 − β1)·g_0 and
    // m̂ = m/(1 − β1) = g_0, independent of β1. So H_u1(1) = Σ g_1 ∂w_1/∂u1 = 0 exactly (up to rounding of
    // the two cancelling terms of the quotient rule). v starts at ε, not 0: v̂ = β2·ε/(1 − β2) + g_0²
    // depends on β2, so H_u2(1) ≠ 0. From the third step on, m̂ = (β1 g_0 + g_1)/(1 + β1) depends on β1.
    let problem = Logistic::generate(25, 3, 31);
    let mut stack = Adam::new(0.05, 0.9, 0.999) / Sgd::new(1e-3);
    let mut w = vec![0.2, -0.1, 0.4];
    let mut grads: Vec<Vec<f64>> = Vec::new();
    let mut hs = Vec::new();
    for _ in 0..3 {
        stack
            .step(&mut w, |w, g| {
                let l = problem.loss_grad(w, g);
                grads.push(g.to_vec());
                l
            })
            .unwrap();
        hs.push(stack.level(0).hypergradient().to_vec());
    }
    assert_eq!(hs[0], [0.0, 0.0, 0.0], "t = 0: every hypergradient is 0");
    // Each of the two cancelling terms is about α·|g_1|·|g_0|/((1 − β1)·sqrt v̂)·sq'(u1) ≤ α·Σ|g_1|·10·0.18;
    // rounding leaves at most a few ulps of that: 1e-14 of the scale.
    let scale = 0.05 * grads[1].iter().map(|g| g.abs()).sum::<f64>() * 10.0;
    assert!(
        hs[1][1].abs() <= 1e-14 * scale,
        "H_beta1(1) = {:e}, scale {scale:e}",
        hs[1][1]
    );
    assert!(hs[1][0].abs() > 1e-6, "H_alpha(1) = {:e}", hs[1][0]);
    assert!(hs[1][2].abs() > 1e-12, "H_beta2(1) = {:e}", hs[1][2]);
    assert!(hs[2][1].abs() > 1e-6 * scale, "H_beta1(2) = {:e}", hs[2][1]);
}

// ---------------------------------------------------------------------------------------------------------
// Momentum is switched on or off once, at construction
// ---------------------------------------------------------------------------------------------------------

#[test]
fn momentum_with_zero_mu_is_plain_sgd() {
    let problem = LeastSquares::generate(30, 4, 41);
    let f = |w: &[f64], g: &mut [f64]| problem.loss_grad(w, g);
    assert!(!Sgd::with_momentum(0.1, 0.0).has_momentum());
    let mut a = Sgd::with_momentum(0.1, 0.0) / Sgd::new(0.01);
    let mut b = Sgd::new(0.1) / Sgd::new(0.01);
    let (mut wa, mut wb) = (vec![0.0; 4], vec![0.0; 4]);
    for _ in 0..10 {
        a.step(&mut wa, f).unwrap();
        b.step(&mut wb, f).unwrap();
        assert_eq!(wa, wb, "bit-identical trajectories");
        assert_eq!(
            a.level(0).hypergradient()[1],
            0.0,
            "μ unused: zero hypergradient"
        );
        assert_eq!(a.level(0).raw()[1], 0.0);
    }
}

#[test]
fn momentum_follows_its_recurrence_and_stays_on_when_mu_reaches_zero() {
    let problem = LeastSquares::generate(30, 4, 43);
    let (alpha, mu) = (0.1, 0.6);
    let stack = Stack::new(Sgd::with_momentum(alpha, mu));
    assert!(Sgd::with_momentum(alpha, mu).has_momentum());
    let mut stack = stack;
    let mut w = vec![0.0; 4];
    // Recurrence: b_0 = g_0, b_t = μ b_{t−1} + g_t, w_{t+1} = w_t − α b_t;
    // H_α(t) = −⟨g_t, b_{t−1}⟩, H_μ(t) = −α⟨g_t, b_{t−2}⟩ (0 at t ≤ 1: b_0 does not involve μ).
    let mut w_ref = vec![0.0; 4];
    let mut bs: Vec<Vec<f64>> = Vec::new();
    for t in 0..12 {
        if t == 6 {
            // Drive μ to 0 from outside: momentum stays on, so b = 0·b_prev + g and μ keeps a nonzero
            // hypergradient, unlike an SGD constructed with μ = 0.
            stack.set_raw(0, 1, 0.0);
        }
        let mu_t = if t >= 6 { 0.0 } else { mu };
        let mut g = vec![0.0; 4];
        problem.loss_grad(&w_ref, &mut g);
        let h_alpha = if t == 0 { 0.0 } else { -dot(&g, &bs[t - 1]) };
        let h_mu = if t <= 1 {
            0.0
        } else {
            -alpha * dot(&g, &bs[t - 2])
        };
        let b: Vec<f64> = if t == 0 {
            g.clone()
        } else {
            bs[t - 1]
                .iter()
                .zip(&g)
                .map(|(b, g)| b * mu_t + g)
                .collect()
        };
        for (w, b) in w_ref.iter_mut().zip(&b) {
            *w -= alpha * b;
        }
        bs.push(b);
        stack.step(&mut w, |w, g| problem.loss_grad(w, g)).unwrap();
        for i in 0..4 {
            assert_close(&format!("t{t} w{i}"), w[i], w_ref[i], 1e-13, 1e-12);
        }
        let h = stack.level(0).hypergradient();
        assert_close(&format!("t{t} H_alpha"), h[0], h_alpha, 1e-13, 1e-15);
        assert_close(&format!("t{t} H_mu"), h[1], h_mu, 1e-13, 1e-15);
        if t >= 7 {
            assert!(
                h[1].abs() > 1e-8,
                "momentum stays on: H_mu({t}) = {:e}",
                h[1]
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Parameterizations: effective values reported, raw values updated
// ---------------------------------------------------------------------------------------------------------

#[test]
fn squashed_and_squared_parameterizations_report_effective_values_and_update_raw_ones() {
    let sq_inv = |b: f64| (2.0 * b - 1.0).atanh();
    let cases: Vec<(Stack, Vec<f64>, Vec<f64>)> = vec![
        (
            Adam::new(0.02, 0.85, 0.99) / Sgd::new(1e-2),
            vec![0.02, sq_inv(0.85), sq_inv(0.99)],
            vec![0.02, 0.85, 0.99],
        ),
        (
            Stack::new(Adam::default()) / Sgd::new(1e-2),
            vec![1e-3, sq_inv(0.9), sq_inv(0.999)],
            vec![1e-3, 0.9, 0.999],
        ),
        (
            RMSProp::new(0.01, 0.9) / Sgd::new(1e-2),
            vec![0.1, sq_inv(0.9)],
            vec![0.01, 0.9],
        ),
        (
            Stack::new(RMSProp::default()) / Sgd::new(1e-2),
            vec![0.1, sq_inv(0.99)],
            vec![0.01, 0.99],
        ),
        (
            RMSPropAlpha::new(0.04, 0.9) / Sgd::new(1e-2),
            vec![0.2],
            vec![0.04],
        ),
        (
            AdamBaydin::new(0.03, 0.9, 0.99) / Sgd::new(1e-2),
            vec![0.03],
            vec![0.03],
        ),
        (AdaGrad::default() / Sgd::new(1e-2), vec![0.01], vec![0.01]),
        (
            Sgd::default() / Sgd::new(1e-2),
            vec![0.01, 0.0],
            vec![0.01, 0.0],
        ),
    ];
    let problem = Logistic::generate(20, 3, 47);
    for (mut stack, raw, eff) in cases {
        let label = stack.to_string();
        for (j, (&r, &e)) in raw.iter().zip(&eff).enumerate() {
            assert_close(
                &format!("{label} raw {j}"),
                stack.level(0).raw()[j],
                r,
                1e-15,
                0.0,
            );
            assert_close(
                &format!("{label} eff {j}"),
                stack.level(0).effective()[j],
                e,
                1e-15,
                0.0,
            );
        }
        let mut w = vec![0.3, -0.1, 0.2];
        for t in 0..5 {
            let before = stack.level(0).raw().to_vec();
            stack.step(&mut w, |w, g| problem.loss_grad(w, g)).unwrap();
            let level = stack.level(0);
            // The SGD on top moves the raw values by −κ·H, H taken with respect to the raw values.
            for (j, &b) in before.iter().enumerate() {
                let expected = b - 1e-2 * level.hypergradient()[j];
                assert_eq!(level.raw()[j], expected, "{label} t{t} raw {j}");
            }
            // And the effective values are the image of the new raw ones.
            let r = level.raw();
            let eff_now = level.effective();
            let expected: Vec<f64> = match level.name() {
                "Adam" => vec![r[0], squash(r[1]), squash(r[2])],
                "RMSProp" => vec![r[0] * r[0], squash(r[1])],
                "RMSPropAlpha" => vec![r[0] * r[0]],
                _ => r.to_vec(),
            };
            assert_eq!(eff_now, expected, "{label} t{t} effective");
        }
        if label.starts_with("Adam /") || label.starts_with("RMSProp /") {
            assert!(
                stack.level(0).raw()[1] != raw[1],
                "{label}: the squashed decay received a hypergradient and moved"
            );
        }
    }
    assert_close("unsquash", unsquash(0.9), sq_inv(0.9), 1e-15, 0.0);
}

// ---------------------------------------------------------------------------------------------------------
// Update order
// ---------------------------------------------------------------------------------------------------------

#[test]
fn levels_update_top_down_each_with_its_fresh_hyperparameters() {
    let problem = LeastSquares::generate(30, 3, 53);
    let mut stack = Sgd::new(0.05) / Sgd::new(0.2) / Sgd::new(0.5);
    let mut w = vec![0.0; 3];
    let mut distinguishing = 0;
    for t in 0..8 {
        let a_before: Vec<f64> = stack.levels().map(|l| l.raw()[0]).collect();
        let w_before = w.clone();
        let mut g_seen = [0.0; 3];
        stack
            .step(&mut w, |w, g| {
                let l = problem.loss_grad(w, g);
                g_seen.copy_from_slice(g);
                l
            })
            .unwrap();
        let h: Vec<f64> = stack.levels().map(|l| l.hypergradient()[0]).collect();
        let a: Vec<f64> = stack.levels().map(|l| l.raw()[0]).collect();
        // Top-down: α_1 first with the constant α_2, then α_0 with the *fresh* α_1, then w with fresh α_0.
        assert_eq!(a[2], a_before[2]);
        assert_close("α1", a[1], a_before[1] - a_before[2] * h[1], 1e-15, 0.0);
        assert_close("α0 (fresh α1)", a[0], a_before[0] - a[1] * h[0], 1e-15, 0.0);
        for i in 0..3 {
            assert_close(
                "w (fresh α0)",
                w[i],
                w_before[i] - a[0] * g_seen[i],
                1e-15,
                1e-15,
            );
        }
        // Where the stale order would give another result, it must be rejected.
        let stale_a0 = a_before[0] - a_before[1] * h[0];
        if (stale_a0 - a[0]).abs() > 1e-9 * a[0].abs() {
            distinguishing += 1;
        }
        let _ = t;
    }
    assert!(
        distinguishing >= 3,
        "the run never distinguished fresh from stale"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Divergence and configuration errors
// ---------------------------------------------------------------------------------------------------------

#[test]
fn divergence_of_a_tall_stack_names_the_level_and_step() {
    // Equal large step sizes make a tall stack blow up (H_k has degree 2^(k+1) in the gradients). The closed
    // form tells where the first non-finite hyperparameter appears.
    let mut problem = LeastSquares::generate(30, 4, 59);
    problem.y.iter_mut().for_each(|y| *y *= 3.0);
    let alpha = vec![0.1; 6];
    let mut stack = sgd_stack(&alpha);
    let mut w = vec![0.0; 4];
    let mut cf = ClosedForm::new(&alpha, &w);
    let mut expected = None;
    for t in 0..200u64 {
        let mut g = vec![0.0; 4];
        let loss = problem.loss_grad(&cf.w, &mut g);
        if !loss.is_finite() || g.iter().any(|v| !v.is_finite()) {
            expected = Some((t, None));
            break;
        }
        cf.step(&g);
        // Top-down: the highest non-finite α is the first one produced.
        if let Some(k) = (0..5).rev().find(|&k| !cf.alpha[k].is_finite()) {
            expected = Some((t, Some(k)));
            break;
        }
    }
    let (step, level) = expected.expect("the closed form diverges within 200 steps");
    let level = level.expect("a hyperparameter diverges before the loss");
    let err = loop {
        match stack.step(&mut w, |w, g| problem.loss_grad(w, g)) {
            Ok(_) => assert!(stack.steps() <= step, "ran past the expected divergence"),
            Err(e) => break e,
        }
    };
    match &err {
        Error::NonFiniteHyperparameter {
            step: s,
            level: l,
            optimizer,
            name,
            ..
        } => {
            assert_eq!((*s, *l), (step, level), "{err}");
            assert_eq!((*optimizer, name.as_str()), ("SGD", "alpha"));
        }
        other => panic!("expected a hyperparameter error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("step {step}")) && message.contains(&format!("level {level}"))
    );
    // The failed stack keeps reporting the same error.
    assert_eq!(stack.step(&mut w, |w, g| problem.loss_grad(w, g)), Err(err));
}

#[test]
fn non_finite_loss_gradient_and_weights_are_errors() {
    let mut stack = Sgd::new(0.1) / Sgd::new(0.1);
    let mut w = [1.0];
    let mut calls = 0;
    let mut f = |w: &[f64], g: &mut [f64]| {
        calls += 1;
        g[0] = 2.0 * w[0];
        if calls == 4 {
            f64::NAN
        } else {
            w[0] * w[0]
        }
    };
    for _ in 0..3 {
        stack.step(&mut w, &mut f).unwrap();
    }
    let w_before = w;
    let err = stack.step(&mut w, &mut f).unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteLoss { step: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.step(), Some(3));
    assert_eq!(w, w_before, "nothing is updated on a non-finite loss");

    let mut stack = Stack::new(Sgd::new(0.1));
    let err = stack
        .step(&mut [1.0, 2.0], |_, g| {
            g[1] = f64::INFINITY;
            0.0
        })
        .unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteGradient {
            step: 0,
            index: 1,
            value: f64::INFINITY
        }
    );

    let mut stack = Stack::new(Sgd::new(1e308));
    let err = stack
        .step(&mut [1.0], |_, g| {
            g[0] = -1e308;
            0.0
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteWeight {
                step: 0,
                index: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.level(), Some(0));
}

#[test]
fn configurations_that_do_not_fit_are_errors_naming_the_level() {
    let f = |w: &[f64], g: &mut [f64]| {
        g.copy_from_slice(w);
        0.5 * dot(w, w)
    };
    let mut s = Sgd::new(0.1) / SgdPerParam::new([("alpha", 0.1), ("nu", 0.1)]);
    let err = s.step(&mut [1.0], f).unwrap_err();
    assert!(matches!(err, Error::Config { level: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("`nu`"), "{err}");

    let mut s = Stack::new(SgdPerParam::new([("w", 0.1)])).with_weight_entries([("a", 0..1)]);
    assert!(matches!(
        s.step(&mut [1.0], f),
        Err(Error::Config { level: 0, .. })
    ));

    let mut s = Stack::new(Sgd::new(0.1)).with_weight_entries([("a", 0..2), ("b", 1..3)]);
    assert!(matches!(
        s.step(&mut [1.0; 3], f),
        Err(Error::Config { level: 0, .. })
    ));

    let mut s = Sgd::new(0.1) / Adam::new(1e-3, 1.0, 0.999);
    let err = s.step(&mut [1.0], f).unwrap_err();
    assert!(matches!(err, Error::Config { level: 1, .. }), "{err:?}");

    let mut s = Stack::new(Sgd::new(0.1));
    s.step(&mut [1.0, 2.0], f).unwrap();
    assert!(matches!(
        s.step(&mut [1.0], f),
        Err(Error::Config { level: 0, .. })
    ));
}

// ---------------------------------------------------------------------------------------------------------
// SgdPerParam
// ---------------------------------------------------------------------------------------------------------

#[test]
fn sgd_per_param_tunes_each_entry_and_passes_the_others_through() {
    let problem = LeastSquares::generate(30, 5, 61);
    let mut stack = SgdPerParam::new([("head", 0.05), ("tail", 0.1)]) / Sgd::new(0.01);
    stack = stack.with_weight_entries([("head", 0..2), ("middle", 2..3), ("tail", 3..5)]);
    assert_eq!(stack.level(0).names(), ["head_alpha", "tail_alpha"]);
    let mut w = vec![0.0, 0.0, 0.7, 0.0, 0.0];
    let mut g_prev = vec![0.0; 5];
    let mut alpha = [0.05, 0.1];
    for t in 0..10 {
        let mut g = vec![0.0; 5];
        problem.loss_grad(&w, &mut g);
        let w_before = w.clone();
        stack.step(&mut w, |w, g| problem.loss_grad(w, g)).unwrap();
        // H_e(t) = −⟨g_t, g_{t−1}⟩ restricted to entry e; α_e ← α_e − 0.01·H_e; w_e ← w_e − α_e g_e.
        let h_head = -dot(&g[0..2], &g_prev[0..2]);
        let h_tail = -dot(&g[3..5], &g_prev[3..5]);
        let h = stack.level(0).hypergradient();
        assert_close(&format!("t{t} H_head"), h[0], h_head, 1e-13, 1e-15);
        assert_close(&format!("t{t} H_tail"), h[1], h_tail, 1e-13, 1e-15);
        alpha[0] -= 0.01 * h_head;
        alpha[1] -= 0.01 * h_tail;
        assert_close("α_head", stack.level(0).raw()[0], alpha[0], 1e-14, 0.0);
        assert_close("α_tail", stack.level(0).raw()[1], alpha[1], 1e-14, 0.0);
        for i in 0..5 {
            let a = match i {
                0 | 1 => alpha[0],
                2 => 0.0,
                _ => alpha[1],
            };
            assert_close(
                &format!("t{t} w{i}"),
                w[i],
                w_before[i] - a * g[i],
                1e-14,
                1e-15,
            );
        }
        assert_eq!(w[2], 0.7, "the entry without a step size passes through");
        g_prev = g;
    }
}

// ---------------------------------------------------------------------------------------------------------
// A user-defined optimizer
// ---------------------------------------------------------------------------------------------------------

/// Written as a user would: SGD whose step size is `exp(λ)`, with Nesterov-free heavy-ball momentum `μ`
/// squashed into (0, 1). Nothing about hypergradients is written here.
#[derive(Clone, Debug)]
struct LogSgd {
    alpha: f64,
    mu: f64,
}

impl Optimizer for LogSgd {
    type Raw = [f64; 2];

    fn name(&self) -> &'static str {
        "LogSGD"
    }

    fn names(&self) -> &'static [&'static str] {
        &["alpha", "mu"]
    }

    fn raw(&self) -> [f64; 2] {
        [self.alpha.ln(), unsquash(self.mu)]
    }

    fn effective<T: Real>(&self, raw: &[T], eff: &mut [T]) {
        eff[0] = raw[0].exp();
        eff[1] = squash(raw[1]);
    }

    fn state_len(&self) -> usize {
        1
    }

    fn update<T: Real>(&self, h: &[T], _t: u64) -> impl Fn(T, T, &mut [T]) -> T {
        let (alpha, mu) = (h[0], h[1]);
        move |x, g, state| {
            let v = mu * state[0] + g;
            state[0] = v;
            x - alpha * v
        }
    }
}

#[test]
fn a_user_defined_optimizer_stacks_at_any_level() {
    let problem = Logistic::generate(30, 4, 67);
    let f = |w: &[f64], g: &mut [f64]| problem.loss_grad(w, g);
    let w0 = [0.3, -0.2, 0.1, 0.05];
    let user = LogSgd {
        alpha: 0.3,
        mu: 0.5,
    };
    let stacks = vec![
        Stack::new(user.clone()) / Sgd::new(0.01),
        Adam::new(0.05, 0.9, 0.99) / user.clone(),
        Sgd::new(0.3) / user.clone() / Sgd::new(1e-3),
        Stack::new(user.clone()) / user.clone() / AdaGrad::new(1e-3),
    ];
    assert_eq!(stacks[2].to_string(), "SGD / LogSGD / SGD");
    for stack in stacks {
        for t in [1, 3] {
            check_by_central_differences(stack.clone(), &w0, t, &f, 1e-11);
        }
    }
    // Closed form for LogSGD/SGD without state effects at the first hypergradient: w_1 = w_0 − e^λ g_0, so
    // H_λ(1) = −e^λ ⟨g_1, g_0⟩ (the chain through exp comes from the dual numbers).
    let mut stack = Stack::new(LogSgd {
        alpha: 0.3,
        mu: 0.5,
    }) / Sgd::new(0.0);
    let mut w = w0.to_vec();
    let mut gs = Vec::new();
    for _ in 0..2 {
        stack
            .step(&mut w, |w, g| {
                let l = f(w, g);
                gs.push(g.to_vec());
                l
            })
            .unwrap();
    }
    let h = stack.level(0).hypergradient()[0];
    assert_close("H_λ(1)", h, -0.3 * dot(&gs[1], &gs[0]), 1e-14, 0.0);
    // And it trains: the loss decreases.
    let l0 = problem.loss(&w0);
    assert!(problem.loss(&w) < l0);
}

// ---------------------------------------------------------------------------------------------------------
// The talk's dual-number formulation
// ---------------------------------------------------------------------------------------------------------

#[test]
fn the_talks_dual_number_program_equals_sgd_sgd_sgd() {
    // One dual per value with tangent slots (κ, η, a), re-seeded every step; the loss evaluated on the dual
    // weight carries ∂L/∂κ, ∂L/∂η, ∂L/∂a into the next step's updates.
    let mut r = Lcg(71);
    let xs: Vec<f64> = (0..32).map(|_| 0.5 * (r.next() + 1.0)).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 2.5 * x + 0.1 * r.next()).collect();
    fn loss<T: Real>(a: T, xs: &[f64], ys: &[f64]) -> T {
        let n = T::from_f64(xs.len() as f64);
        xs.iter()
            .zip(ys)
            .map(|(&x, &y)| {
                let e = a * T::from_f64(x) - T::from_f64(y);
                e * e
            })
            .sum::<T>()
            / n
    }
    let (top, kappa0, eta0, a0) = (1e-3, 1e-3, 0.01, 0.0);
    let (mut kappa, mut eta, mut a) = (kappa0, eta0, a0);
    let mut l = loss(Dual::<f64, 3>::variable(a, 2), &xs, &ys);
    let mut stack = Sgd::new(eta0) / Sgd::new(kappa0) / Sgd::new(top);
    let mut w = [a0];
    for t in 0..30 {
        let (dk, de, da) = (l.eps[0], l.eps[1], l.eps[2]);
        let k = Dual::<f64, 3>::variable(kappa, 0) - top * dk;
        let e = Dual::variable(eta, 1) - k * de;
        let a_new = Dual::variable(a, 2) - e * da;
        (kappa, eta, a) = (k.re, e.re, a_new.re);
        let l_t = l.re;
        l = loss(a_new, &xs, &ys);

        let driver_loss = stack
            .step(&mut w, |w, g| {
                let d = loss(Dual::<f64, 1>::variable(w[0], 0), &xs, &ys);
                g[0] = d.eps[0];
                d.re
            })
            .unwrap();
        assert_close(&format!("t{t} loss"), driver_loss, l_t, 1e-13, 0.0);
        assert_close(&format!("t{t} a"), w[0], a, 1e-13, 1e-15);
        assert_close(&format!("t{t} η"), stack.level(0).raw()[0], eta, 1e-13, 0.0);
        assert_close(
            &format!("t{t} κ"),
            stack.level(1).raw()[0],
            kappa,
            1e-13,
            0.0,
        );
        assert_close(
            &format!("t{t} ∂L/∂η"),
            stack.level(0).hypergradient()[0],
            de,
            1e-12,
            1e-15,
        );
        assert_close(
            &format!("t{t} ∂L/∂κ"),
            stack.level(1).hypergradient()[0],
            dk,
            1e-12,
            1e-15,
        );
    }
    assert!(kappa != kappa0, "κ moved");
}

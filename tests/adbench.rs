//! ADBench objectives against ADBench's oracle values, the hand-written derivatives against the oracle and
//! central differences, and the num-dual peer against the hand-written derivatives (so that the benchmark
//! times correct code). Every check states its tolerance.

#[path = "../adbench/mod.rs"]
mod adbench;

use adbench::data::{load, parse_ba, parse_gmm, BaInput, GmmInput};
use adbench::{ba, gmm, peer, rosenbrock};

/// `|actual − expected| ≤ rel · |expected|`, with a message naming the quantity.
fn assert_rel(actual: f64, expected: f64, rel: f64, what: &str) {
    let err = (actual - expected).abs();
    assert!(
        err <= rel * expected.abs(),
        "{what}: got {actual:.12e}, expected {expected:.12e}, relative error {:.3e} > {rel:.0e}",
        err / expected.abs()
    );
}

/// `|actual − expected| ≤ tol · max(1, |expected|)`: relative for large values, absolute near zero.
fn assert_close(actual: f64, expected: f64, tol: f64, what: &str) {
    let err = (actual - expected).abs();
    assert!(
        err <= tol * expected.abs().max(1.0),
        "{what}: got {actual:.12e}, expected {expected:.12e}, error {err:.3e} > {tol:.0e}·max(1, |expected|)"
    );
}

// ---- data -------------------------------------------------------------------------------------------

fn ba1() -> BaInput {
    load("ba1_n49_m7776_p31843.txt", parse_ba).unwrap()
}

fn gmm_input(file: &str) -> GmmInput {
    load(file, parse_gmm).unwrap()
}

#[test]
fn ba_parser_replicates_as_adbench_does() {
    let inp = ba1();
    assert_eq!((inp.cams.len(), inp.points.len()), (49, 7776));
    assert_eq!(
        (inp.weights.len(), inp.feats.len(), inp.obs.len()),
        (31843, 31843, 31843)
    );
    assert_eq!(inp.obs[0], (0, 0));
    assert_eq!(inp.obs[31842], (31842 % 49, 31842 % 7776));
    assert_eq!(inp.cams[48][6], 419.194514); // f as written in the file
    assert_eq!(inp.points[7775], [7.203245, 0.001144, 3.023326]);
    assert_eq!(
        (inp.weights[100], inp.feats[100]),
        (0.417022, [271.760969, 834.209256])
    );
}

#[test]
fn gmm_parser_reads_every_block() {
    let inp = gmm_input("gmm_1k_d2_K5.txt");
    assert_eq!((inp.d, inp.k, inp.n), (2, 5, 1000));
    assert_eq!(
        (
            inp.alphas.len(),
            inp.means.len(),
            inp.icf.len(),
            inp.x.len()
        ),
        (5, 10, 15, 2000)
    );
    assert_eq!(inp.alphas[0], -0.649014);
    assert_eq!(&inp.means[0..2], &[0.345561, 0.396767]);
    assert_eq!(&inp.icf[0..3], &[0.166813, -1.965419, -1.270071]);
    assert_eq!(&inp.x[0..2], &[1.270848, 0.066009]);
    assert_eq!((inp.gamma, inp.m), (1.0, 0));
    let big = gmm_input("gmm_1k_d10_K25.txt");
    assert_eq!((big.d, big.k, big.n), (10, 25, 1000));
    assert_eq!(
        (big.means.len(), big.icf.len(), big.x.len()),
        (250, 25 * 55, 10_000)
    );
}

#[test]
fn parsers_reject_short_long_and_malformed_files() {
    let short = parse_ba("2 3 4\n1 2 3").unwrap_err();
    assert!(short.contains("missing"), "{short}");
    let long = parse_gmm("1 1 1\n0\n0\n0\n0\n1 0\n7").unwrap_err();
    assert!(long.contains("unexpected `7`"), "{long}");
    let bad = parse_gmm("1 1 1\n0\n0\nzero\n0\n1 0").unwrap_err();
    assert!(bad.contains("`zero`"), "{bad}");
    let ok = parse_gmm("1 1 1\n0.5\n0\n0\n2\n1 0").unwrap();
    assert_eq!((ok.alphas[0], ok.x[0], ok.m), (0.5, 2.0, 0));
}

// ---- bundle adjustment ------------------------------------------------------------------------------

/// The 17 arguments of `ba_residual` for observation `i`.
fn ba_args(inp: &BaInput, i: usize) -> [f64; 17] {
    let (ci, pi) = inp.obs[i];
    let mut a = [0.0; 17];
    a[..11].copy_from_slice(&inp.cams[ci]);
    a[11..14].copy_from_slice(&inp.points[pi]);
    a[14] = inp.weights[i];
    a[15..].copy_from_slice(&inp.feats[i]);
    a
}

fn residual(a: &[f64; 17]) -> (f64, f64) {
    ba::ba_residual(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
        a[14], a[15], a[16],
    )
}

type BaJacobianFn = fn(
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
) -> ((f64, f64), [[f64; 15]; 2]);

fn jacobian_with(jac: BaJacobianFn, a: &[f64; 17]) -> ((f64, f64), [[f64; 15]; 2]) {
    jac(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
        a[14], a[15], a[16],
    )
}

/// Central differences of `ba_residual` in each of the 15 inputs, step `1e-6 · max(1, |input|)`.
fn ba_central_differences(a: &[f64; 17]) -> [[f64; 15]; 2] {
    let mut jac = [[0.0; 15]; 2];
    for j in 0..15 {
        let h = 1e-6 * a[j].abs().max(1.0);
        let (mut plus, mut minus) = (*a, *a);
        plus[j] += h;
        minus[j] -= h;
        let (ep, em) = (residual(&plus), residual(&minus));
        jac[0][j] = (ep.0 - em.0) / (2.0 * h);
        jac[1][j] = (ep.1 - em.1) / (2.0 * h);
    }
    jac
}

#[test]
fn ba_residuals_match_adbench_oracle() {
    // Oracle: ADBench's ba1, observation 0. Tolerance 1e-8 relative.
    let inp = ba1();
    let err = residual(&ba_args(&inp, 0));
    assert_rel(err.0, 0.1013358379, 1e-8, "err_x");
    assert_rel(err.1, -0.06896776592, 1e-8, "err_y");
    assert_rel(
        ba::ba_weight_residual(inp.weights[0]),
        0.8260926515,
        1e-8,
        "werr",
    );
    let (werr, dwerr) = ba::ba_weight_residual_derivative(inp.weights[0]);
    assert_rel(werr, 0.8260926515, 1e-8, "werr (derivative fn)");
    assert_rel(dwerr, -0.834044, 1e-8, "d werr / dw");
}

#[test]
fn ba_hand_jacobian_row0_matches_adbench_oracle() {
    // The oracle is printed to 8 significant digits, so the tolerance is 1e-7 relative (5e-8 is the
    // rounding of the smallest leading digit); the exact zero ∂err_x/∂v0 must be exactly zero.
    const ORACLE_ROW0: [f64; 15] = [
        -461.44632, 178.86793, -19.423916, -3.0615983, 6.3924576, -3.3402823, 0.26476025, 0.417022,
        0.0, 243.62825, 676.48678, 3.0615983, -6.3924576, 3.3402823, 0.24299878,
    ];
    let inp = ba1();
    let (err, jac) = jacobian_with(ba::ba_residual_jacobian_hand, &ba_args(&inp, 0));
    assert_rel(err.0, 0.1013358379, 1e-8, "err_x from the Jacobian fn");
    assert_rel(err.1, -0.06896776592, 1e-8, "err_y from the Jacobian fn");
    for (j, (&got, &want)) in jac[0].iter().zip(&ORACLE_ROW0).enumerate() {
        if want == 0.0 {
            assert_eq!(got, 0.0, "column {j}");
        } else {
            assert_rel(got, want, 1e-7, &format!("row 0 column {j}"));
        }
    }
}

#[test]
fn ba_hand_jacobian_matches_central_differences() {
    // Both rows, all 15 columns, at ba1's observation and at a perturbed one (every input moved, larger
    // rotation). The residual returned with the Jacobian is ba_residual's, to 1e-14 · max(1, |err|). Tolerance 1e-6 · max(1, |J|): central-difference error
    // (h² f'''/6 + ε|f|/h with h = 1e-6·max(1,|x|)) is below 1e-7 here.
    let inp = ba1();
    let base = ba_args(&inp, 0);
    let mut moved = base;
    for (j, v) in moved.iter_mut().enumerate().take(15) {
        *v += 0.05 * (j as f64 + 1.0) * if j % 2 == 0 { 1.0 } else { -1.0 };
    }
    moved[0] = 1.3;
    for a in [base, moved] {
        let (err, jac) = jacobian_with(ba::ba_residual_jacobian_hand, &a);
        let plain = residual(&a);
        assert_close(err.0, plain.0, 1e-14, "err_x from the Jacobian fn");
        assert_close(err.1, plain.1, 1e-14, "err_y from the Jacobian fn");
        let fd = ba_central_differences(&a);
        for row in 0..2 {
            for j in 0..15 {
                assert_close(
                    jac[row][j],
                    fd[row][j],
                    1e-6,
                    &format!("J[{row}][{j}] at {a:?}"),
                );
            }
        }
    }
}

#[test]
fn ba_zero_rotation_branch_value_and_jacobian() {
    // θ² = 0 takes the first-order branch Xo + r × Xo. Its value must be the limit of the Rodrigues
    // branch (r = 1e-12 on each axis: difference bounded by 1e-12·|∂err/∂r| ≈ 5e-10, tolerance 1e-8
    // absolute) and its Jacobian must match central differences, which straddle the branches
    // (1e-6 · max(1, |J|), as above).
    let inp = ba1();
    let mut a = ba_args(&inp, 0);
    a[0..3].copy_from_slice(&[0.0, 0.0, 0.0]);
    let err = residual(&a);
    let mut tiny = a;
    tiny[0..3].copy_from_slice(&[1e-12, -1e-12, 1e-12]);
    let near = residual(&tiny);
    assert!(
        (err.0 - near.0).abs() < 1e-8 && (err.1 - near.1).abs() < 1e-8,
        "{err:?} vs {near:?}"
    );
    // With no rotation the camera looks down +z: err_x = w·(f·p0·D + u0 − feat_x) with p0 = Xo0/Xo2.
    let (xo0, xo2) = (a[11] - a[3], a[13] - a[5]);
    let (xo1,) = (a[12] - a[4],);
    let (p0, p1) = (xo0 / xo2, xo1 / xo2);
    let s = p0 * p0 + p1 * p1;
    let expected_x = a[14] * (a[6] * p0 * (1.0 + a[9] * s + a[10] * s * s) + a[7] - a[15]);
    assert_rel(err.0, expected_x, 1e-12, "err_x at r = 0, closed form");

    let (err_j, jac) = jacobian_with(ba::ba_residual_jacobian_hand, &a);
    assert_close(err_j.0, err.0, 1e-14, "err_x from the Jacobian fn at r = 0");
    assert_close(err_j.1, err.1, 1e-14, "err_y from the Jacobian fn at r = 0");
    let fd = ba_central_differences(&a);
    for row in 0..2 {
        for j in 0..15 {
            assert_close(
                jac[row][j],
                fd[row][j],
                1e-6,
                &format!("J[{row}][{j}] at r = 0"),
            );
        }
    }
}

#[test]
fn ba_num_dual_peer_matches_hand_jacobian() {
    // Two derivative codes written independently; they agree to rounding: 1e-12 · max(1, |J|).
    let inp = ba1();
    let mut zero_rotation = ba_args(&inp, 0);
    zero_rotation[0..3].copy_from_slice(&[0.0, 0.0, 0.0]);
    for a in [ba_args(&inp, 0), zero_rotation] {
        let (err_h, jac_h) = jacobian_with(ba::ba_residual_jacobian_hand, &a);
        let (err_p, jac_p) = jacobian_with(peer::ba_residual_jacobian_num_dual, &a);
        assert_close(err_p.0, err_h.0, 1e-12, "err_x");
        assert_close(err_p.1, err_h.1, 1e-12, "err_y");
        for row in 0..2 {
            for j in 0..15 {
                assert_close(
                    jac_p[row][j],
                    jac_h[row][j],
                    1e-12,
                    &format!("J[{row}][{j}]"),
                );
            }
        }
    }
}

// ---- GMM --------------------------------------------------------------------------------------------

fn objective(i: &GmmInput, alphas: &[f64], means: &[f64], icf: &[f64]) -> f64 {
    gmm::gmm_objective(alphas, means, icf, &i.x, i.d, i.k, i.n, i.gamma, i.m)
}

fn hand_gradient(i: &GmmInput) -> (f64, gmm::GmmGradient) {
    gmm::gmm_objective_gradient(
        &i.alphas, &i.means, &i.icf, &i.x, i.d, i.k, i.n, i.gamma, i.m,
    )
}

/// Central difference of the GMM objective in input `index` (α, μ, icf concatenated), step `h`.
fn gmm_central_difference(i: &GmmInput, index: usize, h: f64) -> f64 {
    let eval = |delta: f64| {
        let mut flat: Vec<f64> = [&i.alphas[..], &i.means, &i.icf].concat();
        flat[index] += delta;
        let (a, rest) = flat.split_at(i.k);
        let (mu, icf) = rest.split_at(i.means.len());
        objective(i, a, mu, icf)
    };
    (eval(h) - eval(-h)) / (2.0 * h)
}

fn flat(g: &gmm::GmmGradient) -> Vec<f64> {
    [&g.alphas[..], &g.means, &g.icf].concat()
}

#[test]
fn gmm_objective_matches_adbench_oracle() {
    // Oracle f for both sizes; tolerance 1e-8 relative. The hand gradient's value must agree too.
    for (file, oracle) in [
        ("gmm_1k_d2_K5.txt", -5240.590563),
        ("gmm_1k_d10_K25.txt", -25649.65262),
    ] {
        let i = gmm_input(file);
        assert_rel(
            objective(&i, &i.alphas, &i.means, &i.icf),
            oracle,
            1e-8,
            file,
        );
        assert_rel(hand_gradient(&i).0, oracle, 1e-8, file);
    }
}

#[test]
fn gmm_hand_gradient_matches_adbench_oracle_d2_k5() {
    // Oracle ‖∇f‖₂ and ∂f/∂α₀..₂ (10 significant digits); tolerance 1e-8 relative.
    let i = gmm_input("gmm_1k_d2_K5.txt");
    let (_, g) = hand_gradient(&i);
    let all = flat(&g);
    assert_eq!(all.len(), 5 + 10 + 15);
    let norm = all.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert_rel(norm, 1277.188865, 1e-8, "‖∇f‖₂");
    for (j, want) in [167.2152751, -507.2137822, 38.76802422]
        .into_iter()
        .enumerate()
    {
        assert_rel(g.alphas[j], want, 1e-8, &format!("∂f/∂α{j}"));
    }
}

#[test]
fn gmm_hand_gradient_matches_central_differences() {
    // d2 K5: all 30 entries; d10 K25: α₀, α₂₄, a mean, a log-diagonal and two lower entries of different
    // components. Step h = 1e-4; error ≈ h²|f'''|/6 + ε|f|/h ≈ 1e-8·|f'''| + 6e-8, tolerance
    // 1e-5 · max(1, |g|).
    let small = gmm_input("gmm_1k_d2_K5.txt");
    let g = flat(&hand_gradient(&small).1);
    for (index, &gi) in g.iter().enumerate() {
        let fd = gmm_central_difference(&small, index, 1e-4);
        assert_close(gi, fd, 1e-5, &format!("d2 K5 entry {index}"));
    }
    let big = gmm_input("gmm_1k_d10_K25.txt");
    let g = flat(&hand_gradient(&big).1);
    let (k, kd) = (25, 250);
    for index in [
        0,
        24,
        k + 3 * 10 + 7,
        k + kd + 5 * 55 + 2,
        k + kd + 5 * 55 + 10,
        k + kd + 24 * 55 + 54,
    ] {
        let fd = gmm_central_difference(&big, index, 1e-4);
        assert_close(g[index], fd, 1e-5, &format!("d10 K25 entry {index}"));
    }
}

#[test]
fn gmm_hand_gradient_with_other_prior_matches_central_differences() {
    // Both ADBench files have γ = 1, m = 0, which hides the prior's m and γ terms: d2 K5 with γ = 1.7 and
    // m = 3 instead, all 30 entries, same step and tolerance as above. The num-dual peer must agree too
    // (1e-10 · max(1, |g|)).
    let mut i = gmm_input("gmm_1k_d2_K5.txt");
    (i.gamma, i.m) = (1.7, 3);
    let (_, g) = hand_gradient(&i);
    let g = flat(&g);
    for (index, &gi) in g.iter().enumerate() {
        let fd = gmm_central_difference(&i, index, 1e-4);
        assert_close(gi, fd, 1e-5, &format!("γ 1.7, m 3: entry {index}"));
    }
    let (_, g_p) = peer::gmm_gradient_num_dual::<16>(&i);
    for (j, (p, h)) in flat(&g_p).iter().zip(&g).enumerate() {
        assert_close(*p, *h, 1e-10, &format!("γ 1.7, m 3: peer entry {j}"));
    }
}

#[test]
fn gmm_num_dual_peer_matches_hand_gradient() {
    // d2 K5: full gradient in 16-wide passes (2 passes, the second partial); d10 K25: the first and the
    // last (partial) 16-wide pass, and one directional derivative along all-ones, ∇f·1. Two independent derivative codes: 1e-10 relative to the larger of
    // 1 and |g| (the directional derivative sums 1,650 terms).
    let small = gmm_input("gmm_1k_d2_K5.txt");
    let (f_h, g_h) = hand_gradient(&small);
    let (f_p, g_p) = peer::gmm_gradient_num_dual::<16>(&small);
    assert_rel(f_p, f_h, 1e-12, "value");
    for (j, (p, h)) in flat(&g_p).iter().zip(flat(&g_h)).enumerate() {
        assert_close(*p, h, 1e-10, &format!("entry {j}"));
    }
    let big = gmm_input("gmm_1k_d10_K25.txt");
    let g_h = flat(&hand_gradient(&big).1);
    let ones = vec![1.0; g_h.len()];
    let (_, dir) = peer::gmm_directional_num_dual(&big, &ones);
    let (_, first16) = peer::gmm_gradient_pass_num_dual::<16>(&big, 0);
    let (_, last16) = peer::gmm_gradient_pass_num_dual::<16>(&big, 1648); // 2 inputs, 14 empty slots
    for j in 0..16 {
        assert_close(first16[j], g_h[j], 1e-10, &format!("d10 K25 entry {j}"));
    }
    assert_close(last16[0], g_h[1648], 1e-10, "d10 K25 entry 1648");
    assert_close(last16[1], g_h[1649], 1e-10, "d10 K25 entry 1649");
    assert_eq!(&last16[2..], &[0.0; 14]);
    assert_close(dir, g_h.iter().sum(), 1e-10, "∇f·1");
}

#[test]
fn ln_gamma_matches_factorials_and_half_integers() {
    // Γ(n) = (n−1)! and Γ(n + ½) = (2n)! √π / (4ⁿ n!), both summed in logs; tolerance 1e-13 · max(1, |lnΓ|).
    let mut ln_fact = 0.0; // ln((n−1)!)
    for n in 1..=60 {
        if n > 1 {
            ln_fact += ((n - 1) as f64).ln();
        }
        assert_close(
            gmm::ln_gamma(n as f64),
            ln_fact,
            1e-13,
            &format!("lnΓ({n})"),
        );
    }
    for n in 0..=40u32 {
        let ln_2n_fact: f64 = (1..=2 * n).map(|j| (j as f64).ln()).sum();
        let ln_n_fact: f64 = (1..=n).map(|j| (j as f64).ln()).sum();
        let expected =
            ln_2n_fact + 0.5 * std::f64::consts::PI.ln() - n as f64 * 4f64.ln() - ln_n_fact;
        assert_close(
            gmm::ln_gamma(n as f64 + 0.5),
            expected,
            1e-13,
            &format!("lnΓ({n}.5)"),
        );
    }
    // Reflection branch: Γ(−½) = −2√π.
    let expected = (2.0 * std::f64::consts::PI.sqrt()).ln();
    assert_close(gmm::ln_gamma(-0.5), expected, 1e-13, "lnΓ(−0.5)");
}

#[test]
fn ln_gamma_satisfies_the_recurrence() {
    // lnΓ(x + 1) = lnΓ(x) + ln x at non-special points, 1e-13 · max(1, |lnΓ(x+1)|).
    for i in 1..200 {
        let x = 0.013 + 0.37 * i as f64;
        let lhs = gmm::ln_gamma(x + 1.0);
        assert_close(lhs, gmm::ln_gamma(x) + x.ln(), 1e-13, &format!("x = {x}"));
    }
}

#[test]
fn wishart_constant_for_d2_m0_by_hand() {
    // d = 2, m = 0: n = 3, C = 6 (ln γ − ½ ln 2) − (½ ln π + lnΓ(1.5) + lnΓ(1)), lnΓ(1.5) = ln(√π/2).
    let pi = std::f64::consts::PI;
    let expected = 6.0 * (2f64.ln() - 0.5 * 2f64.ln()) - (0.5 * pi.ln() + (pi.sqrt() / 2.0).ln());
    assert_close(gmm::wishart_constant(2, 2.0, 0), expected, 1e-14, "C");
}

// ---- Rosenbrock -------------------------------------------------------------------------------------

#[test]
fn rosenbrock_gradient_matches_expanded_closed_form() {
    // Expanded: f = 1 − 2x + x² + 100y² − 200x²y + 100x⁴, ∇f = (−2 + 2x − 400xy + 400x³, 200y − 200x²).
    // Hand-written and num-dual gradients at the benchmark's 1,000 points; 1e-12 · max(1, |·|).
    for (x, y) in adbench::suite::rosenbrock_points() {
        let f = 1.0 - 2.0 * x + x * x + 100.0 * y * y - 200.0 * x * x * y + 100.0 * x.powi(4);
        let g = [
            -2.0 + 2.0 * x - 400.0 * x * y + 400.0 * x.powi(3),
            200.0 * y - 200.0 * x * x,
        ];
        for (name, (v, grad)) in [
            ("hand", rosenbrock::rosenbrock_gradient(x, y)),
            ("num-dual", peer::rosenbrock_gradient_num_dual(x, y)),
        ] {
            assert_close(v, f, 1e-12, &format!("{name} f({x}, {y})"));
            assert_close(grad[0], g[0], 1e-12, &format!("{name} ∂x at ({x}, {y})"));
            assert_close(grad[1], g[1], 1e-12, &format!("{name} ∂y at ({x}, {y})"));
        }
        assert_close(rosenbrock::rosenbrock(x, y), f, 1e-12, "plain f");
    }
    assert_eq!(
        rosenbrock::rosenbrock_gradient(1.0, 1.0),
        (0.0, [0.0, 0.0]),
        "minimum at (1, 1)"
    );
}

// ---------------------------------------------------------------- the generated derivatives

#[test]
fn generated_rosenbrock_gradient_matches_hand_written() {
    for (x, y) in [(-1.2, 1.0), (0.3, -0.7), (1.0, 1.0), (2.5, 4.0)] {
        let (v, g) = rosenbrock::rosenbrock_grad(x, y);
        let (hv, hg) = rosenbrock::rosenbrock_gradient(x, y);
        assert_close(v, hv, 1e-14, "rosenbrock value");
        assert_close(g[0], hg[0], 1e-12, "d/dx");
        assert_close(g[1], hg[1], 1e-12, "d/dy");
    }
}

#[test]
fn generated_ba_jacobian_matches_oracle_and_hand_written() {
    let inp = ba1();
    // ADBench's oracle row 0 of observation 0 (8 significant digits).
    let oracle = [
        -461.44632, 178.86793, -19.423916, -3.0615983, 6.3924576, -3.3402823, 0.26476025, 0.417022,
        0.0, 243.62825, 676.48678, 3.0615983, -6.3924576, 3.3402823, 0.24299878,
    ];
    let a = ba_args(&inp, 0);
    let gen = |a: &[f64; 17]| {
        ba::ba_residual_jacobian(
            a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
            a[14], a[15], a[16],
        )
    };
    let j = gen(&a);
    for (k, (&got, &want)) in j[0].iter().zip(&oracle).enumerate() {
        assert_close(got, want, 1e-7, &format!("generated row 0, entry {k}"));
    }
    for i in (0..inp.obs.len()).step_by(997) {
        let a = ba_args(&inp, i);
        let (_, hand) = jacobian_with(ba::ba_residual_jacobian_hand, &a);
        let j = gen(&a);
        for r in 0..2 {
            for c in 0..15 {
                assert_close(j[r][c], hand[r][c], 1e-12, &format!("obs {i} ({r}, {c})"));
            }
        }
    }
    // Both Rodrigues branches: θ² = 0 takes the other one.
    let mut a = ba_args(&inp, 0);
    a[..3].fill(0.0);
    let (_, hand) = jacobian_with(ba::ba_residual_jacobian_hand, &a);
    let j = gen(&a);
    for r in 0..2 {
        for c in 0..15 {
            assert_close(j[r][c], hand[r][c], 1e-12, &format!("θ = 0 ({r}, {c})"));
        }
    }
    let (werr, [dw]) = ba::ba_weight_residual_grad(0.417022);
    assert_close(werr, 0.8260926515, 1e-9, "werr");
    assert_close(dw, -0.834044, 1e-12, "d werr / dw");
}

#[test]
fn generated_gmm_gradient_matches_oracle_and_hand_written() {
    for file in ["gmm_1k_d2_K5.txt", "gmm_1k_d10_K25.txt"] {
        let i = gmm_input(file);
        let mut da = vec![0.0; i.alphas.len()];
        let mut dm = vec![0.0; i.means.len()];
        let mut di = vec![0.0; i.icf.len()];
        let v = gmm::gmm_objective_grad(
            &i.alphas, &mut da, &i.means, &mut dm, &i.icf, &mut di, &i.x, i.d, i.k, i.n, i.gamma,
            i.m,
        );
        let (hv, hg) = hand_gradient(&i);
        assert_rel(v, hv, 1e-12, "gmm value");
        let got: Vec<f64> = da.iter().chain(&dm).chain(&di).copied().collect();
        let want = flat(&hg);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_close(*g, *w, 1e-10, &format!("{file}: gradient entry {k}"));
        }
        if file == "gmm_1k_d2_K5.txt" {
            assert_rel(v, -5240.590563, 1e-8, "oracle f");
            let norm = got.iter().map(|g| g * g).sum::<f64>().sqrt();
            assert_rel(norm, 1277.188865, 1e-8, "oracle ‖∇f‖");
            for (k, want) in [167.2152751, -507.2137822, 38.76802422].iter().enumerate() {
                assert_rel(got[k], *want, 1e-8, "oracle ∂f/∂α");
            }
        }
    }
}

//! ADBench's bundle-adjustment reprojection residual.
//!
//! [`ba_residual`] is written the way a user of `#[differentiate]` would write it: one plain function over
//! `f64` scalars, no arrays, loops, closures or helper calls, both Rodrigues branches inline.
//! [`ba_residual_jacobian_hand`] is the hand-written analytic Jacobian the generated code is compared with;
//! its `_hand` suffix leaves the name `ba_residual_jacobian` free for `#[differentiate]` to generate.
//!
//! To differentiate with the macro: put `#[autodiff::differentiate]` on [`ba_residual`] and
//! [`ba_weight_residual`] and mark `feat_x`, `feat_y` `#[constant]` (they are data), which generates
//! `ba_residual_jacobian(..) -> [[f64; 15]; 2]` and `ba_weight_residual_grad(w) -> (f64, [f64; 1])`.
// The 15 differentiated inputs are separate scalars by design; module-wide so that it also covers the
// functions #[differentiate] generates from ba_residual.
#![allow(clippy::too_many_arguments)]

use autodiff::differentiate;

/// Reprojection residual `w · (proj − feat)` of one observation (ADBench's `computeReprojError`).
///
/// Camera: angle-axis rotation `r`, centre `c`, focal length `f`, principal point `(u0, v0)`, radial
/// distortion `k1, k2`; point `x`; weight `w`; observed feature `(feat_x, feat_y)` (data, not differentiated).
/// The point is rotated by Rodrigues' formula when `θ² = ‖r‖² ≠ 0` and by its first-order form
/// `Xo + r × Xo` when `θ² = 0`.
#[differentiate]
pub fn ba_residual(
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
    #[constant] feat_x: f64,
    #[constant] feat_y: f64,
) -> (f64, f64) {
    // Point relative to the camera centre.
    let xo0 = x0 - c0;
    let xo1 = x1 - c1;
    let xo2 = x2 - c2;

    // Rotate into the camera frame.
    let theta2 = r0 * r0 + r1 * r1 + r2 * r2;
    let xc0;
    let xc1;
    let xc2;
    if theta2 != 0.0 {
        let theta = theta2.sqrt();
        let cos_t = theta.cos();
        let sin_t = theta.sin();
        // Unit rotation axis.
        let a0 = r0 / theta;
        let a1 = r1 / theta;
        let a2 = r2 / theta;
        let axis_dot = (a0 * xo0 + a1 * xo1 + a2 * xo2) * (1.0 - cos_t);
        xc0 = xo0 * cos_t + (a1 * xo2 - a2 * xo1) * sin_t + a0 * axis_dot;
        xc1 = xo1 * cos_t + (a2 * xo0 - a0 * xo2) * sin_t + a1 * axis_dot;
        xc2 = xo2 * cos_t + (a0 * xo1 - a1 * xo0) * sin_t + a2 * axis_dot;
    } else {
        xc0 = xo0 + (r1 * xo2 - r2 * xo1);
        xc1 = xo1 + (r2 * xo0 - r0 * xo2);
        xc2 = xo2 + (r0 * xo1 - r1 * xo0);
    }

    // Perspective division and radial distortion.
    let p0 = xc0 / xc2;
    let p1 = xc1 / xc2;
    let s = p0 * p0 + p1 * p1;
    let distortion = 1.0 + k1 * s + k2 * s * s;
    let proj_x = p0 * distortion * f + u0;
    let proj_y = p1 * distortion * f + v0;

    (w * (proj_x - feat_x), w * (proj_y - feat_y))
}

/// Weight residual `1 − w²` (ADBench's `computeZachWeightError`).
#[differentiate]
pub fn ba_weight_residual(w: f64) -> f64 {
    1.0 - w * w
}

/// Hand-written derivative of [`ba_weight_residual`]: `(1 − w², −2w)`.
pub fn ba_weight_residual_derivative(w: f64) -> (f64, f64) {
    (1.0 - w * w, -2.0 * w)
}

/// Hand-written residual and 2×15 Jacobian of [`ba_residual`].
///
/// Columns follow ADBench: `r0 r1 r2 C0 C1 C2 f u0 v0 k1 k2 X0 X1 X2 w`. The projection part is
/// differentiated forward; the rotation is then swept backwards once per output row: with
/// `g = ∂err/∂Xcam`, the point columns are `gᵀR` (`R` the rotation), the centre columns their negation, and
/// the rotation columns follow from `Xcam(θ, a)` with `θ = ‖r‖`, `a = r/θ`:
/// `∂/∂r = (g·∂Xcam/∂θ) a + (h − (h·a) a)/θ`, `h = gᵀ ∂Xcam/∂a = −sin θ (g × Xo) + (1 − cos θ)((a·Xo) g + (g·a) Xo)`.
/// When `θ² = 0` the rotation is `Xo + r × Xo`, whose transposed derivatives are `g + g × r` (point) and
/// `Xo × g` (rotation).
pub fn ba_residual_jacobian_hand(
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
    let r = [r0, r1, r2];
    let xo = [x0 - c0, x1 - c1, x2 - c2];
    let theta2 = dot(r, r);

    // Forward: rotation, keeping what the backward sweep reuses.
    let rotation = if theta2 != 0.0 {
        let theta = theta2.sqrt();
        let (sin_t, cos_t) = theta.sin_cos();
        let inv_theta = 1.0 / theta;
        let a = [r0 * inv_theta, r1 * inv_theta, r2 * inv_theta];
        let a_dot_xo = dot(a, xo);
        let a_cross_xo = cross(a, xo);
        let one_minus_cos = 1.0 - cos_t;
        let t = a_dot_xo * one_minus_cos;
        let xc = [
            xo[0] * cos_t + a_cross_xo[0] * sin_t + a[0] * t,
            xo[1] * cos_t + a_cross_xo[1] * sin_t + a[1] * t,
            xo[2] * cos_t + a_cross_xo[2] * sin_t + a[2] * t,
        ];
        Rotation::Rodrigues {
            xc,
            a,
            sin_t,
            cos_t,
            inv_theta,
            a_dot_xo,
            a_cross_xo,
        }
    } else {
        let rx = cross(r, xo);
        Rotation::FirstOrder {
            xc: [xo[0] + rx[0], xo[1] + rx[1], xo[2] + rx[2]],
        }
    };
    let xc = match &rotation {
        Rotation::Rodrigues { xc, .. } | Rotation::FirstOrder { xc } => *xc,
    };

    // Forward: projection.
    let inv_z = 1.0 / xc[2];
    let p = [xc[0] * inv_z, xc[1] * inv_z];
    let s = p[0] * p[0] + p[1] * p[1];
    let distortion = 1.0 + k1 * s + k2 * s * s;
    let d_distortion = k1 + 2.0 * k2 * s; // d distortion / ds
    let proj = [p[0] * distortion * f + u0, p[1] * distortion * f + v0];
    let err = (w * (proj[0] - feat_x), w * (proj[1] - feat_y));

    // ∂err_row/∂p: w·f·(distortion·I + 2·distortion'·p pᵀ).
    let wf = w * f;
    let cross_term = 2.0 * wf * d_distortion * p[0] * p[1];
    let de_dp = [
        [
            wf * (distortion + 2.0 * d_distortion * p[0] * p[0]),
            cross_term,
        ],
        [
            cross_term,
            wf * (distortion + 2.0 * d_distortion * p[1] * p[1]),
        ],
    ];

    let mut jac = [[0.0; 15]; 2];
    for row in 0..2 {
        let pr = p[row];
        let j = &mut jac[row];
        // Intrinsics and weight.
        j[6] = w * pr * distortion;
        j[7 + row] = w; // u0 for row 0, v0 for row 1; the other stays 0
        j[9] = wf * pr * s;
        j[10] = wf * pr * s * s;
        j[14] = proj[row] - if row == 0 { feat_x } else { feat_y };

        // g = ∂err_row/∂Xcam through p = (Xcam0, Xcam1)/Xcam2.
        let [e0, e1] = de_dp[row];
        let g = [e0 * inv_z, e1 * inv_z, -(e0 * p[0] + e1 * p[1]) * inv_z];

        // Backward through the rotation.
        let (g_point, g_rot) = match &rotation {
            Rotation::Rodrigues {
                a,
                sin_t,
                cos_t,
                inv_theta,
                a_dot_xo,
                a_cross_xo,
                ..
            } => {
                let one_minus_cos = 1.0 - cos_t;
                let g_dot_a = dot(g, *a);
                // Point: gᵀR = cos θ g + sin θ (g × a) + (1 − cos θ)(g·a) a.
                let g_cross_a = cross(g, *a);
                let k = one_minus_cos * g_dot_a;
                let g_point = [
                    cos_t * g[0] + sin_t * g_cross_a[0] + k * a[0],
                    cos_t * g[1] + sin_t * g_cross_a[1] + k * a[1],
                    cos_t * g[2] + sin_t * g_cross_a[2] + k * a[2],
                ];
                // ∂Xcam/∂θ = −sin θ Xo + cos θ (a × Xo) + sin θ (a·Xo) a, contracted with g.
                let g_dtheta =
                    -sin_t * dot(g, xo) + cos_t * dot(g, *a_cross_xo) + sin_t * a_dot_xo * g_dot_a;
                let g_cross_xo = cross(g, xo);
                let h = [
                    -sin_t * g_cross_xo[0] + one_minus_cos * (a_dot_xo * g[0] + g_dot_a * xo[0]),
                    -sin_t * g_cross_xo[1] + one_minus_cos * (a_dot_xo * g[1] + g_dot_a * xo[1]),
                    -sin_t * g_cross_xo[2] + one_minus_cos * (a_dot_xo * g[2] + g_dot_a * xo[2]),
                ];
                let h_dot_a = dot(h, *a);
                let g_rot = [
                    g_dtheta * a[0] + (h[0] - h_dot_a * a[0]) * inv_theta,
                    g_dtheta * a[1] + (h[1] - h_dot_a * a[1]) * inv_theta,
                    g_dtheta * a[2] + (h[2] - h_dot_a * a[2]) * inv_theta,
                ];
                (g_point, g_rot)
            }
            Rotation::FirstOrder { .. } => {
                let g_cross_r = cross(g, r);
                (
                    [
                        g[0] + g_cross_r[0],
                        g[1] + g_cross_r[1],
                        g[2] + g_cross_r[2],
                    ],
                    cross(xo, g),
                )
            }
        };
        j[0..3].copy_from_slice(&g_rot);
        j[3] = -g_point[0];
        j[4] = -g_point[1];
        j[5] = -g_point[2];
        j[11..14].copy_from_slice(&g_point);
    }
    (err, jac)
}

/// What the backward sweep of [`ba_residual_jacobian_hand`] needs from the forward rotation.
enum Rotation {
    Rodrigues {
        xc: [f64; 3],
        a: [f64; 3],
        sin_t: f64,
        cos_t: f64,
        inv_theta: f64,
        a_dot_xo: f64,
        a_cross_xo: [f64; 3],
    },
    FirstOrder {
        xc: [f64; 3],
    },
}

#[inline(always)]
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline(always)]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

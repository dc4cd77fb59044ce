//! The timed workloads, shared by `benches/adbench.rs` (criterion) and `examples/adbench_ratios.rs`
//! (min-over-repeats ratio table), so that both always time the same code.
//!
//! Each [`Workload`] owns its input and output buffers: an objective run and a list of derivative runs,
//! the first of which is the hand-written baseline. **`#[differentiate]` slot:** when the macro lands, each
//! objective gets one more line in its `derivatives` list, at the place marked `MACRO SLOT` below.

use super::data::{load, parse_ba, parse_gmm, BaInput, GmmInput};
use super::{ba, gmm, peer, rosenbrock};
use std::hint::black_box;
use std::rc::Rc;

/// One timed run of a workload (owns its input and output buffers).
pub type Run = Box<dyn FnMut()>;

/// One objective with every way of differentiating it that is timed.
pub struct Workload {
    /// Criterion group name, e.g. `ba1`.
    pub name: &'static str,
    /// What one run computes, for tables.
    pub description: &'static str,
    /// Evaluates the objective once over the whole input.
    pub objective: Run,
    /// `(label, run)`: each run computes the objective's full derivative once over the whole input, except
    /// where the label says otherwise. The first entry is the hand-written baseline.
    pub derivatives: Vec<(String, Run)>,
}

/// Label of the hand-written baseline, the first entry of every `derivatives` list.
pub const HAND_WRITTEN: &str = "hand-written";

/// All workloads, inputs loaded from `data/adbench/` (panics with the file name if one cannot be read).
///
/// The num-dual full gradient of a GMM takes one 16-direction pass per 16 inputs: 2 passes for d2 K5 but
/// 104 (seconds) for d10 K25, where it is included only when `slow_peer` is set; one pass and one
/// direction are always timed.
pub fn workloads(slow_peer: bool) -> Vec<Workload> {
    vec![
        rosenbrock_workload(),
        ba_workload(),
        gmm_workload(
            "gmm_d2_K5",
            "gmm_1k_d2_K5.txt",
            "d = 2, K = 5, N = 1,000",
            true,
        ),
        gmm_workload(
            "gmm_d10_K25",
            "gmm_1k_d10_K25.txt",
            "d = 10, K = 25, N = 1,000",
            slow_peer,
        ),
    ]
}

// ---- Rosenbrock: 1,000 points per run, so that a run is long enough to time ------------------------

/// The 1,000 evaluation points of the Rosenbrock workload: a 40 × 25 grid over `[−2, 2] × [−1, 3]`.
pub fn rosenbrock_points() -> Vec<(f64, f64)> {
    (0..1000)
        .map(|i| {
            (
                -2.0 + 4.0 * (i % 40) as f64 / 39.0,
                -1.0 + 4.0 * (i / 40) as f64 / 24.0,
            )
        })
        .collect()
}

fn rosenbrock_workload() -> Workload {
    let points = Rc::new(rosenbrock_points());
    let objective = {
        let points = Rc::clone(&points);
        let mut out = vec![0.0; points.len()];
        Box::new(move || {
            for (o, &(x, y)) in out.iter_mut().zip(points.iter()) {
                *o = rosenbrock::rosenbrock(x, y);
            }
            black_box(&mut out);
        })
    };
    Workload {
        name: "rosenbrock",
        description: "1,000 points",
        objective,
        derivatives: vec![
            (
                HAND_WRITTEN.into(),
                rosenbrock_entry(&points, rosenbrock::rosenbrock_gradient),
            ),
            (
                "num-dual".into(),
                rosenbrock_entry(&points, peer::rosenbrock_gradient_num_dual),
            ),
            (
                "autodiff".into(),
                rosenbrock_entry(&points, rosenbrock::rosenbrock_grad),
            ),
        ],
    }
}

/// A derivative run of the Rosenbrock workload for any `(x, y) -> (value, gradient)` function.
pub fn rosenbrock_entry(
    points: &Rc<Vec<(f64, f64)>>,
    gradient: impl Fn(f64, f64) -> (f64, [f64; 2]) + 'static,
) -> Run {
    let points = Rc::clone(points);
    let mut out = vec![(0.0, [0.0; 2]); points.len()];
    Box::new(move || {
        for (o, &(x, y)) in out.iter_mut().zip(points.iter()) {
            *o = gradient(x, y);
        }
        black_box(&mut out);
    })
}

// ---- Bundle adjustment: every observation of ba1 per run -------------------------------------------

/// ba1: residuals `err_i` (2 values) and `werr_i` of all observations.
pub fn ba_residuals_all(inp: &BaInput, err: &mut [(f64, f64)], werr: &mut [f64]) {
    for (i, &(ci, pi)) in inp.obs.iter().enumerate() {
        let c = &inp.cams[ci];
        let x = &inp.points[pi];
        let [fx, fy] = inp.feats[i];
        let w = inp.weights[i];
        err[i] = ba::ba_residual(
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], x[0], x[1], x[2], w,
            fx, fy,
        );
        werr[i] = ba::ba_weight_residual(w);
    }
}

/// Shape of a BA block function: the 17 scalars of `ba_residual` to a 2×15 Jacobian, alone (the shape
/// `#[differentiate]` generates) or with the residual (the hand-written and num-dual shape).
pub trait BaJacobianFn<R: BaBlock>:
    Fn(f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64) -> R
{
}
impl<R: BaBlock, F> BaJacobianFn<R> for F where
    F: Fn(f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64) -> R
{
}

/// What a BA block function returns, reduced to the 2×15 block.
pub trait BaBlock {
    /// The 2×15 Jacobian block.
    fn block(self) -> [[f64; 15]; 2];
}
impl BaBlock for [[f64; 15]; 2] {
    fn block(self) -> [[f64; 15]; 2] {
        self
    }
}
impl BaBlock for ((f64, f64), [[f64; 15]; 2]) {
    fn block(self) -> [[f64; 15]; 2] {
        self.1
    }
}

/// What a weight-derivative function returns, reduced to `d werr / dw`: `(value, derivative)` by hand or
/// `(value, [derivative])` as a generated `_grad`.
pub trait WeightDerivative {
    /// `d werr / dw`.
    fn derivative(self) -> f64;
}
impl WeightDerivative for (f64, f64) {
    fn derivative(self) -> f64 {
        self.1
    }
}
impl WeightDerivative for (f64, [f64; 1]) {
    fn derivative(self) -> f64 {
        self.1[0]
    }
}

/// ba1: every 2×15 Jacobian block and every `d werr_i / dw`, with the given block and weight functions.
pub fn ba_jacobians_all<R: BaBlock, W: WeightDerivative>(
    inp: &BaInput,
    jacobian: &impl BaJacobianFn<R>,
    weight_derivative: &impl Fn(f64) -> W,
    blocks: &mut [[[f64; 15]; 2]],
    dwerr: &mut [f64],
) {
    for (i, &(ci, pi)) in inp.obs.iter().enumerate() {
        let c = &inp.cams[ci];
        let x = &inp.points[pi];
        let [fx, fy] = inp.feats[i];
        let w = inp.weights[i];
        blocks[i] = jacobian(
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], x[0], x[1], x[2], w,
            fx, fy,
        )
        .block();
        dwerr[i] = weight_derivative(w).derivative();
    }
}

fn ba_workload() -> Workload {
    let inp = Rc::new(load("ba1_n49_m7776_p31843.txt", parse_ba).unwrap_or_else(|e| panic!("{e}")));
    let objective = {
        let inp = Rc::clone(&inp);
        let p = inp.obs.len();
        let (mut err, mut werr) = (vec![(0.0, 0.0); p], vec![0.0; p]);
        Box::new(move || {
            ba_residuals_all(&inp, &mut err, &mut werr);
            black_box((&mut err, &mut werr));
        })
    };
    Workload {
        name: "ba1",
        description: "31,843 observations",
        objective,
        derivatives: vec![
            (
                HAND_WRITTEN.into(),
                ba_entry(
                    &inp,
                    ba::ba_residual_jacobian_hand,
                    ba::ba_weight_residual_derivative,
                ),
            ),
            (
                "num-dual".into(),
                ba_entry(
                    &inp,
                    peer::ba_residual_jacobian_num_dual,
                    ba::ba_weight_residual_derivative,
                ),
            ),
            (
                "autodiff".into(),
                ba_entry(&inp, ba::ba_residual_jacobian, ba::ba_weight_residual_grad),
            ),
        ],
    }
}

/// A derivative run of the BA workload for a block function and a weight-derivative function.
pub fn ba_entry<R: BaBlock, W: WeightDerivative>(
    inp: &Rc<BaInput>,
    jacobian: impl BaJacobianFn<R> + 'static,
    weight_derivative: impl Fn(f64) -> W + 'static,
) -> Run {
    let inp = Rc::clone(inp);
    let p = inp.obs.len();
    let (mut blocks, mut dwerr) = (vec![[[0.0; 15]; 2]; p], vec![0.0; p]);
    Box::new(move || {
        ba_jacobians_all(&inp, &jacobian, &weight_derivative, &mut blocks, &mut dwerr);
        black_box((&mut blocks, &mut dwerr));
    })
}

// ---- GMM: the whole objective and gradient per run --------------------------------------------------

fn gmm_workload(
    name: &'static str,
    file: &str,
    description: &'static str,
    full_peer: bool,
) -> Workload {
    let inp = Rc::new(load(file, parse_gmm).unwrap_or_else(|e| panic!("{e}")));
    let objective = {
        let inp = Rc::clone(&inp);
        Box::new(move || {
            let i = &*inp;
            black_box(gmm::gmm_objective(
                black_box(&i.alphas),
                &i.means,
                &i.icf,
                &i.x,
                i.d,
                i.k,
                i.n,
                i.gamma,
                i.m,
            ));
        })
    };
    let hand = |i: &GmmInput| {
        gmm::gmm_objective_gradient(
            &i.alphas, &i.means, &i.icf, &i.x, i.d, i.k, i.n, i.gamma, i.m,
        )
    };
    let dir = Rc::new(vec![
        1.0;
        inp.alphas.len() + inp.means.len() + inp.icf.len()
    ]);
    let passes = peer::gmm_num_dual_passes::<16>(&inp);
    let mut derivatives = vec![
        (HAND_WRITTEN.into(), gmm_entry(&inp, hand)),
        ("autodiff".into(), {
            // The generated gradient writes into buffers, allocated once here.
            let buffers = std::cell::RefCell::new((
                vec![0.0; inp.alphas.len()],
                vec![0.0; inp.means.len()],
                vec![0.0; inp.icf.len()],
            ));
            gmm_entry(&inp, move |i: &GmmInput| {
                let mut b = buffers.borrow_mut();
                let (da, dm, di) = &mut *b;
                gmm::gmm_objective_grad(
                    &i.alphas, da, &i.means, dm, &i.icf, di, &i.x, i.d, i.k, i.n, i.gamma, i.m,
                )
            })
        }),
    ];
    if full_peer {
        derivatives.push((
            format!("num-dual, full gradient ({passes} passes)"),
            gmm_entry(&inp, peer::gmm_gradient_num_dual::<16>),
        ));
    }
    derivatives.push((
        format!("num-dual, 1 pass of 16 (of {passes})"),
        gmm_entry(&inp, |i: &GmmInput| {
            peer::gmm_gradient_pass_num_dual::<16>(i, 0)
        }),
    ));
    derivatives.push((
        "num-dual, 1 direction".into(),
        gmm_entry(&inp, move |i: &GmmInput| {
            peer::gmm_directional_num_dual(i, &dir)
        }),
    ));
    Workload {
        name,
        description,
        objective,
        derivatives,
    }
}

/// A derivative run of a GMM workload for any function of the input.
pub fn gmm_entry<T: 'static>(
    inp: &Rc<GmmInput>,
    gradient: impl Fn(&GmmInput) -> T + 'static,
) -> Run {
    let inp = Rc::clone(inp);
    Box::new(move || {
        black_box(gradient(black_box(&inp)));
    })
}

//! The driver against the authors' reference implementation: trajectories of `gdtuo` 1.0 (PyTorch, float64)
//! recorded by `scripts/gdtuo_reference.sh` in `tests/fixtures/gdtuo_reference.txt` (format described in
//! `scripts/gdtuo_reference.py`). Twelve stacks — every built-in optimizer, heights 2 to 4, SgdPerParam on
//! weights and on hyperparameters — 20 steps each of logistic regression on 16 points.
//!
//! Tolerance: 1e-12 relative for losses, weights and raw hyperparameters; hypergradients likewise, with an
//! absolute floor of 1e-12 times the largest magnitude of that hypergradient in the run (some are zero up
//! to rounding, e.g. Adam's β1 at its second step).
//!
//! One deliberate difference, in reported values only: an entry that a `SgdPerParam` passes through
//! unchanged is detached in `gdtuo` (`params[name] = p.detach()`), so `gdtuo` reports its hypergradient as 0,
//! whereas the specification defines `H_k(t) = ∂L_t/∂θ_k(t) = Σ_i g_t[i]·∂U_0/∂θ_0`, which is not 0 (e.g.
//! momentum's μ). That value feeds nothing (the level above does not update the entry), so trajectories
//! agree; those hypergradients are checked against central differences in `tests/optim.rs` instead.

// Indexing several parallel arrays by one counter reads better here than zipped iterators.
#![allow(clippy::needless_range_loop)]

use autodiff::optim::{AdaGrad, Adam, AdamBaydin, RMSProp, RMSPropAlpha, Sgd, SgdPerParam, Stack};

const FIXTURE: &str = include_str!("fixtures/gdtuo_reference.txt");

struct Record {
    loss: f64,
    w: Vec<f64>,
    raw: Vec<Vec<f64>>,
    grad: Vec<Vec<f64>>,
}

struct Case {
    name: String,
    steps: Vec<Record>,
}

struct Fixture {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    init: Vec<f64>,
    cases: Vec<Case>,
}

fn numbers(s: &str) -> Vec<f64> {
    s.split_whitespace().map(|v| v.parse().unwrap()).collect()
}

fn parse() -> Fixture {
    let mut lines = FIXTURE.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(head[0], "data");
    let (n, d): (usize, usize) = (head[1].parse().unwrap(), head[2].parse().unwrap());
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let row = numbers(lines.next().unwrap());
        x.push(row[..d].to_vec());
        y.push(row[d]);
    }
    let init = numbers(lines.next().unwrap().strip_prefix("init ").unwrap());
    let mut cases: Vec<Case> = Vec::new();
    for line in lines {
        let (tag, rest) = line.split_once(' ').unwrap();
        match tag {
            "case" => cases.push(Case {
                name: rest.to_string(),
                steps: Vec::new(),
            }),
            "step" => {
                let (_, loss) = rest.split_once(' ').unwrap();
                cases.last_mut().unwrap().steps.push(Record {
                    loss: loss.parse().unwrap(),
                    w: Vec::new(),
                    raw: Vec::new(),
                    grad: Vec::new(),
                });
            }
            "w" => cases.last_mut().unwrap().steps.last_mut().unwrap().w = numbers(rest),
            "level" => {
                let mut parts = rest.splitn(3, ' ');
                let k: usize = parts.next().unwrap().parse().unwrap();
                let kind = parts.next().unwrap();
                let values = numbers(parts.next().unwrap_or(""));
                let record = cases.last_mut().unwrap().steps.last_mut().unwrap();
                let list = if kind == "raw" {
                    &mut record.raw
                } else {
                    &mut record.grad
                };
                assert_eq!(list.len(), k);
                list.push(values);
            }
            other => panic!("unknown record `{other}`"),
        }
    }
    Fixture { x, y, init, cases }
}

/// The stacks of `scripts/gdtuo_reference.py`, by case name.
fn stack(name: &str) -> Stack {
    let stack = match name {
        "sgd/sgd" => Sgd::new(0.1) / Sgd::new(0.01),
        "sgd_momentum/sgd" => Sgd::with_momentum(0.1, 0.9) / Sgd::new(0.001),
        "sgd/sgd/sgd/sgd" => Sgd::new(0.1) / Sgd::new(0.1) / Sgd::new(0.1) / Sgd::new(0.1),
        "adam/sgd" => Adam::new(0.01, 0.9, 0.999) / Sgd::new(1e-3),
        "adam/adam/sgd" => {
            Adam::new(0.02, 0.8, 0.99) / Adam::new(1e-3, 0.9, 0.999) / Sgd::new(1e-4)
        }
        "adagrad/sgd" => AdaGrad::new(0.1) / Sgd::new(0.01),
        "rmsprop/sgd/sgd" => RMSProp::new(0.01, 0.9) / Sgd::new(1e-3) / Sgd::new(1e-3),
        "rmsprop_alpha/adam" => RMSPropAlpha::new(0.01, 0.95) / Adam::default(),
        "adam_baydin/sgd" => AdamBaydin::new(0.01, 0.9, 0.999) / Sgd::new(1e-4),
        "sgd_per_param/sgd" => SgdPerParam::new([("weight", 0.1), ("bias", 0.05)]) / Sgd::new(0.01),
        "sgd/sgd_per_param" => Sgd::with_momentum(0.1, 0.5) / SgdPerParam::new([("alpha", 0.01)]),
        "adam/sgd_per_param/sgd" => {
            Adam::new(0.01, 0.9, 0.999)
                / SgdPerParam::new([("alpha", 1e-3), ("beta2", 0.1)])
                / Sgd::new(1e-3)
        }
        other => panic!("no stack for case `{other}`"),
    };
    // The model's two named tensors, as in the script.
    stack.with_weight_entries([("weight", 0..3), ("bias", 3..4)])
}

/// `L = mean_i log(1 + exp(−y_i (x_i·weight + bias)))` and its gradient.
fn loss_grad(x: &[Vec<f64>], y: &[f64], w: &[f64], g: &mut [f64]) -> f64 {
    let n = y.len() as f64;
    let d = w.len() - 1;
    let mut loss = 0.0;
    for (xi, &yi) in x.iter().zip(y) {
        let pred: f64 = xi.iter().zip(&w[..d]).map(|(a, b)| a * b).sum::<f64>() + w[d];
        let z = -yi * pred;
        let ez = z.exp();
        loss += (1.0 + ez).ln();
        let dz = 1.0 / n / (1.0 + ez) * ez;
        for (gj, &xij) in g[..d].iter_mut().zip(xi) {
            *gj += dz * -yi * xij;
        }
        g[d] += dz * -yi;
    }
    loss / n
}

/// Entries a `SgdPerParam` one level up passes through (see the module documentation).
fn passed_through(case: &str, level: usize, name: &str) -> bool {
    matches!(
        (case, level, name),
        ("sgd/sgd_per_param", 0, "mu") | ("adam/sgd_per_param/sgd", 0, "beta1")
    )
}

#[track_caller]
fn check(what: &str, ours: f64, reference: f64, floor: f64) {
    let tol = 1e-12 * (reference.abs().max(ours.abs()) + floor);
    assert!(
        (ours - reference).abs() <= tol,
        "{what}: ours {ours:e}, gdtuo {reference:e} (difference {:e} > {tol:e})",
        (ours - reference).abs()
    );
}

#[test]
fn every_stack_reproduces_the_reference_implementation() {
    let fixture = parse();
    assert_eq!(fixture.cases.len(), 12);
    for case in &fixture.cases {
        let mut stack = stack(&case.name);
        let mut w = fixture.init.clone();
        let height = case.steps[0].raw.len();
        assert_eq!(stack.height(), height, "{}", case.name);
        // Largest magnitude of each hypergradient over the run: the floor for near-zero ones.
        let floors: Vec<Vec<f64>> = (0..height)
            .map(|k| {
                (0..case.steps[0].grad[k].len())
                    .map(|j| {
                        case.steps
                            .iter()
                            .map(|r| r.grad[k][j].abs())
                            .fold(0.0, f64::max)
                    })
                    .collect()
            })
            .collect();
        for (t, record) in case.steps.iter().enumerate() {
            let loss = stack
                .step(&mut w, |w, g| loss_grad(&fixture.x, &fixture.y, w, g))
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let at = format!("{} step {t}", case.name);
            check(&format!("{at} loss"), loss, record.loss, 0.0);
            for (i, (&ours, &theirs)) in w.iter().zip(&record.w).enumerate() {
                check(&format!("{at} w{i}"), ours, theirs, 0.0);
            }
            for k in 0..height {
                let level = stack.level(k);
                assert_eq!(level.raw().len(), record.raw[k].len(), "{at} level {k}");
                for j in 0..level.raw().len() {
                    let name = &level.names()[j];
                    check(
                        &format!("{at} level {k} raw {name}"),
                        level.raw()[j],
                        record.raw[k][j],
                        0.0,
                    );
                    if passed_through(&case.name, k, name) {
                        assert_eq!(record.grad[k][j], 0.0, "{at}: gdtuo detaches `{name}`");
                        continue;
                    }
                    check(
                        &format!("{at} level {k} hypergradient {name}"),
                        level.hypergradient()[j],
                        record.grad[k][j],
                        floors[k][j],
                    );
                }
            }
        }
    }
}

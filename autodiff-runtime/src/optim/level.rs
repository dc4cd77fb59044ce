//! One level of a stack: an optimizer bound to what it updates, with its state and the partials of its
//! last update.

use std::fmt;
use std::ops::Range;

use num_traits::Zero;

use super::rule::{Optimizer, RawArray};
use super::sgd::Sgd;
use crate::{Dual, Real};

/// A named part of the vector a level updates: a range of the weights, or one raw hyperparameter of the
/// level below.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) range: Range<usize>,
}

/// What the stack needs from a level, whatever its optimizer.
pub(crate) trait Level: fmt::Debug + Send + Sync {
    /// Display name of the optimizer.
    fn name(&self) -> &'static str;
    /// Names of the raw hyperparameters.
    fn names(&self) -> &[String];
    /// Raw hyperparameters.
    fn raw(&self) -> &[f64];
    /// Raw hyperparameters, writable (for [`Stack::set_raw`](super::Stack::set_raw)).
    fn raw_mut(&mut self) -> &mut [f64];
    /// Effective hyperparameters, in the order of [`names`](Level::names).
    fn effective(&self) -> Vec<f64>;
    /// Hypergradient `∂L_t/∂θ` of the last step, in the order of [`names`](Level::names).
    fn hypergradient(&self) -> &[f64];
    /// The raw hyperparameters (to be updated by the level above) and their hypergradient.
    fn raw_and_hypergradient(&mut self) -> (&mut [f64], &[f64]);
    /// Prepares state for a vector of `len` values made of `entries`; called once, before the first step.
    fn bind(&mut self, len: usize, entries: &[Entry]) -> Result<(), String>;
    /// `H = Σ_i grad_below[i] · ∂x_i/∂θ`, with the partials of this level's previous update (zero before
    /// the first update).
    fn compute_hypergradient(&mut self, grad_below: &[f64]);
    /// Updates `x` given its gradient `g`, recording `∂x'_i/∂θ` for the next hypergradient.
    fn update(&mut self, x: &mut [f64], g: &[f64]);
    /// A copy of the level with its state.
    fn clone_box(&self) -> Box<dyn Level>;
}

impl Clone for Box<dyn Level> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

type DualOf<O> = <<O as Optimizer>::Raw as RawArray>::Dual;

/// A level running an [`Optimizer`] whose hyperparameters are shared by every element it updates.
#[derive(Clone, Debug)]
pub(crate) struct RuleLevel<O: Optimizer> {
    opt: O,
    names: Vec<String>,
    raw: Vec<f64>,
    hyper: Vec<f64>,
    /// Number of elements updated (known at bind time).
    len: usize,
    /// `len × state_len`, row-major.
    state: Vec<f64>,
    /// `∂x'_i/∂θ_j` of the last update, `len × K`, row-major.
    jac: Vec<f64>,
    /// This optimizer's own step count.
    t: u64,
    seeded: Vec<DualOf<O>>,
    eff: Vec<DualOf<O>>,
    scratch: Vec<DualOf<O>>,
}

impl<O: Optimizer> RuleLevel<O> {
    pub(crate) fn new(opt: O) -> Self {
        let raw = opt.raw().as_ref().to_vec();
        let names: Vec<String> = opt.names().iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names.len(),
            raw.len(),
            "{}: `names` must give one name per raw hyperparameter",
            opt.name()
        );
        RuleLevel {
            hyper: vec![0.0; raw.len()],
            opt,
            names,
            raw,
            len: 0,
            state: Vec::new(),
            jac: Vec::new(),
            t: 0,
            seeded: Vec::new(),
            eff: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

impl<O: Optimizer> Level for RuleLevel<O> {
    fn name(&self) -> &'static str {
        self.opt.name()
    }

    fn names(&self) -> &[String] {
        &self.names
    }

    fn raw(&self) -> &[f64] {
        &self.raw
    }

    fn raw_mut(&mut self) -> &mut [f64] {
        &mut self.raw
    }

    fn effective(&self) -> Vec<f64> {
        let mut eff = vec![0.0; self.raw.len()];
        self.opt.effective(&self.raw, &mut eff);
        eff
    }

    fn hypergradient(&self) -> &[f64] {
        &self.hyper
    }

    fn raw_and_hypergradient(&mut self) -> (&mut [f64], &[f64]) {
        (&mut self.raw, &self.hyper)
    }

    fn bind(&mut self, len: usize, _entries: &[Entry]) -> Result<(), String> {
        let s = self.opt.state_len();
        self.len = len;
        self.state = vec![0.0; len * s];
        if s > 0 {
            for row in self.state.chunks_exact_mut(s) {
                self.opt.init_state(row);
            }
        }
        self.jac = vec![0.0; len * self.raw.len()];
        Ok(())
    }

    fn compute_hypergradient(&mut self, grad_below: &[f64]) {
        let k = self.raw.len();
        self.hyper.fill(0.0);
        if k == 0 {
            return;
        }
        for (&gb, row) in grad_below.iter().zip(self.jac.chunks_exact(k)) {
            for (h, &j) in self.hyper.iter_mut().zip(row) {
                *h += gb * j;
            }
        }
    }

    fn update(&mut self, x: &mut [f64], g: &[f64]) {
        let k = self.raw.len();
        let s = self.opt.state_len();
        self.t += 1;
        O::Raw::seed(&self.raw, &mut self.seeded);
        self.eff.clear();
        self.eff.resize(k, DualOf::<O>::zero());
        self.opt.effective(&self.seeded, &mut self.eff);
        self.scratch.clear();
        self.scratch.resize(s, DualOf::<O>::zero());
        let RuleLevel {
            opt,
            len,
            state,
            jac,
            t,
            eff,
            scratch,
            ..
        } = self;
        let rule = opt.update(eff, *t);
        for i in 0..*len {
            let state = &mut state[i * s..(i + 1) * s];
            for (d, &v) in scratch.iter_mut().zip(state.iter()) {
                *d = DualOf::<O>::from_f64(v);
            }
            let y = rule(
                DualOf::<O>::from_f64(x[i]),
                DualOf::<O>::from_f64(g[i]),
                scratch,
            );
            x[i] = y.primal();
            for (v, d) in state.iter_mut().zip(scratch.iter()) {
                *v = d.primal();
            }
            O::Raw::tangent(&y, &mut jac[i * k..(i + 1) * k]);
        }
    }

    fn clone_box(&self) -> Box<dyn Level> {
        Box::new(self.clone())
    }
}

/// The level of [`SgdPerParam`](super::SgdPerParam): one step size per named entry of the level below, each
/// applied with SGD's rule (no momentum) to its entry only; the other entries pass through unchanged.
#[derive(Clone, Debug)]
pub(crate) struct PerParamLevel {
    /// Names of the entries of the level below that have a step size.
    targets: Vec<String>,
    names: Vec<String>,
    raw: Vec<f64>,
    hyper: Vec<f64>,
    /// Range of each target in the vector below (known at bind time).
    ranges: Vec<Range<usize>>,
    /// `∂x'_i/∂α_e` for the entry `e` containing `i`; zero outside every entry.
    jac: Vec<f64>,
    t: u64,
}

impl PerParamLevel {
    pub(crate) fn new(steps: &[(String, f64)]) -> Self {
        PerParamLevel {
            targets: steps.iter().map(|(n, _)| n.clone()).collect(),
            names: steps.iter().map(|(n, _)| format!("{n}_alpha")).collect(),
            raw: steps.iter().map(|&(_, a)| a).collect(),
            hyper: vec![0.0; steps.len()],
            ranges: Vec::new(),
            jac: Vec::new(),
            t: 0,
        }
    }
}

impl Level for PerParamLevel {
    fn name(&self) -> &'static str {
        "SgdPerParam"
    }

    fn names(&self) -> &[String] {
        &self.names
    }

    fn raw(&self) -> &[f64] {
        &self.raw
    }

    fn raw_mut(&mut self) -> &mut [f64] {
        &mut self.raw
    }

    fn effective(&self) -> Vec<f64> {
        self.raw.clone()
    }

    fn hypergradient(&self) -> &[f64] {
        &self.hyper
    }

    fn raw_and_hypergradient(&mut self) -> (&mut [f64], &[f64]) {
        (&mut self.raw, &self.hyper)
    }

    fn bind(&mut self, len: usize, entries: &[Entry]) -> Result<(), String> {
        let mut ranges = Vec::with_capacity(self.targets.len());
        for (i, target) in self.targets.iter().enumerate() {
            if self.targets[..i].contains(target) {
                return Err(format!(
                    "SgdPerParam has two step sizes for `{target}`: give one"
                ));
            }
            match entries.iter().find(|e| &e.name == target) {
                Some(e) => ranges.push(e.range.clone()),
                None => {
                    let known: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
                    return Err(format!(
                        "SgdPerParam has a step size for `{target}`, but the level below has no entry of \
                         that name; its entries are {known:?}"
                    ));
                }
            }
        }
        self.ranges = ranges;
        self.jac = vec![0.0; len];
        Ok(())
    }

    fn compute_hypergradient(&mut self, grad_below: &[f64]) {
        for (h, range) in self.hyper.iter_mut().zip(&self.ranges) {
            *h = grad_below[range.clone()]
                .iter()
                .zip(&self.jac[range.clone()])
                .map(|(&gb, &j)| gb * j)
                .sum();
        }
    }

    fn update(&mut self, x: &mut [f64], g: &[f64]) {
        // SGD's rule, written once in `Sgd::update`; only the step size (h[0]) is passed, as momentum is off.
        let sgd = Sgd::new(0.0);
        self.t += 1;
        for (&alpha, range) in self.raw.iter().zip(&self.ranges) {
            let h = [Dual::<f64, 1>::variable(alpha, 0)];
            let rule = sgd.update(&h, self.t);
            for i in range.clone() {
                let y = rule(Dual::from_f64(x[i]), Dual::from_f64(g[i]), &mut []);
                x[i] = y.primal();
                self.jac[i] = y.eps[0];
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Level> {
        Box::new(self.clone())
    }
}

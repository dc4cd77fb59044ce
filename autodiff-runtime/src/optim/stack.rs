//! The driver: a stack of optimizers and its step.

use std::fmt;
use std::ops::{Div, Range};

use super::error::Error;
use super::level::{Entry, Level, PerParamLevel, RuleLevel};
use super::rule::Optimizer;
use super::sgd::SgdPerParam;
use super::{AdaGrad, Adam, AdamBaydin, RMSProp, RMSPropAlpha, Sgd};

/// A level ready to be put in a [`Stack`]; obtained from [`IntoLevel::into_level`].
#[doc(hidden)]
pub struct BoxedLevel(pub(crate) Box<dyn Level>);

/// What can be a level of a [`Stack`]: every [`Optimizer`], and [`SgdPerParam`].
pub trait IntoLevel {
    /// Wraps `self` as a level.
    #[doc(hidden)]
    fn into_level(self) -> BoxedLevel;
}

impl<O: Optimizer> IntoLevel for O {
    fn into_level(self) -> BoxedLevel {
        BoxedLevel(Box::new(RuleLevel::new(self)))
    }
}

impl IntoLevel for SgdPerParam {
    fn into_level(self) -> BoxedLevel {
        BoxedLevel(Box::new(PerParamLevel::new(self.steps())))
    }
}

/// A stack of optimizers, level 0 (the one that updates the weights) first, and the state of every level.
///
/// Build it like the paper writes it: `Adam::default() / Sgd::new(1e-4) / Sgd::new(1e-4)` is Adam on the
/// weights, an SGD tuning Adam's hyperparameters and an SGD tuning that SGD's step size (`/` puts its right
/// operand on top). Any [`Optimizer`] fits at any level and the height is unbounded; an optimizer of your
/// own starts a stack with [`Stack::new`] and goes on top with `/` or [`Stack::push`].
///
/// Each [`step`](Stack::step) evaluates the loss and its gradient once, computes every level's
/// hypergradient `H_k(t) = ∂L_t/∂θ_k` from the partials of the previous step's updates (zero at step 0),
/// then updates top-down: the top level updates `θ_{n−2}`, …, level 0, with its fresh hyperparameters,
/// updates the weights. The top level's hyperparameters stay constant. Each update treats the old value, its
/// gradient and the carried state as constants; only the updating level's own hyperparameters are live, and
/// the partials with respect to them come from evaluating the update rule with dual numbers.
///
/// ```
/// use autodiff_runtime::optim::{Adam, Sgd};
/// // Least squares in two weights: L = (w0 + 2 w1 − 1)² + (w0 − w1)².
/// let mut stack = Adam::new(0.05, 0.9, 0.999) / Sgd::new(1e-4) / Sgd::new(1e-4);
/// assert_eq!(stack.to_string(), "Adam / SGD / SGD");
/// let mut w = [0.0, 0.0];
/// let mut loss = 0.0;
/// for _ in 0..500 {
///     loss = stack
///         .step(&mut w, |w, g| {
///             let (r1, r2) = (w[0] + 2.0 * w[1] - 1.0, w[0] - w[1]);
///             g[0] = 2.0 * r1 + 2.0 * r2;
///             g[1] = 4.0 * r1 - 2.0 * r2;
///             r1 * r1 + r2 * r2
///         })
///         .unwrap();
/// }
/// assert!(loss < 1e-8, "loss {loss}");
/// // Every level's hyperparameters and last hypergradients are readable.
/// let adam = stack.level(0);
/// assert_eq!(adam.names(), ["alpha", "beta1", "beta2"]);
/// assert_eq!(adam.hypergradient().len(), 3);
/// ```
#[derive(Clone)]
pub struct Stack {
    levels: Vec<Box<dyn Level>>,
    weight_entries: Vec<(String, Range<usize>)>,
    /// Number of weights, fixed by the first step.
    len: Option<usize>,
    steps: u64,
    grad: Vec<f64>,
    failed: Option<Error>,
}

impl Stack {
    /// A stack of height 1: `level0` on the weights, with constant hyperparameters.
    pub fn new(level0: impl IntoLevel) -> Self {
        Stack {
            levels: vec![level0.into_level().0],
            weight_entries: Vec::new(),
            len: None,
            steps: 0,
            grad: Vec::new(),
            failed: None,
        }
    }

    /// Puts `level` on top, tuning the hyperparameters of the current top level.
    ///
    /// # Panics
    /// If the stack has already stepped: its height is fixed from then on.
    pub fn push(mut self, level: impl IntoLevel) -> Self {
        assert!(
            self.len.is_none(),
            "a level cannot be added to a stack that has already stepped"
        );
        self.levels.push(level.into_level().0);
        self
    }

    /// Names parts of the weights, for a [`SgdPerParam`] at level 0 (by default the whole weight vector is
    /// one entry named `"w"`). Ranges must lie within the weights and not overlap (checked at the first
    /// step).
    pub fn with_weight_entries<S: Into<String>>(
        mut self,
        entries: impl IntoIterator<Item = (S, Range<usize>)>,
    ) -> Self {
        self.weight_entries = entries.into_iter().map(|(n, r)| (n.into(), r)).collect();
        self
    }

    /// Number of levels.
    pub fn height(&self) -> usize {
        self.levels.len()
    }

    /// Number of completed steps.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Level `k` (0 updates the weights).
    ///
    /// # Panics
    /// If `k >= self.height()`.
    pub fn level(&self, k: usize) -> LevelView<'_> {
        LevelView {
            index: k,
            level: self.levels[k].as_ref(),
        }
    }

    /// All levels, bottom first.
    pub fn levels(&self) -> impl Iterator<Item = LevelView<'_>> + '_ {
        (0..self.height()).map(move |k| self.level(k))
    }

    /// Overwrites raw hyperparameter `index` of level `level` (for experiments and checks; the state and
    /// recorded partials are kept).
    ///
    /// # Panics
    /// If the level or index does not exist.
    pub fn set_raw(&mut self, level: usize, index: usize, value: f64) {
        self.levels[level].raw_mut()[index] = value;
    }

    /// One step of training: calls `loss_and_gradient(w, grad)` once (with `grad` zeroed; it must write the
    /// gradient of the loss at `w` into `grad` and return the loss), then updates every level top-down and
    /// finally `w`. Returns the loss at the weights before the update.
    ///
    /// # Errors
    /// A non-finite loss, gradient entry, raw hyperparameter or weight (see [`Error`]), or a configuration
    /// that does not fit the weights (checked at the first step). After an error the stack returns the same
    /// error from every later call.
    pub fn step<F>(&mut self, w: &mut [f64], mut loss_and_gradient: F) -> Result<f64, Error>
    where
        F: FnMut(&[f64], &mut [f64]) -> f64,
    {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.try_step(w, &mut loss_and_gradient);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    fn try_step(
        &mut self,
        w: &mut [f64],
        loss_and_gradient: &mut dyn FnMut(&[f64], &mut [f64]) -> f64,
    ) -> Result<f64, Error> {
        self.bind(w.len())?;
        let step = self.steps;
        self.grad.fill(0.0);
        let loss = loss_and_gradient(w, &mut self.grad);
        if !loss.is_finite() {
            return Err(Error::NonFiniteLoss { step, loss });
        }
        if let Some((index, &value)) = self.grad.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteGradient { step, index, value });
        }

        // Hypergradients, bottom-up: H_{-1} = g, H_k = Σ_j H_{k-1,j} ∂θ_{k-1,j}/∂θ_k.
        let n = self.levels.len();
        self.levels[0].compute_hypergradient(&self.grad);
        for k in 1..n {
            let (below, rest) = self.levels.split_at_mut(k);
            rest[0].compute_hypergradient(below[k - 1].hypergradient());
        }

        // Updates, top-down: level k updates θ_{k-1} with its own (fresh) θ_k.
        for k in (1..n).rev() {
            let (below, rest) = self.levels.split_at_mut(k);
            let target = &mut below[k - 1];
            let (theta, h) = target.raw_and_hypergradient();
            rest[0].update(theta, h);
            if let Some((j, &value)) = target
                .raw()
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(Error::NonFiniteHyperparameter {
                    step,
                    level: k - 1,
                    optimizer: target.name(),
                    name: target.names()[j].clone(),
                    value,
                });
            }
        }
        self.levels[0].update(w, &self.grad);
        if let Some((index, &value)) = w.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteWeight { step, index, value });
        }
        self.steps += 1;
        Ok(loss)
    }

    /// Fixes the number of weights at the first step and prepares every level's state.
    fn bind(&mut self, len: usize) -> Result<(), Error> {
        if let Some(bound) = self.len {
            if bound == len {
                return Ok(());
            }
            return Err(Error::Config {
                level: 0,
                message: format!(
                    "the stack was first stepped with {bound} weights, now with {len}: use one stack per \
                     weight vector"
                ),
            });
        }
        let mut entries: Vec<Entry> = if self.weight_entries.is_empty() {
            vec![Entry {
                name: "w".to_string(),
                range: 0..len,
            }]
        } else {
            self.weight_entries
                .iter()
                .map(|(name, range)| Entry {
                    name: name.clone(),
                    range: range.clone(),
                })
                .collect()
        };
        check_entries(&entries, len)?;
        let mut size = len;
        for (k, level) in self.levels.iter_mut().enumerate() {
            if let Some((j, &value)) = level.raw().iter().enumerate().find(|(_, v)| !v.is_finite())
            {
                return Err(Error::Config {
                    level: k,
                    message: format!(
                        "raw hyperparameter `{}` of {} is {value}: check the constructor's arguments \
                         (squashed values must lie strictly between 0 and 1)",
                        level.names()[j],
                        level.name()
                    ),
                });
            }
            level
                .bind(size, &entries)
                .map_err(|message| Error::Config { level: k, message })?;
            size = level.raw().len();
            entries = level
                .names()
                .iter()
                .enumerate()
                .map(|(j, name)| Entry {
                    name: name.clone(),
                    range: j..j + 1,
                })
                .collect();
        }
        self.grad = vec![0.0; len];
        self.len = Some(len);
        Ok(())
    }
}

fn check_entries(entries: &[Entry], len: usize) -> Result<(), Error> {
    for (i, e) in entries.iter().enumerate() {
        let overlaps = |o: &&Entry| {
            o.name == e.name || (o.range.start < e.range.end && e.range.start < o.range.end)
        };
        let message = if e.range.start > e.range.end || e.range.end > len {
            format!(
                "weight entry `{}` = {:?} lies outside the {len} weights",
                e.name, e.range
            )
        } else if let Some(o) = entries[..i].iter().find(overlaps) {
            format!(
                "weight entries `{}` and `{}` overlap or share a name",
                o.name, e.name
            )
        } else {
            continue;
        };
        return Err(Error::Config { level: 0, message });
    }
    Ok(())
}

impl fmt::Display for Stack {
    /// The paper's notation, level 0 first: `Adam / SGD / SGD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, level) in self.levels.iter().enumerate() {
            if k > 0 {
                f.write_str(" / ")?;
            }
            f.write_str(level.name())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack")
            .field("levels", &self.levels)
            .field("steps", &self.steps)
            .field("failed", &self.failed)
            .finish()
    }
}

/// Read access to one level of a [`Stack`], for logs and plots.
#[derive(Clone, Copy)]
pub struct LevelView<'a> {
    index: usize,
    level: &'a dyn Level,
}

impl<'a> LevelView<'a> {
    /// Position in the stack (0 updates the weights).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The optimizer's name (`"SGD"`).
    pub fn name(&self) -> &'static str {
        self.level.name()
    }

    /// Names of the hyperparameters (`["alpha", "mu"]`).
    pub fn names(&self) -> &'a [String] {
        self.level.names()
    }

    /// Raw hyperparameters: what the level above updates.
    pub fn raw(&self) -> &'a [f64] {
        self.level.raw()
    }

    /// Effective hyperparameters: what the update rule uses (Adam's `β1 = (tanh u1 + 1)/2`, RMSProp's
    /// `α = ρ²`), in the order of [`names`](LevelView::names).
    pub fn effective(&self) -> Vec<f64> {
        self.level.effective()
    }

    /// The effective value of the hyperparameter named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        let j = self.names().iter().position(|n| n == name)?;
        Some(self.effective()[j])
    }

    /// Hypergradients `H_k(t) = ∂L_t/∂θ_k` of the last step, with respect to the raw hyperparameters (for
    /// the top level they are computed and reported but not used).
    pub fn hypergradient(&self) -> &'a [f64] {
        self.level.hypergradient()
    }
}

impl fmt::Debug for LevelView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LevelView")
            .field("index", &self.index)
            .field("name", &self.name())
            .field("names", &self.names())
            .field("effective", &self.effective())
            .field("hypergradient", &self.hypergradient())
            .finish()
    }
}

impl<R: IntoLevel> Div<R> for Stack {
    type Output = Stack;

    /// `stack / level` puts `level` on top of `stack`.
    fn div(self, level: R) -> Stack {
        self.push(level)
    }
}

macro_rules! stacking {
    ($($t:ty),*) => {$(
        impl<R: IntoLevel> Div<R> for $t {
            type Output = Stack;

            /// `a / b` is the stack with `a` on the weights and `b` tuning `a`.
            fn div(self, level: R) -> Stack {
                Stack::new(self).push(level)
            }
        }
    )*};
}

stacking!(
    Sgd,
    SgdPerParam,
    AdaGrad,
    RMSProp,
    RMSPropAlpha,
    Adam,
    AdamBaydin
);

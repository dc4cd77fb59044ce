//! The error value of a failed step.

use std::fmt;

/// Why [`Stack::step`](super::Stack::step) failed.
///
/// Divergence is never hidden: a non-finite loss, gradient, hyperparameter or weight stops the step and is
/// reported with the step number (counting from 0) and, for a hyperparameter, the level that owns it. A stack
/// that has failed keeps returning the same error: its state is no longer meaningful.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// The loss returned by the user's function is NaN or infinite. Nothing was updated in this step.
    NonFiniteLoss {
        /// Step at which the loss was evaluated.
        step: u64,
        /// The loss value.
        loss: f64,
    },
    /// An entry of the gradient written by the user's function is NaN or infinite. Nothing was updated.
    NonFiniteGradient {
        /// Step at which the gradient was evaluated.
        step: u64,
        /// Index into the weights.
        index: usize,
        /// The gradient entry.
        value: f64,
    },
    /// A raw hyperparameter of `level` became NaN or infinite when level `level + 1` updated it.
    NonFiniteHyperparameter {
        /// Step whose update produced the value.
        step: u64,
        /// Level that owns the hyperparameter (0 = the optimizer of the weights).
        level: usize,
        /// Name of that level's optimizer (`"SGD"`, `"Adam"`, …).
        optimizer: &'static str,
        /// Name of the hyperparameter (`"alpha"`, …).
        name: String,
        /// The raw value.
        value: f64,
    },
    /// A weight became NaN or infinite in the update of level 0.
    NonFiniteWeight {
        /// Step whose update produced the value.
        step: u64,
        /// Index into the weights.
        index: usize,
        /// The weight.
        value: f64,
    },
    /// The stack does not fit the weights or the level below (detected before any update).
    Config {
        /// Level whose configuration is wrong.
        level: usize,
        /// What is wrong, and what to do instead.
        message: String,
    },
}

impl Error {
    /// The step at which the error occurred, when it occurred in a step rather than in configuration.
    pub fn step(&self) -> Option<u64> {
        match *self {
            Error::NonFiniteLoss { step, .. }
            | Error::NonFiniteGradient { step, .. }
            | Error::NonFiniteHyperparameter { step, .. }
            | Error::NonFiniteWeight { step, .. } => Some(step),
            Error::Config { .. } => None,
        }
    }

    /// The level concerned, if any (a loss or gradient error belongs to no level).
    pub fn level(&self) -> Option<usize> {
        match *self {
            Error::NonFiniteHyperparameter { level, .. } | Error::Config { level, .. } => {
                Some(level)
            }
            Error::NonFiniteWeight { .. } => Some(0),
            Error::NonFiniteLoss { .. } | Error::NonFiniteGradient { .. } => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NonFiniteLoss { step, loss } => write!(f, "step {step}: the loss is {loss}"),
            Error::NonFiniteGradient { step, index, value } => {
                write!(f, "step {step}: gradient entry {index} is {value}")
            }
            Error::NonFiniteHyperparameter {
                step,
                level,
                optimizer,
                name,
                value,
            } => write!(
                f,
                "step {step}: hyperparameter `{name}` of level {level} ({optimizer}) diverged to {value}"
            ),
            Error::NonFiniteWeight { step, index, value } => {
                write!(f, "step {step}: weight {index} diverged to {value} in the update of level 0")
            }
            Error::Config { level, message } => write!(f, "level {level}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

//! The MLP on the digits data with a train/test split, trained with SGD, SGD/SGD, Adam, Adam/SGD and
//! AdamBaydin/SGD (Adam tuning its step size only): test accuracy and learned hyperparameters, as in the
//! paper's tables.
//!
//!     cargo run --release --example digits

#[allow(dead_code)]
mod common;

use std::time::Instant;

use autodiff::optim::{Adam, AdamBaydin, Sgd, Stack};
use common::{accuracy, minibatches, mlp_loss, mlp_loss_grad, Digits, Mlp};

const HIDDEN: usize = 64;
const BATCH: usize = 64;
const EPOCHS: u64 = 30;

fn main() {
    let digits = Digits::load(0.2, 7);
    let mlp = Mlp { hidden: HIDDEN };
    println!(
        "MLP 64-{HIDDEN}-10 ({} weights) on digits: {} train / {} test images, minibatches of {BATCH}, \
         {EPOCHS} epochs, same initial weights for every optimizer\n",
        mlp.len(),
        digits.y_train.len(),
        digits.y_test.len()
    );
    let stacks: Vec<Stack> = vec![
        Stack::new(Sgd::new(0.01)),
        Sgd::new(0.01) / Sgd::new(0.01),
        Stack::new(Adam::new(1e-3, 0.9, 0.999)),
        Adam::new(1e-3, 0.9, 0.999) / Sgd::new(1e-3),
        AdamBaydin::new(1e-3, 0.9, 0.999) / Sgd::new(1e-3),
    ];
    println!(
        "{:<19} {:>10} {:>10}  learned hyperparameters (effective values; level 0, then level 1)",
        "optimizer", "test acc.", "train loss"
    );
    for mut stack in stacks {
        let started = Instant::now();
        let mut w = mlp.init(42);
        let mut outcome = Ok(());
        'training: for epoch in 0..EPOCHS {
            for batch in minibatches(digits.y_train.len(), BATCH, 1000 + epoch) {
                let (x, y) = digits.batch(&batch);
                if let Err(e) = stack.step(&mut w, |w, g| mlp_loss_grad(w, g, &x, &y, HIDDEN)) {
                    outcome = Err(e);
                    break 'training;
                }
            }
        }
        let label = stack.to_string();
        if let Err(e) = outcome {
            println!("{label:<19} diverged: {e}");
            continue;
        }
        let acc = accuracy(&w, &digits.x_test, &digits.y_test, HIDDEN);
        let loss = mlp_loss(&w, &digits.x_train, &digits.y_train, HIDDEN);
        let hyper: Vec<String> = stack
            .levels()
            .map(|level| {
                let values: Vec<String> = level
                    .names()
                    .iter()
                    .zip(level.effective())
                    .filter(|(n, _)| n.as_str() != "mu")
                    .map(|(n, v)| format!("{n} = {v:.5}"))
                    .collect();
                values.join(", ")
            })
            .collect();
        println!(
            "{label:<19} {:>9.2}% {loss:>10.4}  {}  ({:.1} s)",
            100.0 * acc,
            hyper.join(" | "),
            started.elapsed().as_secs_f64()
        );
    }
}

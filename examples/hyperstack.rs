//! The paper's robustness experiment: an MLP on the digits data trained with SGD stacks of height 1 to 4,
//! every level starting at the same step size α0, over a log grid from 1e-7 to 1e1. Taller stacks should
//! depend less on α0.
//!
//! Prints a table of final training loss and test accuracy per height and α0, and writes the plot
//! `target/plots/hyperstack.svg`.
//!
//!     cargo run --release --example hyperstack

#[allow(dead_code)]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use autodiff::optim::{Error, Sgd, Stack};
use common::{accuracy, minibatches, mlp_loss, mlp_loss_grad, Digits, Mlp};
use plotters::prelude::*;

const HIDDEN: usize = 32;
const BATCH: usize = 64;
const EPOCHS: u64 = 100;
const HEIGHTS: [usize; 4] = [1, 2, 3, 4];
const ALPHA_EXPONENTS: std::ops::RangeInclusive<i32> = -7..=1;

struct Run {
    height: usize,
    alpha0: f64,
    result: Result<Trained, Error>,
    seconds: f64,
}

struct Trained {
    train_loss: f64,
    test_accuracy: f64,
    /// Level 0's step size at the end.
    alpha: f64,
}

fn sgd_stack(height: usize, alpha0: f64) -> Stack {
    (1..height).fold(Stack::new(Sgd::new(alpha0)), |s, _| s / Sgd::new(alpha0))
}

fn train(digits: &Digits, height: usize, alpha0: f64) -> Result<Trained, Error> {
    let mlp = Mlp { hidden: HIDDEN };
    let mut w = mlp.init(42);
    let mut stack = sgd_stack(height, alpha0);
    for epoch in 0..EPOCHS {
        for batch in minibatches(digits.y_train.len(), BATCH, 1000 + epoch) {
            let (x, y) = digits.batch(&batch);
            stack.step(&mut w, |w, g| mlp_loss_grad(w, g, &x, &y, HIDDEN))?;
        }
    }
    Ok(Trained {
        train_loss: mlp_loss(&w, &digits.x_train, &digits.y_train, HIDDEN),
        test_accuracy: accuracy(&w, &digits.x_test, &digits.y_test, HIDDEN),
        alpha: stack.level(0).effective()[0],
    })
}

fn main() {
    let digits = Digits::load(0.2, 7);
    let alphas: Vec<f64> = ALPHA_EXPONENTS.map(|e| 10f64.powi(e)).collect();
    let jobs: Vec<(usize, f64)> = HEIGHTS
        .iter()
        .flat_map(|&h| alphas.iter().map(move |&a| (h, a)))
        .collect();
    println!(
        "MLP 64-{HIDDEN}-10 on digits ({} train / {} test), minibatches of {BATCH}, {EPOCHS} epochs; \
         SGD stacks with every level at α0",
        digits.y_train.len(),
        digits.y_test.len()
    );
    // Two workers share the runs.
    let next = AtomicUsize::new(0);
    let runs = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(height, alpha0)) = jobs.get(i) else {
                    break;
                };
                let t = Instant::now();
                let result = train(&digits, height, alpha0);
                let run = Run {
                    height,
                    alpha0,
                    result,
                    seconds: t.elapsed().as_secs_f64(),
                };
                let mut runs = runs.lock().unwrap();
                runs.push(run);
                let run = runs.last().unwrap();
                let outcome = match &run.result {
                    Ok(r) => format!(
                        "train loss {:.4}, test accuracy {:5.1}%, final α {:.3e}",
                        r.train_loss,
                        100.0 * r.test_accuracy,
                        r.alpha
                    ),
                    Err(e) => format!("diverged: {e}"),
                };
                println!(
                    "[{:2}/{}] height {}, α0 = {:.0e}: {outcome} ({:.1} s)",
                    runs.len(),
                    jobs.len(),
                    run.height,
                    run.alpha0,
                    run.seconds
                );
            });
        }
    });
    let mut runs = runs.into_inner().unwrap();
    runs.sort_by(|a, b| {
        (a.height, a.alpha0)
            .partial_cmp(&(b.height, b.alpha0))
            .unwrap()
    });
    println!("\nAll runs in {:.1} s.", started.elapsed().as_secs_f64());
    print_table(&runs, &alphas);
    match plot(&runs) {
        Ok(path) => println!("\nPlot written to {path}"),
        Err(e) => eprintln!("\nno plot: {e}"),
    }
}

fn print_table(runs: &[Run], alphas: &[f64]) {
    println!("\nFinal training loss / test accuracy (— = diverged):\n");
    print!("{:>8}", "α0");
    for h in HEIGHTS {
        print!(" | {:^17}", format!("height {h}"));
    }
    println!();
    println!("{}", "-".repeat(8 + HEIGHTS.len() * 20));
    for &a in alphas {
        print!("{a:>8.0e}");
        for h in HEIGHTS {
            let run = runs
                .iter()
                .find(|r| r.height == h && r.alpha0 == a)
                .unwrap();
            match &run.result {
                Ok(r) => print!(
                    " | {} / {:5.1}%",
                    short(r.train_loss),
                    100.0 * r.test_accuracy
                ),
                Err(e) => print!(" | {:^17}", format!("— (step {})", e.step().unwrap_or(0))),
            }
        }
        println!();
    }
}

/// A loss in 8 characters.
fn short(v: f64) -> String {
    if v < 1000.0 {
        format!("{v:8.4}")
    } else {
        format!("{v:8.1e}")
    }
}

/// Test error against α0, one line per height; diverged runs are left out.
fn plot(runs: &[Run]) -> Result<String, Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plots");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("hyperstack.svg");
    let root = SVGBackend::new(&path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "SGD stacks on the digits MLP: test error vs initial step size",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((1e-7f64..1e1f64).log_scale(), 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("α0 (every level of the stack)")
        .y_desc("test error")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    // Heights 3 and 4 nearly coincide: height 3 is drawn wide underneath.
    let styles = [(BLUE, 2), (RED, 2), (GREEN, 6), (MAGENTA, 2)];
    for (&h, &(color, width)) in HEIGHTS.iter().zip(&styles) {
        let points: Vec<(f64, f64)> = runs
            .iter()
            .filter(|r| r.height == h)
            .filter_map(|r| {
                r.result
                    .as_ref()
                    .ok()
                    .map(|t| (r.alpha0, 1.0 - t.test_accuracy))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(width)))?
            .label(format!("height {h}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(path.display().to_string())
}

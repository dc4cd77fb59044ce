//! Fourier and Padé approximants fitted by gradient descent to `f(x) = tanh(4x) + 0.3·x²` on [−1, 1],
//! each with a plain optimizer and with the same optimizer hyper-stacked. Gradients come from dual numbers
//! (`Dual<f64, N>`, one tangent slot per coefficient).
//!
//! Prints the mean squared error along the way and the learned hyperparameters, and writes the final fits
//! to `target/plots/curve_fit.svg`.
//!
//!     cargo run --release --example curve_fit

use std::f64::consts::PI;

use autodiff::optim::{Adam, Error, Sgd, Stack};
use autodiff::{Dual, Real};
use plotters::prelude::*;

/// Harmonics of the Fourier series: `c0 + Σ_k c_{2k−1} cos(kπx) + c_{2k} sin(kπx)`.
const HARMONICS: usize = 5;
const FOURIER: usize = 2 * HARMONICS + 1;
/// Padé [4/4]: `(p0 + p1 x + … + p4 x⁴) / (1 + q1 x + … + q4 x⁴)`.
const PADE: usize = 9;
const STEPS: usize = 3000;

fn target(x: f64) -> f64 {
    (4.0 * x).tanh() + 0.3 * x * x
}

fn fourier<T: Real>(c: &[T], x: f64) -> T {
    let mut y = c[0];
    for k in 1..=HARMONICS {
        let phase = k as f64 * PI * x;
        y = y + c[2 * k - 1] * T::from_f64(phase.cos()) + c[2 * k] * T::from_f64(phase.sin());
    }
    y
}

fn pade<T: Real>(c: &[T], x: f64) -> T {
    let x = T::from_f64(x);
    let (p, q) = c.split_at(5);
    let num = p.iter().rev().fold(T::zero(), |acc, &pk| acc * x + pk);
    let den = q.iter().rev().fold(T::zero(), |acc, &qk| acc * x + qk) * x + T::one();
    num / den
}

/// Mean squared error of `model` with coefficients `c` on the sample points.
fn mse<T: Real>(model: fn(&[T], f64) -> T, c: &[T], xs: &[f64]) -> T {
    let n = T::from_f64(xs.len() as f64);
    xs.iter()
        .map(|&x| {
            let e = model(c, x) - T::from_f64(target(x));
            e * e
        })
        .sum::<T>()
        / n
}

/// Steps after which the mean squared error is printed.
const CHECKPOINTS: [usize; 5] = [30, 100, 300, 1000, STEPS];

/// Trains coefficients (starting at 0) with `stack`; gradients by forward mode with N tangent slots.
/// Returns the mean squared error at each checkpoint (or the error that stopped training) and the fit.
fn fit<const N: usize>(
    model: fn(&[Dual<f64, N>], f64) -> Dual<f64, N>,
    stack: &mut Stack,
    xs: &[f64],
) -> (Result<Vec<f64>, Error>, Vec<f64>) {
    let mut w = vec![0.0; N];
    let mut errors = Vec::new();
    for step in 1..=STEPS {
        let loss = stack.step(&mut w, |w, g| {
            let c = Dual::seed(<[f64; N]>::try_from(w).unwrap());
            let l = mse(model, &c, xs);
            g.copy_from_slice(&l.eps);
            l.re
        });
        if let Err(e) = loss {
            return (Err(e), w);
        }
        if CHECKPOINTS.contains(&step) {
            // The loss after `step` updates (the step returned the loss before its update).
            let c = Dual::seed(<[f64; N]>::try_from(w.as_slice()).unwrap());
            errors.push(mse(model, &c, xs).re);
        }
    }
    (Ok(errors), w)
}

struct Fit {
    family: &'static str,
    label: String,
    errors: Result<Vec<f64>, Error>,
    coefficients: Vec<f64>,
    model: fn(&[f64], f64) -> f64,
}

fn main() {
    let xs: Vec<f64> = (0..101).map(|i| -1.0 + 2.0 * i as f64 / 100.0).collect();
    let mut fits = Vec::new();
    println!(
        "Mean squared error on 101 points after n steps, and the learned level-0 hyperparameters\n"
    );
    print!("{:<11} {:<16}", "approximant", "stack");
    for n in CHECKPOINTS {
        print!(" {:>10}", format!("n = {n}"));
    }
    println!("  hyperparameters at the end");
    let runs: [(&'static str, Stack); 4] = [
        ("Fourier", Stack::new(Sgd::new(0.005))),
        ("Fourier", Sgd::new(0.005) / Sgd::new(0.01) / Sgd::new(0.01)),
        ("Padé [4/4]", Stack::new(Adam::new(1e-3, 0.9, 0.999))),
        ("Padé [4/4]", Adam::new(1e-3, 0.9, 0.999) / Sgd::new(1e-4)),
    ];
    for (family, mut stack) in runs {
        let label = stack.to_string();
        let (errors, coefficients, model): (_, _, fn(&[f64], f64) -> f64) = if family == "Fourier" {
            let (e, c) = fit::<FOURIER>(fourier, &mut stack, &xs);
            (e, c, fourier::<f64>)
        } else {
            let (e, c) = fit::<PADE>(pade, &mut stack, &xs);
            (e, c, pade::<f64>)
        };
        print!("{family:<11} {label:<16}");
        match &errors {
            Ok(errors) => {
                for e in errors {
                    print!(" {e:>10.3e}");
                }
                let level = stack.level(0);
                let hyper: Vec<String> = level
                    .names()
                    .iter()
                    .zip(level.effective())
                    .filter(|(n, _)| n.as_str() != "mu")
                    .map(|(n, v)| format!("{n} = {v:.6}"))
                    .collect();
                println!("  {}", hyper.join(", "));
            }
            Err(e) => println!(" diverged: {e}"),
        }
        fits.push(Fit {
            family,
            label,
            errors,
            coefficients,
            model,
        });
    }
    match plot(&fits) {
        Ok(path) => println!("\nPlot of the final fits written to {path}"),
        Err(e) => eprintln!("\nno plot: {e}"),
    }
}

fn plot(fits: &[Fit]) -> Result<String, Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plots");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("curve_fit.svg");
    let root = SVGBackend::new(&path, (1100, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    for (panel, family) in panels.iter().zip(["Fourier", "Padé [4/4]"]) {
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{family} fit of tanh(4x) + 0.3x²"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(-1f64..1f64, -1.3f64..1.6f64)?;
        chart.configure_mesh().x_desc("x").draw()?;
        let grid: Vec<f64> = (0..=400).map(|i| -1.0 + i as f64 / 200.0).collect();
        chart
            .draw_series(LineSeries::new(
                grid.iter().map(|&x| (x, target(x))),
                BLACK.stroke_width(3),
            ))?
            .label("target")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(3)));
        for (fit, color) in fits.iter().filter(|f| f.family == family).zip([RED, BLUE]) {
            if fit.errors.is_err() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(
                    grid.iter().map(|&x| (x, (fit.model)(&fit.coefficients, x))),
                    color.stroke_width(2),
                ))?
                .label(fit.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    root.present()?;
    Ok(path.display().to_string())
}

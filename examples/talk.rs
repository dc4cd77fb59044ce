//! The talk, in two parts.
//!
//! **Part 1, the walk-through of automatic differentiation**, on code `#[differentiate]` turns into
//! derivatives at compile time: `f(x) = 3x² + 4` and its derivative `6x` (forward and reverse mode),
//! `x·y` with partials `[5, 3]` at `(3, 5)` and its backpropagator, and the linear model `a·x` fitted by
//! gradient descent. See the generated code with `cargo expand --example talk` (cargo-expand).
//!
//! **Part 2, hyper-stacked gradient descent as the talk writes it**, side by side with the driver.
//!
//! The model is `a·x`, the loss the mean of `(a·x_i − y_i)²`. The talk keeps the weight `a`, its step size `η`
//! and η's step size `κ` as dual numbers with one tangent slot each — here one `Dual<f64, 3>` per value,
//! slots (κ, η, a) — re-seeded every step. Evaluating the loss on the dual weight yields ∂L/∂κ, ∂L/∂η and
//! ∂L/∂a at once, and they drive the next step's updates:
//!
//! ```text
//! κ ← κ − c·∂L/∂κ        (c is constant)
//! η ← η − κ·∂L/∂η        (with the fresh κ)
//! a ← a − η·∂L/∂a        (with the fresh η)
//! ```
//!
//! The same run through the driver is the stack `SGD(η) / SGD(κ) / SGD(c)`; the two agree to rounding.
//!
//!     cargo run --release --example talk

use autodiff::differentiate;
use autodiff::optim::{Sgd, Stack};
use autodiff::{Dual, Real};

/// The talk's first example: f(x) = 3x² + 4, whose derivative is 6x.
#[differentiate]
fn f(x: f64) -> f64 {
    3.0 * x * x + 4.0
}

/// Two inputs: the partial derivatives of x·y at (3, 5) are [5, 3].
#[differentiate]
fn mul(x: f64, y: f64) -> f64 {
    x * y
}

/// The squared error of the linear model a·x on one sample.
#[differentiate]
fn squared_error(a: f64, #[constant] x: f64, #[constant] y: f64) -> f64 {
    let e = a * x - y;
    e * e
}

/// `mean_i (a·x_i − y_i)²`, generic so the same code runs on `f64` and on dual numbers.
fn loss<T: Real>(a: T, xs: &[f64], ys: &[f64]) -> T {
    let n = T::from_f64(xs.len() as f64);
    xs.iter()
        .zip(ys)
        .map(|(&x, &y)| {
            let e = a * T::from_f64(x) - T::from_f64(y);
            e * e
        })
        .sum::<T>()
        / n
}

fn main() {
    walkthrough();
    println!();
    hyperstep();
}

/// Part 1: the walk-through.
fn walkthrough() {
    println!("f(x) = 3x² + 4");
    for x in [0.0, 1.0, 2.5] {
        let (value, [slope]) = f_grad(x);
        let (_, tangent) = f_jvp(x, 1.0);
        println!(
            "  x = {x:4}: f = {value:7.3}, f' by reverse mode = {slope:6.3}, by forward mode = \
             {tangent:6.3}, 6x = {:6.3}",
            6.0 * x
        );
    }

    let (value, partials) = mul_grad(3.0, 5.0);
    println!("\nx·y at (3, 5) = {value}, partials {partials:?}");
    let (_, back) = mul_vjp(3.0, 5.0);
    println!(
        "  the backpropagator maps a sensitivity of 2 to {:?} (without re-running x·y)",
        back(2.0)
    );

    // Fit y = a·x by gradient descent on data generated with a = 2.
    let data: Vec<(f64, f64)> = (1..=8)
        .map(|i| (i as f64 / 4.0, 2.0 * i as f64 / 4.0))
        .collect();
    let mut a = 0.0;
    let rate = 0.05;
    println!("\nfitting y = a·x to data made with a = 2 (learning rate {rate}):");
    for step in 0..=40 {
        let mut loss = 0.0;
        let mut grad = 0.0;
        for &(x, y) in &data {
            let (l, [g]) = squared_error_grad(a, x, y);
            loss += l / data.len() as f64;
            grad += g / data.len() as f64;
        }
        if step % 10 == 0 {
            println!("  step {step:2}: a = {a:.6}, loss = {loss:.3e}");
        }
        a -= rate * grad;
    }
}

/// Part 2: κ, η and a as dual numbers, next to the stack SGD(η) / SGD(κ) / SGD(c).
fn hyperstep() {
    // 32 points on y = 2.5·x plus a little deterministic noise.
    let xs: Vec<f64> = (0..32).map(|i| (i as f64 + 0.5) / 32.0).collect();
    let ys: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| 2.5 * x + 0.05 * (1.7 * i as f64).sin())
        .collect();
    let (c, kappa0, eta0, a0) = (1e-3, 1e-3, 0.01, 0.0);
    let steps = 60;

    // The talk's program.
    let (mut kappa, mut eta, mut a) = (kappa0, eta0, a0);
    // At step 0 nothing has been updated yet: only the weight's slot is seeded, so ∂L/∂κ = ∂L/∂η = 0.
    let mut l = loss(Dual::<f64, 3>::variable(a, 2), &xs, &ys);
    let mut talk = Vec::new();
    for _ in 0..steps {
        let (dk, de, da) = (l.eps[0], l.eps[1], l.eps[2]);
        let loss_t = l.re;
        let k = Dual::<f64, 3>::variable(kappa, 0) - c * dk;
        let e = Dual::variable(eta, 1) - k * de;
        let a_new = Dual::variable(a, 2) - e * da;
        (kappa, eta, a) = (k.re, e.re, a_new.re);
        l = loss(a_new, &xs, &ys);
        talk.push([loss_t, a, eta, kappa]);
    }

    // The driver.
    let mut stack: Stack = Sgd::new(eta0) / Sgd::new(kappa0) / Sgd::new(c);
    let mut w = [a0];
    let mut driver = Vec::new();
    for _ in 0..steps {
        let loss_t = stack
            .step(&mut w, |w, g| {
                let d = loss(Dual::<f64, 1>::variable(w[0], 0), &xs, &ys);
                g[0] = d.eps[0];
                d.re
            })
            .expect("this run does not diverge");
        driver.push([
            loss_t,
            w[0],
            stack.level(0).raw()[0],
            stack.level(1).raw()[0],
        ]);
    }

    println!("{stack}: the talk's dual program (left) and the driver (right)\n");
    println!(
        "{:>4} | {:>22} {:>22} | {:>22} {:>22} | {:>22} {:>22}",
        "step", "a (talk)", "a (driver)", "η (talk)", "η (driver)", "κ (talk)", "κ (driver)"
    );
    let mut max_rel: f64 = 0.0;
    for (t, (p, q)) in talk.iter().zip(&driver).enumerate() {
        for (u, v) in p.iter().zip(q) {
            max_rel = max_rel.max((u - v).abs() / u.abs().max(v.abs()).max(f64::MIN_POSITIVE));
        }
        if t < 5 || t % 10 == 9 {
            println!(
                "{t:>4} | {:>22.16e} {:>22.16e} | {:>22.16e} {:>22.16e} | {:>22.16e} {:>22.16e}",
                p[1], q[1], p[2], q[2], p[3], q[3]
            );
        }
    }
    let last = talk.last().unwrap();
    println!(
        "\nafter {steps} steps: loss {:.3e} (from {:.3e}), η grew from {eta0} to {:.4}, κ from {kappa0} to {:.4}",
        last[0], talk[0][0], last[2], last[3]
    );
    println!("max relative difference over all steps (loss, a, η, κ): {max_rel:.2e}");
}

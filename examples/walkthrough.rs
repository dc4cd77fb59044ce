//! The talk's walk-through of automatic differentiation, on code the macro differentiates.
//!
//! Run with `cargo run --release --example walkthrough`; see the generated code with
//! `cargo expand --example walkthrough` (cargo-expand).

use autodiff::differentiate;

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

fn main() {
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

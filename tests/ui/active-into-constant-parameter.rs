use autodiff::differentiate;

#[differentiate]
fn scaled(x: f64, #[constant] k: f64) -> f64 {
    k * x
}

#[differentiate]
fn f(x: f64) -> f64 {
    scaled(2.0, x)
}

fn main() {}

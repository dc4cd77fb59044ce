use autodiff::differentiate;

#[differentiate]
fn f(x: f64, #[constant] n: usize) -> f64 {
    x * n as f64
}

fn main() {}

use autodiff::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    match x {
        _ => x * 2.0,
    }
}

#[differentiate]
fn g(x: f64, k: usize) -> f64 {
    match (k, x) {
        (0, _) => x,
        _ => x * 2.0,
    }
}

fn main() {}

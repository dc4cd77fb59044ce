use autodiff::differentiate;

#[differentiate]
fn f(w: &[f64]) -> f64 {
    let a = *w.first().unwrap();
    let b = *w.last().unwrap();
    let squares: Vec<f64> = (0..w.len()).map(|i| w[i] * w[i]).collect();
    a * b + squares[0]
}

fn main() {}

use autodiff::differentiate;

#[differentiate]
fn f(w: &[f64]) -> f64 {
    let a = *w.first().unwrap();
    let b = *w.last().unwrap();
    let squares: Vec<f64> = w.iter().map(|x| x * x).collect();
    a * b + squares[0]
}

fn main() {}

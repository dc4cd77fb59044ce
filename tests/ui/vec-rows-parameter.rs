use autodiff::differentiate;

#[differentiate]
fn rows(w: &[Vec<f64>]) -> f64 {
    w[0][0] * w[1][0]
}

fn main() {}

use autodiff::differentiate;

#[differentiate]
fn first(v: Vec<f64>, x: f64) -> f64 {
    v[0] * x
}

fn main() {}

use autodiff::differentiate;

type Scalar = f64;

#[differentiate]
fn g(x: Scalar, y: f64) -> f64 {
    x * y + x.sin()
}

fn main() {}

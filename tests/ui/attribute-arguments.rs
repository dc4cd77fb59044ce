use autodiff::differentiate;

#[differentiate(reverse)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}

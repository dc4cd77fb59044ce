use autodiff::differentiate;

fn helper(v: &f64) -> f64 {
    v * 2.0
}

#[differentiate]
fn f(x: f64) -> f64 {
    x * helper(&x)
}

fn main() {}

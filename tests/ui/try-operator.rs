use autodiff::differentiate;

#[differentiate]
fn f(x: f64, n: Result<i32, ()>) -> f64 {
    let k = n?;
    x.powi(k)
}

fn main() {}

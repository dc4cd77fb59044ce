use autodiff::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let g = |t: f64| t;
    let (a, b) = (x, x);
    let k = x as i32;
    x.sin_cos().0 + g(a) + b + k as f64
}

fn main() {}

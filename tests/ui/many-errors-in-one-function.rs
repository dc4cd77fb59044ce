use autodiff::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let g = |t: f64| {
        if t > 0.0 {
            return t;
        }
        0.0
    };
    let (a, b) = (x, x);
    let k = x as i32;
    x.sin_cos().0 + g(a) + b + k as f64
}

fn main() {}

use autodiff::differentiate;

// An integer cast keeps the value (`(x / h).floor() as usize`); a cast to `f32` would drop
// precision and the derivative with it.
#[differentiate]
fn f(x: f64) -> f64 {
    let k = x as f32;
    x * k as f64
}

fn main() {}

use autodiff::differentiate;

struct P {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let p = P { a: x };
    p.a
}

fn main() {}

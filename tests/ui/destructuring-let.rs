use autodiff::differentiate;

#[differentiate]
fn from_a_closure(x: f64) -> f64 {
    let pair = |v: f64| (v, 2.0 * v);
    let (s, t) = pair(x);
    s * t
}

// An `Option` cannot hold a value that carries a derivative; a vector of floats is not
// taken apart by `.pop()`.
#[differentiate]
fn best(xs: &[f64], a: f64) -> f64 {
    let mut best: Option<f64> = None;
    for &x in xs {
        best = Some(x);
    }
    let mut stack = vec![0.0, 1.0];
    let mut total = 0.0;
    while let Some(hi) = stack.pop() {
        total += a * hi;
    }
    best.unwrap_or(0.0) + total
}

fn main() {}

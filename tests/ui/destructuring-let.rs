use autodiff::differentiate;

#[differentiate]
fn swap(x: f64, y: f64) -> f64 {
    // One `let` per name would change what `a` and `b` read; the names stay declared, so the
    // uses below add no errors.
    let (a, b) = (y, x);
    let (b, a) = (a, b);
    a * b
}

#[differentiate]
fn from_a_closure(x: f64) -> f64 {
    let pair = |v: f64| (v, 2.0 * v);
    let (s, t) = pair(x);
    s * t
}

fn main() {}

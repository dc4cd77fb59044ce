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
fn from_branches(x: f64) -> f64 {
    let (s, t) = if x > 0.0 { (x, 1.0) } else { (1.0, x) };
    s * t
}

fn main() {}

use autodiff::differentiate;

#[differentiate]
fn two(x: f64, y: f64) -> (f64, f64) {
    (x * y, x - y)
}

#[differentiate]
fn caller(x: f64, y: f64) -> (f64, f64) {
    two(x, y)
}

fn main() {}

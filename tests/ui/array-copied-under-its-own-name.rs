use autodiff::differentiate;
#[differentiate]
fn shadowed(x: f64) -> f64 {
    let mut cur = [0.0; 2];
    cur[0] = x;
    let cur = cur.clone();
    cur[0] * x
}
fn main() {}

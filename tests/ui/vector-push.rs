use autodiff::differentiate;
#[differentiate]
fn pushy(x: f64, n: usize) -> f64 {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(x * i as f64);
    }
    let mut s = 0.0;
    for i in 0..n {
        s += v[i];
    }
    s
}
#[differentiate]
fn pushed_from_a_slice(x: &[f64]) -> f64 {
    let mut r = Vec::new();
    for i in 0..x.len() {
        r.push(x[i] * 2.0);
    }
    r.iter().sum()
}
fn main() {}

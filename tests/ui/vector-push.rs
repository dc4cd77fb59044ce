use autodiff::differentiate;
#[differentiate]
fn grown_from_a_length(x: f64, n: usize) -> f64 {
    let mut v = vec![0.0; n];
    v.push(x * 2.0);
    v[n]
}
#[differentiate]
fn other_growth(x: &[f64]) -> f64 {
    let mut r = Vec::new();
    r.push(x[0]);
    r.insert(0, x[1] * 2.0);
    r.extend_from_slice(x);
    r.iter().sum()
}
fn main() {}

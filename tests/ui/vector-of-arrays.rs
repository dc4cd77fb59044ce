use autodiff::differentiate;
#[differentiate]
fn history(p: &[f64]) -> f64 {
    let mut hist = Vec::new();
    let mut s = [p[0], p[1]];
    for _ in 0..3 {
        s = [s[1], -s[0]];
        hist.push(s);
    }
    hist.len() as f64
}
#[differentiate]
fn restarted(p: &[f64]) -> f64 {
    let mut v = Vec::new();
    v.push(p[0]);
    let mut total = v[0];
    for k in 0..2 {
        v = Vec::new();
        v.push(p[k]);
        total += v[0];
    }
    total
}
fn main() {}

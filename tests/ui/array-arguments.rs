use autodiff::differentiate;

#[differentiate]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

#[differentiate]
fn caller(w: &[f64]) -> f64 {
    let mut h = vec![0.0; w.len()];
    for i in 0..w.len() {
        h[i] = w[i].sin();
    }
    let local = dot(&h, w);
    let twice = dot(w, w);
    let method = dot(w.as_ref(), w);
    local + twice + method
}

fn main() {}

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
    let method = dot(w.as_ref(), w);
    let copied = dot(&w.to_vec(), w);
    method + copied
}

fn main() {}

use autodiff::differentiate;

#[differentiate]
fn reset(w: &[f64], n: usize) -> f64 {
    let mut h = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        h[i] = w[i] * w[i];
    }
    h.reverse();
    for i in 0..n {
        s += h[i] * w[i];
    }
    s
}

fn main() {}

use autodiff::differentiate;

fn zeros() -> [f64; 3] {
    [0.0; 3]
}

#[differentiate]
fn reset_by_call(w: &[f64]) -> f64 {
    let mut h = [0.0; 3];
    let mut s = 0.0;
    for i in 0..w.len() {
        s += h[2];
        h = zeros();
        h[i % 3] += w[i];
        s += h[0] * h[1];
    }
    s
}

fn main() {}

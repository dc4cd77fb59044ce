use autodiff::differentiate;

#[differentiate]
fn relax(w: &[f64]) -> f64 {
    let mut cur = vec![0.0; w.len()];
    let mut prev;
    for k in 0..3 {
        prev = cur.clone();
        for i in 0..w.len() {
            cur[i] = 0.5 * (prev[i] + w[i] * k as f64);
        }
    }
    cur[0]
}

fn main() {}

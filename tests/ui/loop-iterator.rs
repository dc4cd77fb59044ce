use autodiff::differentiate;

#[differentiate]
fn reversed_pairs(w: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, x) in w.iter().skip(1).enumerate() {
        s += x * i as f64;
    }
    for pair in w.windows(2) {
        s += pair[1] - pair[0];
    }
    s
}

fn main() {}

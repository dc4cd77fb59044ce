use autodiff::differentiate;

#[differentiate]
fn unsupported_iterators(w: &[f64], v: &[f64]) -> f64 {
    let mut s = 0.0;
    for x in w.iter().skip_while(|x| **x > 0.0) {
        s += x;
    }
    for (a, b) in w.iter().zip(v).zip(w) {
        s += a * b;
    }
    for x in w.iter().step_by(0) {
        s += x;
    }
    for pair in w.windows(2) {
        let copy = pair.to_vec();
        s += copy[0];
    }
    s
}

fn main() {}

use autodiff::differentiate;

// `*w.first().unwrap()` and `*w.last().unwrap()` are read as indexing; `.get(i)` is not.
#[differentiate]
fn f(w: &[f64]) -> f64 {
    let a = *w.get(1).unwrap();
    let b = *w.last().unwrap();
    a * b
}

fn main() {}

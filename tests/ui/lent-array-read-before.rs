use autodiff::differentiate;

#[differentiate]
fn halve(v: &mut [f64; 1]) -> f64 {
    v[0] *= 0.5;
    v[0]
}

// Rust reads `v[0]` before the call changes `v`: the call must be made in a `let` of its own.
#[differentiate]
fn receiver_first(x: f64) -> f64 {
    let mut v = [x];
    v[0].max(halve(&mut v)) + (v[0] + halve(&mut v))
}

fn main() {}

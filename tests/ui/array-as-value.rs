use autodiff::differentiate;

#[differentiate]
fn f(x: f64, y: f64, w: &[f64]) -> f64 {
    let b = {
        let mut q = [0.0; 2];
        q[0] = x;
        q[1] = y * x;
        q
    };
    let first = |v: &[f64]| v[0] * 2.0;
    b[0] * b[1] + first(&w[1..3])
}

fn main() {}

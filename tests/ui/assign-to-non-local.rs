use autodiff::differentiate;

#[differentiate]
fn f(x: f64, out: &mut f64) -> f64 {
    *out = x;
    x
}

fn main() {}

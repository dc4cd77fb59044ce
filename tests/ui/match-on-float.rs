use autodiff::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    match x {
        _ => x * 2.0,
    }
}

fn main() {}

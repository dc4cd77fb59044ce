use autodiff::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    fn inner(t: f64) -> f64 {
        t * t
    }
    inner(x)
}

fn main() {}

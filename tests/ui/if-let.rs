use autodiff::differentiate;

#[differentiate]
fn f(x: f64, n: Option<u32>) -> f64 {
    if let Some(k) = n {
        x.powi(k as i32)
    } else {
        x
    }
}

fn main() {}

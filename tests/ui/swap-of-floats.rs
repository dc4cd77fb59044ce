use autodiff::differentiate;

#[differentiate]
fn swapped(x: f64, y: f64) -> f64 {
    let mut a = x;
    let mut b = y;
    std::mem::swap(&mut a, &mut b);
    a * 2.0 + b
}

fn main() {}

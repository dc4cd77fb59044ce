use autodiff::differentiate;

macro_rules! damp {
    ($v:ident, $k:expr) => {
        $v *= $k
    };
}

#[differentiate]
fn damped(x: f64, k: f64) -> f64 {
    let mut v = x * 3.0;
    damp!(v, k);
    println!("v = {v}");
    v * v
}

fn main() {}

use autodiff::differentiate;

#[differentiate]
fn pair(x: f64) -> [f64; 2] {
    [x * x, x.sin()]
}

#[differentiate]
fn use_pair(x: f64) -> f64 {
    let p = pair(x);
    p[0] + p[1]
}

fn main() {}

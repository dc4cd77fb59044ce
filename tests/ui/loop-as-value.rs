use autodiff::differentiate;

#[differentiate]
fn first_above(x: f64) -> f64 {
    let mut y = x;
    let r = loop {
        y *= 2.0;
        if y > 10.0 {
            break y * x;
        }
    };
    r
}

fn main() {}

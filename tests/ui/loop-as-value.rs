use autodiff::differentiate;

// A loop's value may be a float (`let r = loop { .. break v; };`), not a tuple.
#[differentiate]
fn pair(x: f64) -> (f64, f64) {
    loop {
        break (x, 2.0 * x);
    }
}

fn main() {}

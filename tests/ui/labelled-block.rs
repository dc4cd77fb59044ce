use autodiff::differentiate;

#[differentiate]
fn first_positive(x: f64, y: f64) -> f64 {
    let v = 'found: {
        if x > 0.0 {
            break 'found x;
        }
        y * y
    };
    v.sin()
}

fn main() {
    let _ = first_positive_grad(1.0, 2.0);
}

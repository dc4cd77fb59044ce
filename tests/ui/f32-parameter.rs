use autodiff::differentiate;

#[differentiate]
fn f(x: f32) -> f32 {
    x * x
}

fn main() {}

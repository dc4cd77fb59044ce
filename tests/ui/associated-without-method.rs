use autodiff::differentiate;

struct Model;

impl Model {
    // Nothing here says the function is inside an `impl`: `#[differentiate(method)]` does.
    #[differentiate]
    fn loss(x: f64) -> f64 {
        x * x
    }
}

fn main() {}

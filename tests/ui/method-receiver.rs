use autodiff::differentiate;

struct Model;

impl Model {
    #[differentiate]
    fn eval(&self, x: f64) -> f64 {
        x * x
    }
}

fn main() {}

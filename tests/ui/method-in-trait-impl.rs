use autodiff::differentiate;

trait Loss {
    fn loss(&self, x: f64) -> f64;
}

struct Model {
    scale: f64,
}

impl Loss for Model {
    #[differentiate]
    fn loss(&self, x: f64) -> f64 {
        self.scale * x * x
    }
}

fn main() {}

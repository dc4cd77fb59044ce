use autodiff::differentiate;

#[derive(Clone, Copy)]
struct Model {
    scale: f64,
}

impl Model {
    #[differentiate]
    fn eval(self, x: f64) -> f64 {
        self.scale * x
    }

    #[differentiate]
    fn eval_mut(mut self, x: f64) -> f64 {
        self.scale *= x;
        self.scale * x
    }
}

fn main() {}

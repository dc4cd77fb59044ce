use autodiff::differentiate;

struct Model {
    scale: f64,
}

impl Model {
    #[differentiate]
    fn eval(&mut self, x: f64) -> f64 {
        self.scale * x * x
    }
}

fn main() {
    // The siblings are still declared: no cascade of missing `eval_grad`.
    let m = Model { scale: 2.0 };
    let _ = m.eval_grad(1.0);
}

use autodiff::differentiate;

struct Model {
    scale: f64,
}

impl Model {
    #[differentiate]
    fn eval(self: Box<Self>, x: f64) -> f64 {
        self.scale * x
    }

    #[differentiate]
    fn eval_rc(self: std::rc::Rc<Self>, x: f64) -> f64 {
        self.scale * x
    }
}

fn main() {}

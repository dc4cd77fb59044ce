use autodiff::differentiate;
use std::cell::Cell;

struct Model {
    scale: f64,
    last: Cell<f64>,
    history: Vec<f64>,
}

impl Model {
    #[differentiate]
    fn assigns(&self, x: f64) -> f64 {
        self.scale = x;
        self.scale * x
    }

    #[differentiate]
    fn remembers(&self, x: f64) -> f64 {
        let y = self.scale * x;
        self.last.set(y);
        y
    }
}

impl Model {
    #[differentiate]
    fn records(&self, x: f64) -> f64 {
        self.history[0] = x * x;
        self.history[0]
    }
}

fn main() {}

use autodiff::differentiate;

struct View<'a> {
    data: &'a [f64],
}

impl<'a> View<'a> {
    #[differentiate]
    fn eval(&'a self, x: f64) -> f64 {
        self.data[0] * x
    }
}

fn main() {}

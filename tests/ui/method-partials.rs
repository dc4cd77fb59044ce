use autodiff::{differentiate, Real};

struct Model {
    scale: f64,
}

fn softplus_partials<S: Real>(x: S) -> (S, [S; 1]) {
    (x.exp().ln_1p(), [S::one() / (S::one() + (-x).exp())])
}

impl Model {
    #[differentiate(method, partials = softplus_partials)]
    fn softplus(x: f64) -> f64 {
        x.exp().ln_1p()
    }

    #[differentiate]
    fn scaled(&self, x: f64) -> f64 {
        self.scale * x
    }
}

fn main() {}

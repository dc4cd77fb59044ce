use autodiff::differentiate;

// An output carries derivatives: it cannot be `#[constant]`.
#[differentiate]
fn fill(x: f64, #[constant] out: &mut [f64]) {
    for i in 0..out.len() {
        out[i] = x;
    }
}

struct Layer {
    scale: f64,
}

impl Layer {
    // `&mut` array parameters are for free functions.
    #[differentiate]
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        for i in 0..x.len() {
            out[i] = self.scale * x[i];
        }
    }
}

fn main() {}

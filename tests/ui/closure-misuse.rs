use autodiff::differentiate;

#[differentiate]
fn f(x: f64, w: &[f64]) -> f64 {
    let mut k = 2.0;
    let scale = move |t: f64| k * t;
    k += x;
    let early = |t: f64| {
        if t < 0.0 {
            return 0.0;
        }
        t.sqrt()
    };
    let sq = |t: f64| t * t;
    let copy = sq;
    let s = w.iter().fold(0.0, |acc, &v| acc + copy(v));
    scale(x) + k + early(x) + s
}

fn main() {}

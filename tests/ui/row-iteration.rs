use autodiff::differentiate;

#[differentiate]
fn quad(a: &[[f64; 3]], v: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for (i, row) in a.iter().enumerate() {
        let mut r = 0.0;
        for k in 0..3 {
            r += row[k] * v[k];
        }
        s += r * v[i % 3];
    }
    s
}

fn main() {}

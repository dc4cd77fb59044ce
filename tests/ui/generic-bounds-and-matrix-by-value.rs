use autodiff::differentiate;

#[differentiate]
fn determinant(m: [[f64; 2]; 2]) -> f64 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
}

#[differentiate]
fn first<const N: usize>(x: [f64; N]) -> f64
where
    [f64; N]: Copy,
{
    x[0]
}

fn main() {}

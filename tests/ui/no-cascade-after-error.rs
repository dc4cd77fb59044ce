use autodiff::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let k = x.sin_cos().0;
    x * k
}

fn main() {
    // The siblings still exist with their signatures: only the error above is reported.
    let (_value, _gradient) = f_grad(1.0);
    let (_value, _tangent) = f_jvp(1.0, 1.0);
    let _h = f_hessian(1.0);
}

use autodiff::differentiate;

// A helper `fn` in the body is inlined like a closure; a generic one, or a struct, is not.
#[differentiate]
fn f(x: f64) -> f64 {
    struct Pair {
        a: f64,
    }
    fn inner<T: Copy>(t: T) -> T {
        t
    }
    inner(x)
}

fn main() {}

//! Support for the code that `#[differentiate]` generates. Not a public API: names and
//! signatures here change whenever the macro needs them to.

use crate::Dual;

/// The adjoint slot of a parameter that is not differentiated (an integer, a `bool`, data, or
/// an `f64` marked `#[constant]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Constant;

/// Adds a callee's sensitivity into the caller's adjoint. Implemented only for `f64`, so that
/// passing a differentiated value where the callee takes a constant is a compile error rather
/// than a derivative silently lost.
#[diagnostic::on_unimplemented(
    message = "this argument carries a derivative, but the called function takes it as a constant",
    label = "the callee's parameter is `#[constant]` or not an `f64`",
    note = "remove `#[constant]` from the callee's parameter, or pass a value that does not depend on the differentiated inputs"
)]
pub trait Accumulate {
    /// `*adjoint += self`.
    fn accumulate(self, adjoint: &mut f64);
}

impl Accumulate for f64 {
    #[inline(always)]
    fn accumulate(self, adjoint: &mut f64) {
        *adjoint += self;
    }
}

/// Input `i` of `N` for a Hessian through nested duals: value `x`, unit tangent `i` at both
/// levels.
#[inline]
pub fn hessian_seed<const N: usize>(x: f64, i: usize) -> Dual<Dual<f64, N>, N> {
    let mut outer = [Dual::constant(0.0); N];
    outer[i] = Dual::constant(1.0);
    Dual::new(Dual::variable(x, i), outer)
}

/// A constant input of a Hessian evaluation.
#[inline]
pub fn hessian_constant<const N: usize>(x: f64) -> Dual<Dual<f64, N>, N> {
    Dual::constant(Dual::constant(x))
}

/// The matrix of second derivatives from a nested-dual result: `H[i][j] = ∂²f/∂x_i∂x_j`.
#[inline]
pub fn hessian_matrix<const N: usize>(r: Dual<Dual<f64, N>, N>) -> [[f64; N]; N] {
    let mut h = [[0.0; N]; N];
    for (j, outer) in r.eps.iter().enumerate() {
        for (i, second) in outer.eps.iter().enumerate() {
            h[i][j] = *second;
        }
    }
    h
}

/// Clears a gradient buffer before a `_grad` call writes into it.
pub trait Zero {
    /// Sets every element to `0.0`.
    fn zero(&mut self);
}

impl Zero for [f64] {
    #[inline]
    fn zero(&mut self) {
        self.fill(0.0);
    }
}

impl<const N: usize> Zero for [f64; N] {
    #[inline]
    fn zero(&mut self) {
        self.fill(0.0);
    }
}

impl<const N: usize> Zero for [[f64; N]] {
    #[inline]
    fn zero(&mut self) {
        self.fill([0.0; N]);
    }
}

/// Dual numbers carrying `values` and one tangent direction `tangents`.
pub fn seed_slice(values: &[f64], tangents: &[f64]) -> Vec<Dual<f64, 1>> {
    values
        .iter()
        .zip(tangents)
        .map(|(&v, &t)| Dual::new(v, [t]))
        .collect()
}

/// [`seed_slice`] for a fixed-size array.
pub fn seed_array<const N: usize>(values: &[f64; N], tangents: &[f64; N]) -> [Dual<f64, 1>; N] {
    core::array::from_fn(|i| Dual::new(values[i], [tangents[i]]))
}

/// [`seed_slice`] for rows of fixed length.
pub fn seed_rows<const N: usize>(
    values: &[[f64; N]],
    tangents: &[[f64; N]],
) -> Vec<[Dual<f64, 1>; N]> {
    values
        .iter()
        .zip(tangents)
        .map(|(v, t)| seed_array(v, t))
        .collect()
}

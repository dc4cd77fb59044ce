//! The scalar trait every differentiated function is generic over.

use core::fmt::{Debug, Display};
use core::iter::{Product, Sum};
use core::ops::{AddAssign, DivAssign, MulAssign, RemAssign, SubAssign};

use num_traits::{Float, FloatConst};

/// A real scalar: `f64`, `f32`, or a dual number over a `Real` (to any depth of nesting).
///
/// Code written against `Real` runs unchanged on plain floats (to compute values) and on
/// [`Dual`](crate::Dual) numbers (to compute values and derivatives). Everything a numeric kernel
/// needs comes from the supertraits: the elementary functions and constants of
/// [`num_traits::Float`] and [`num_traits::FloatConst`], the compound assignment operators, `Sum`
/// and `Product` of iterators, printing, and `Send + Sync + 'static` so values cross threads.
///
/// The two methods convert to and from `f64`, which is how generated code writes literals
/// (`T::from_f64(0.5)`) and how results are read back for reporting.
///
/// ```
/// use autodiff_runtime::{Dual, Real};
///
/// fn half_square<T: Real>(x: T) -> T {
///     T::from_f64(0.5) * x * x
/// }
///
/// assert_eq!(half_square(3.0_f64), 4.5);
/// assert_eq!(half_square(3.0_f32), 4.5);
/// // On a dual number the tangent carries d/dx (x²/2) = x.
/// let y = half_square(Dual::<f64, 1>::variable(3.0, 0));
/// assert!((y.primal() - 4.5).abs() < 1e-15);
/// assert!((y.eps[0] - 3.0).abs() < 1e-15);
/// ```
pub trait Real:
    Float
    + FloatConst
    + Copy
    + Default
    + Debug
    + Display
    + Sum
    + Product
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + RemAssign
    + Send
    + Sync
    + 'static
{
    /// Converts an `f64` to this type; a dual number gets a zero tangent.
    ///
    /// For `f32` this rounds to the nearest `f32` (as `x as f32` does).
    fn from_f64(x: f64) -> Self;

    /// The primal value as an `f64`: the number itself for floats, the innermost real part for
    /// (nested) dual numbers.
    fn primal(self) -> f64;

    /// Evaluates a user-supplied derivative rule: `rule` gives the value and the `K` partial
    /// derivatives at the primal arguments, and this applies the chain rule to the arguments'
    /// tangents. Because the rule is generic over the scalar, nesting gives higher derivatives.
    ///
    /// ```
    /// use autodiff_runtime::{Dual, Partials, Real};
    ///
    /// /// softplus(x) = ln(1 + eˣ), with derivative the logistic function.
    /// struct Softplus;
    /// impl Partials<1> for Softplus {
    ///     fn eval<T: Real>(&self, [x]: [T; 1]) -> (T, [T; 1]) {
    ///         let e = x.exp();
    ///         (e.ln_1p(), [e / (T::one() + e)])
    ///     }
    /// }
    /// let y = Dual::<f64, 1>::apply(&Softplus, [Dual::variable(0.5, 0)]);
    /// let logistic = 1.0 / (1.0 + (-0.5f64).exp());
    /// assert!((y.eps[0] - logistic).abs() < 1e-15);
    /// ```
    fn apply<R: Partials<K>, const K: usize>(rule: &R, args: [Self; K]) -> Self;
}

/// A derivative rule written by a user: the value of a function of `K` scalars and its `K` partial
/// derivatives, for any scalar type. See [`Real::apply`]; `#[differentiate(partials = ...)]`
/// builds one from a generic function.
pub trait Partials<const K: usize> {
    /// The value and the partial derivatives at `args`.
    fn eval<T: Real>(&self, args: [T; K]) -> (T, [T; K]);
}

impl Real for f64 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }

    #[inline]
    fn primal(self) -> f64 {
        self
    }

    #[inline]
    fn apply<R: Partials<K>, const K: usize>(rule: &R, args: [Self; K]) -> Self {
        rule.eval(args).0
    }
}

impl Real for f32 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }

    #[inline]
    fn primal(self) -> f64 {
        f64::from(self)
    }

    #[inline]
    fn apply<R: Partials<K>, const K: usize>(rule: &R, args: [Self; K]) -> Self {
        rule.eval(args).0
    }
}

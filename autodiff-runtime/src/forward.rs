//! Forward-mode helpers: derivatives, gradients, Jacobians and Hessians of closures over dual
//! numbers.
//!
//! Each helper seeds dual numbers at the given point, calls the closure once, and reads the
//! result. Write the closure body as ordinary arithmetic; it may call any function generic over
//! [`Real`] or [`num_traits::Float`].

use crate::{Dual, Real};

/// Value and derivative of a scalar function at `x`, from one evaluation on a dual number.
///
/// ```
/// use autodiff_runtime::forward::derivative;
///
/// // d/dx (x² sin x) = 2x sin x + x² cos x
/// let x = 1.3_f64;
/// let (v, d) = derivative(|x| x * x * x.sin(), x);
/// assert!((v - x * x * x.sin()).abs() <= 1e-15);
/// assert!((d - (2.0 * x * x.sin() + x * x * x.cos())).abs() <= 1e-14);
/// ```
#[inline]
pub fn derivative<T, F>(f: F, x: T) -> (T, T)
where
    T: Real,
    F: FnOnce(Dual<T, 1>) -> Dual<T, 1>,
{
    let y = f(Dual::variable(x, 0));
    (y.re, y.eps[0])
}

/// Value and gradient of a function of `N` inputs at `x`, from one evaluation on dual numbers
/// with `N` tangents.
///
/// ```
/// use autodiff_runtime::forward::gradient;
///
/// // f(x, y) = x eʸ, ∇f = (eʸ, x eʸ)
/// let (v, g) = gradient(|[x, y]| x * y.exp(), [3.0_f64, 0.5]);
/// let e = 0.5_f64.exp();
/// assert!((v - 3.0 * e).abs() <= 1e-14);
/// assert!((g[0] - e).abs() <= 1e-15 && (g[1] - 3.0 * e).abs() <= 1e-14);
/// ```
#[inline]
pub fn gradient<T, F, const N: usize>(f: F, x: [T; N]) -> (T, [T; N])
where
    T: Real,
    F: FnOnce([Dual<T, N>; N]) -> Dual<T, N>,
{
    let y = f(Dual::seed(x));
    (y.re, y.eps)
}

/// Value and Jacobian of a function from `N` inputs to `M` outputs at `x`; row `i` of the
/// Jacobian is the gradient of output `i`. One evaluation on dual numbers with `N` tangents.
///
/// ```
/// use autodiff_runtime::forward::jacobian;
///
/// // Polar to Cartesian: (r cos θ, r sin θ)
/// let (r, t) = (2.0_f64, 0.3_f64);
/// let (v, j) = jacobian(|[r, t]| [r * t.cos(), r * t.sin()], [r, t]);
/// assert!((v[0] - r * t.cos()).abs() <= 1e-15);
/// assert!((j[0][0] - t.cos()).abs() <= 1e-15 && (j[0][1] + r * t.sin()).abs() <= 1e-15);
/// assert!((j[1][0] - t.sin()).abs() <= 1e-15 && (j[1][1] - r * t.cos()).abs() <= 1e-15);
/// ```
#[inline]
pub fn jacobian<T, F, const N: usize, const M: usize>(f: F, x: [T; N]) -> ([T; M], [[T; N]; M])
where
    T: Real,
    F: FnOnce([Dual<T, N>; N]) -> [Dual<T, N>; M],
{
    let y = f(Dual::seed(x));
    (y.map(|yi| yi.re), y.map(|yi| yi.eps))
}

/// Value, gradient and Hessian of a function of `N` inputs at `x`, from one evaluation on
/// nested dual numbers `Dual<Dual<T, N>, N>` (forward-over-forward).
///
/// Entry `[i][j]` of the Hessian is `∂²f/∂xᵢ∂xⱼ`. The closure's inputs are nested duals, which
/// support the same arithmetic and functions as plain ones (and `f64` literals on either side).
///
/// ```
/// use autodiff_runtime::forward::hessian;
///
/// // f(x, y) = e^{xy}: ∂²f/∂x² = y² e^{xy}, ∂²f/∂x∂y = (1 + xy) e^{xy}, ∂²f/∂y² = x² e^{xy}
/// let (x, y) = (0.5_f64, -1.5_f64);
/// let (v, g, h) = hessian(|[x, y]| (x * y).exp(), [x, y]);
/// let e = (x * y).exp();
/// assert!((v - e).abs() <= 1e-15);
/// assert!((g[0] - y * e).abs() <= 1e-15 && (g[1] - x * e).abs() <= 1e-15);
/// assert!((h[0][0] - y * y * e).abs() <= 1e-14);
/// assert!((h[0][1] - (1.0 + x * y) * e).abs() <= 1e-14 && h[0][1] == h[1][0]);
/// assert!((h[1][1] - x * x * e).abs() <= 1e-14);
/// ```
#[inline]
#[allow(clippy::type_complexity)]
pub fn hessian<T, F, const N: usize>(f: F, x: [T; N]) -> (T, [T; N], [[T; N]; N])
where
    T: Real,
    F: FnOnce([Dual<Dual<T, N>, N>; N]) -> Dual<Dual<T, N>, N>,
{
    // Inner tangents carry the first derivatives, outer tangents differentiate them again.
    let y = f(Dual::seed(Dual::seed(x)));
    (y.re.re, y.re.eps, y.eps.map(|row| row.eps))
}

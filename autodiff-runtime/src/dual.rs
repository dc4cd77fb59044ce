//! Dual numbers with a vector of tangents: forward-mode automatic differentiation.

use core::cmp::Ordering;
use core::fmt;
use core::iter::{Product, Sum};
use core::num::FpCategory;
use core::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

use num_traits::{Float, FloatConst, Num, NumCast, One, Signed, ToPrimitive, Zero};

use crate::{rules, Real};

/// A dual number `re + Σᵢ eps[i]·εᵢ` with `εᵢ εⱼ = 0`: a value and its derivatives with respect
/// to `N` inputs, propagated together through every operation.
///
/// Evaluating a function on duals seeded with unit tangents ([`Dual::seed`]) yields its value in
/// `re` and its gradient in `eps`, in one pass. Each elementary function takes its value and
/// derivative from the [`rules`] table and applies the chain rule
/// `f(a + b·ε) = f(a) + f'(a)·b·ε`.
///
/// `T` may itself be a dual number: `Dual<Dual<f64, N>, N>` carries second derivatives (see
/// [`hessian`](crate::forward::hessian)).
///
/// Comparisons (`==`, `<`, and the branch decisions of `max`, `min`, `clamp`, `abs`) look at the
/// primal value `re` only, so generic code takes the same branches as it would on floats.
///
/// Tangents follow IEEE arithmetic with one exception: a tangent slot that is zero stays zero
/// even when the partial derivative is infinite or NaN (such as `sqrt` at 0). The slots of other
/// inputs then keep their exact values instead of turning into `0 · ∞ = NaN`:
///
/// ```
/// use autodiff_runtime::Dual;
///
/// // ∇(√x + y) at (0, 1) = (+∞, 1)
/// let [x, y] = Dual::seed([0.0_f64, 1.0]);
/// let f = x.sqrt() + y;
/// assert_eq!(f.eps, [f64::INFINITY, 1.0]);
/// ```
///
/// ```
/// use autodiff_runtime::{Dual, Real};
/// use num_traits::Float;
///
/// // f(x, y) = x·sin(y), at (2, 0.5): ∇f = (sin y, x cos y).
/// let [x, y] = Dual::<f64, 2>::seed([2.0, 0.5]);
/// let f = x * y.sin();
/// assert!((f.re - 2.0 * 0.5_f64.sin()).abs() <= 1e-15);
/// assert!((f.eps[0] - 0.5_f64.sin()).abs() <= 1e-15);
/// assert!((f.eps[1] - 2.0 * 0.5_f64.cos()).abs() <= 1e-15);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dual<T, const N: usize> {
    /// The primal (real) part: the value of the expression.
    pub re: T,
    /// The tangent (dual) parts: `eps[i]` is the derivative with respect to input `i`.
    pub eps: [T; N],
}

// ---------------------------------------------------------------------------------------------
// Constructors and accessors
// ---------------------------------------------------------------------------------------------

impl<T: Real, const N: usize> Dual<T, N> {
    /// A dual number from its value and tangents.
    ///
    /// ```
    /// use autodiff_runtime::Dual;
    /// let x = Dual::new(1.5, [1.0, 0.0]);
    /// assert_eq!((x.re, x.eps), (1.5, [1.0, 0.0]));
    /// ```
    #[inline]
    pub fn new(re: T, eps: [T; N]) -> Self {
        Dual { re, eps }
    }

    /// A constant: the value `re` with all tangents zero.
    ///
    /// ```
    /// use autodiff_runtime::Dual;
    /// let c = Dual::<f64, 3>::constant(2.0);
    /// assert_eq!((c.re, c.eps), (2.0, [0.0; 3]));
    /// ```
    #[inline]
    pub fn constant(re: T) -> Self {
        Dual {
            re,
            eps: [T::zero(); N],
        }
    }

    /// The independent variable number `i`: value `re`, tangent 1 in slot `i` and 0 elsewhere.
    ///
    /// # Panics
    ///
    /// If `i >= N`.
    ///
    /// ```
    /// use autodiff_runtime::Dual;
    /// let y = Dual::<f64, 2>::variable(3.0, 1);
    /// assert_eq!((y.re, y.eps), (3.0, [0.0, 1.0]));
    /// ```
    #[inline]
    pub fn variable(re: T, i: usize) -> Self {
        assert!(
            i < N,
            "tangent slot {i} out of range for a dual number with {N} slots"
        );
        let mut d = Self::constant(re);
        d.eps[i] = T::one();
        d
    }

    /// The `N` independent variables at the point `xs`: element `i` is
    /// [`Dual::variable(xs[i], i)`](Dual::variable).
    ///
    /// ```
    /// use autodiff_runtime::Dual;
    /// let [x, y] = Dual::seed([1.0_f64, 2.0]);
    /// let f = x * y * y; // ∇(x y²) = (y², 2 x y)
    /// assert!((f.eps[0] - 4.0).abs() <= 1e-15 && (f.eps[1] - 4.0).abs() <= 1e-15);
    /// ```
    #[inline]
    pub fn seed(xs: [T; N]) -> [Self; N] {
        core::array::from_fn(|i| Self::variable(xs[i], i))
    }

    /// The value (primal part), `self.re`.
    #[inline]
    pub fn value(self) -> T {
        self.re
    }

    /// The tangents, `self.eps`: the derivatives with respect to the `N` inputs.
    #[inline]
    pub fn tangents(self) -> [T; N] {
        self.eps
    }

    /// Applies a unary rule: value `v`, derivative `d` with respect to `self.re`.
    #[inline]
    fn chain(self, v: T, d: T) -> Self {
        let eps = if d.is_finite() {
            self.eps.map(|e| e * d)
        } else {
            self.eps.map(|e| times(e, d))
        };
        Dual { re: v, eps }
    }

    /// Applies a binary rule: value `v`, partials `da`, `db` with respect to `a.re`, `b.re`.
    #[inline]
    fn chain2(a: Self, b: Self, v: T, da: T, db: T) -> Self {
        let eps = if da.is_finite() && db.is_finite() {
            core::array::from_fn(|i| a.eps[i] * da + b.eps[i] * db)
        } else {
            core::array::from_fn(|i| times(a.eps[i], da) + times(b.eps[i], db))
        };
        Dual { re: v, eps }
    }
}

/// A tangent times a partial derivative that may be infinite or NaN: a zero tangent stays zero
/// (it means "this input does not reach here"), so `∞ · 0` does not turn into NaN. (For nested
/// duals the test looks at the tangent's primal part, like every comparison.)
#[inline]
fn times<T: Real>(e: T, d: T) -> T {
    if e == T::zero() {
        T::zero()
    } else {
        e * d
    }
}

impl<T: Real> Dual<T, 1> {
    /// The derivative carried by a dual number with a single tangent, `self.eps[0]`.
    ///
    /// ```
    /// use autodiff_runtime::Dual;
    /// let x = Dual::<f64, 1>::variable(3.0, 0);
    /// assert!(((x * x).derivative() - 6.0).abs() <= 1e-15);
    /// ```
    #[inline]
    pub fn derivative(self) -> T {
        self.eps[0]
    }
}

impl<T: Real, const N: usize> From<T> for Dual<T, N> {
    /// A constant (zero tangents).
    #[inline]
    fn from(re: T) -> Self {
        Self::constant(re)
    }
}

impl<T: Real, const N: usize> Default for Dual<T, N> {
    /// Zero, with zero tangents.
    #[inline]
    fn default() -> Self {
        Self::constant(T::zero())
    }
}

// ---------------------------------------------------------------------------------------------
// Elementary functions (inherent, so they need no trait import; the `Float` impl forwards here)
// ---------------------------------------------------------------------------------------------

/// Inherent unary functions, each applying the chain rule to one entry of [`rules`].
macro_rules! unary_functions {
    ($($name:ident),* $(,)?) => {
        impl<T: Real, const N: usize> Dual<T, N> {
            $(
                #[doc = concat!(
                    "`", stringify!($name), "` of a dual number: value and derivative from [`rules::",
                    stringify!($name), "`], tangents multiplied by the derivative."
                )]
                #[inline]
                pub fn $name(self) -> Self {
                    let (v, d) = rules::$name(self.re);
                    self.chain(v, d)
                }
            )*
        }
    };
}

unary_functions!(
    recip, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh, exp, exp2,
    exp_m1, ln, log2, log10, ln_1p, sqrt, cbrt, abs, signum, floor, ceil, round, trunc, fract,
    to_degrees, to_radians,
);

/// Inherent binary functions, each applying the chain rule to one entry of [`rules`].
macro_rules! binary_functions {
    ($($name:ident($other:ident)),* $(,)?) => {
        impl<T: Real, const N: usize> Dual<T, N> {
            $(
                #[doc = concat!(
                    "`", stringify!($name), "` of two dual numbers: value and partials from [`rules::",
                    stringify!($name), "`], tangents combined by the chain rule."
                )]
                #[inline]
                pub fn $name(self, $other: Self) -> Self {
                    let (v, da, db) = rules::$name(self.re, $other.re);
                    Self::chain2(self, $other, v, da, db)
                }
            )*
        }
    };
}

binary_functions!(
    atan2(other),
    log(base),
    powf(n),
    hypot(other),
    copysign(sign),
    max(other),
    min(other),
    abs_sub(other),
);

impl<T: Real, const N: usize> Dual<T, N> {
    /// Sine and cosine at once, from [`rules::sin_cos`].
    #[inline]
    pub fn sin_cos(self) -> (Self, Self) {
        let ((s, ds), (c, dc)) = rules::sin_cos(self.re);
        (self.chain(s, ds), self.chain(c, dc))
    }

    /// Integer power `selfⁿ`, from [`rules::powi`].
    #[inline]
    pub fn powi(self, n: i32) -> Self {
        let (v, d) = rules::powi(self.re, n);
        self.chain(v, d)
    }

    /// Fused multiply-add `self·a + b`, from [`rules::mul_add`].
    #[inline]
    pub fn mul_add(self, a: Self, b: Self) -> Self {
        let (v, dx, da, db) = rules::mul_add(self.re, a.re, b.re);
        Dual {
            re: v,
            eps: core::array::from_fn(|i| {
                times(self.eps[i], dx) + times(a.eps[i], da) + times(b.eps[i], db)
            }),
        }
    }

    /// `self` restricted to `[lo, hi]`, from [`rules::clamp`] (bounds inclusive: the derivative
    /// goes to `self` when `lo <= self <= hi`).
    #[inline]
    pub fn clamp(self, lo: Self, hi: Self) -> Self {
        let (v, dx, dlo, dhi) = rules::clamp(self.re, lo.re, hi.re);
        Dual {
            re: v,
            eps: core::array::from_fn(|i| self.eps[i] * dx + lo.eps[i] * dlo + hi.eps[i] * dhi),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic between dual numbers: one core impl per operation
// ---------------------------------------------------------------------------------------------

// Sum rule: (a + a'ε) + (b + b'ε) = (a + b) + (a' + b')ε.
impl<T: Real, const N: usize> Add for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn add(self, rhs: Self) -> Self {
        Dual {
            re: self.re + rhs.re,
            eps: core::array::from_fn(|i| self.eps[i] + rhs.eps[i]),
        }
    }
}

// Difference rule: (a + a'ε) - (b + b'ε) = (a - b) + (a' - b')ε.
impl<T: Real, const N: usize> Sub for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        Dual {
            re: self.re - rhs.re,
            eps: core::array::from_fn(|i| self.eps[i] - rhs.eps[i]),
        }
    }
}

// Product rule: (a + a'ε)(b + b'ε) = ab + (a'b + ab')ε.
impl<T: Real, const N: usize> Mul for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        let (v, da, db) = rules::mul(self.re, rhs.re);
        Self::chain2(self, rhs, v, da, db)
    }
}

// Quotient rule: (a + a'ε)/(b + b'ε) = a/b + (a'/b - a b'/b²)ε.
impl<T: Real, const N: usize> Div for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn div(self, rhs: Self) -> Self {
        let (v, da, db) = rules::div(self.re, rhs.re);
        Self::chain2(self, rhs, v, da, db)
    }
}

// Remainder: a % b = a - b·trunc(a/b), so (a % b)' = a' - trunc(a/b)·b'.
impl<T: Real, const N: usize> Rem for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn rem(self, rhs: Self) -> Self {
        let (v, da, db) = rules::rem(self.re, rhs.re);
        Self::chain2(self, rhs, v, da, db)
    }
}

// Negation: -(a + a'ε) = -a - a'ε.
impl<T: Real, const N: usize> Neg for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Dual {
            re: -self.re,
            eps: self.eps.map(|e| -e),
        }
    }
}

impl<T: Real, const N: usize> Neg for &Dual<T, N> {
    type Output = Dual<T, N>;
    #[inline]
    fn neg(self) -> Dual<T, N> {
        -*self
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic with the scalar T on the right: one core impl per operation
// ---------------------------------------------------------------------------------------------

// (a + a'ε) + c = (a + c) + a'ε.
impl<T: Real, const N: usize> Add<T> for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn add(self, rhs: T) -> Self {
        Dual {
            re: self.re + rhs,
            eps: self.eps,
        }
    }
}

// (a + a'ε) - c = (a - c) + a'ε.
impl<T: Real, const N: usize> Sub<T> for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn sub(self, rhs: T) -> Self {
        Dual {
            re: self.re - rhs,
            eps: self.eps,
        }
    }
}

// (a + a'ε)·c = ac + a'c ε.
impl<T: Real, const N: usize> Mul<T> for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn mul(self, rhs: T) -> Self {
        self.chain(self.re * rhs, rhs)
    }
}

// (a + a'ε)/c = a/c + (a'/c)ε.
impl<T: Real, const N: usize> Div<T> for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn div(self, rhs: T) -> Self {
        let (v, da, _) = rules::div(self.re, rhs);
        self.chain(v, da)
    }
}

// (a + a'ε) % c = (a % c) + a'ε.
impl<T: Real, const N: usize> Rem<T> for Dual<T, N> {
    type Output = Self;
    #[inline]
    fn rem(self, rhs: T) -> Self {
        let (v, da, _) = rules::rem(self.re, rhs);
        self.chain(v, da)
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic with the scalar on the left: core functions, instantiated for f64 and f32 below
// ---------------------------------------------------------------------------------------------

/// The left-scalar operations `c ⊕ (b + b'ε)`, generic over the scalar.
mod lhs {
    use super::{rules, Dual, Real};

    #[inline]
    pub(super) fn add<T: Real, const N: usize>(c: T, b: Dual<T, N>) -> Dual<T, N> {
        Dual {
            re: c + b.re,
            eps: b.eps,
        }
    }

    #[inline]
    pub(super) fn sub<T: Real, const N: usize>(c: T, b: Dual<T, N>) -> Dual<T, N> {
        Dual {
            re: c - b.re,
            eps: b.eps.map(|e| -e),
        }
    }

    #[inline]
    pub(super) fn mul<T: Real, const N: usize>(c: T, b: Dual<T, N>) -> Dual<T, N> {
        b.chain(c * b.re, c)
    }

    // Quotient rule with a constant numerator: (c / b)' = -c b'/b².
    #[inline]
    pub(super) fn div<T: Real, const N: usize>(c: T, b: Dual<T, N>) -> Dual<T, N> {
        let (v, _, db) = rules::div(c, b.re);
        b.chain(v, db)
    }

    #[inline]
    pub(super) fn rem<T: Real, const N: usize>(c: T, b: Dual<T, N>) -> Dual<T, N> {
        let (v, _, db) = rules::rem(c, b.re);
        b.chain(v, db)
    }
}

// ---------------------------------------------------------------------------------------------
// Generated forwarding impls: borrowed operands and compound assignment
// ---------------------------------------------------------------------------------------------

/// For one operator, the owned/borrowed combinations and the compound assignments of
/// `Dual ⊕ Dual` and `Dual ⊕ T`, all forwarding to the core impls above.
macro_rules! forward_binop {
    ($Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident) => {
        impl<'b, T: Real, const N: usize> $Op<&'b Dual<T, N>> for Dual<T, N> {
            type Output = Dual<T, N>;
            #[inline]
            fn $op(self, rhs: &'b Dual<T, N>) -> Dual<T, N> {
                $Op::$op(self, *rhs)
            }
        }

        impl<'a, T: Real, const N: usize> $Op<Dual<T, N>> for &'a Dual<T, N> {
            type Output = Dual<T, N>;
            #[inline]
            fn $op(self, rhs: Dual<T, N>) -> Dual<T, N> {
                $Op::$op(*self, rhs)
            }
        }

        impl<'a, 'b, T: Real, const N: usize> $Op<&'b Dual<T, N>> for &'a Dual<T, N> {
            type Output = Dual<T, N>;
            #[inline]
            fn $op(self, rhs: &'b Dual<T, N>) -> Dual<T, N> {
                $Op::$op(*self, *rhs)
            }
        }

        impl<'b, T: Real, const N: usize> $Op<&'b T> for Dual<T, N> {
            type Output = Dual<T, N>;
            #[inline]
            fn $op(self, rhs: &'b T) -> Dual<T, N> {
                $Op::$op(self, *rhs)
            }
        }

        impl<'a, T: Real, const N: usize> $Op<T> for &'a Dual<T, N> {
            type Output = Dual<T, N>;
            #[inline]
            fn $op(self, rhs: T) -> Dual<T, N> {
                $Op::$op(*self, rhs)
            }
        }

        impl<'a, 'b, T: Real, const N: usize> $Op<&'b T> for &'a Dual<T, N> {
            type Output = Dual<T, N>;
            #[inline]
            fn $op(self, rhs: &'b T) -> Dual<T, N> {
                $Op::$op(*self, *rhs)
            }
        }

        impl<T: Real, const N: usize> $OpAssign for Dual<T, N> {
            #[inline]
            fn $op_assign(&mut self, rhs: Dual<T, N>) {
                *self = $Op::$op(*self, rhs);
            }
        }

        impl<'b, T: Real, const N: usize> $OpAssign<&'b Dual<T, N>> for Dual<T, N> {
            #[inline]
            fn $op_assign(&mut self, rhs: &'b Dual<T, N>) {
                *self = $Op::$op(*self, *rhs);
            }
        }

        impl<T: Real, const N: usize> $OpAssign<T> for Dual<T, N> {
            #[inline]
            fn $op_assign(&mut self, rhs: T) {
                *self = $Op::$op(*self, rhs);
            }
        }

        impl<'b, T: Real, const N: usize> $OpAssign<&'b T> for Dual<T, N> {
            #[inline]
            fn $op_assign(&mut self, rhs: &'b T) {
                *self = $Op::$op(*self, *rhs);
            }
        }
    };
}

forward_binop!(Add, add, AddAssign, add_assign);
forward_binop!(Sub, sub, SubAssign, sub_assign);
forward_binop!(Mul, mul, MulAssign, mul_assign);
forward_binop!(Div, div, DivAssign, div_assign);
forward_binop!(Rem, rem, RemAssign, rem_assign);

/// For one operator and one concrete float type `S`: `S ⊕ Dual<S, N>` (forwarding to [`lhs`])
/// and, one level of nesting down, `S ⊕ Dual<Dual<S, N>, M>` and `Dual<Dual<S, N>, M> ⊕ S`
/// (converting `S` to a constant inner dual), each with borrowed variants.
macro_rules! scalar_binop {
    ($S:ty, $Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident) => {
        impl<const N: usize> $Op<Dual<$S, N>> for $S {
            type Output = Dual<$S, N>;
            #[inline]
            fn $op(self, rhs: Dual<$S, N>) -> Dual<$S, N> {
                lhs::$op(self, rhs)
            }
        }

        impl<'b, const N: usize> $Op<&'b Dual<$S, N>> for $S {
            type Output = Dual<$S, N>;
            #[inline]
            fn $op(self, rhs: &'b Dual<$S, N>) -> Dual<$S, N> {
                lhs::$op(self, *rhs)
            }
        }

        impl<'a, const N: usize> $Op<Dual<$S, N>> for &'a $S {
            type Output = Dual<$S, N>;
            #[inline]
            fn $op(self, rhs: Dual<$S, N>) -> Dual<$S, N> {
                lhs::$op(*self, rhs)
            }
        }

        impl<'a, 'b, const N: usize> $Op<&'b Dual<$S, N>> for &'a $S {
            type Output = Dual<$S, N>;
            #[inline]
            fn $op(self, rhs: &'b Dual<$S, N>) -> Dual<$S, N> {
                lhs::$op(*self, *rhs)
            }
        }

        impl<const N: usize, const M: usize> $Op<Dual<Dual<$S, N>, M>> for $S {
            type Output = Dual<Dual<$S, N>, M>;
            #[inline]
            fn $op(self, rhs: Dual<Dual<$S, N>, M>) -> Dual<Dual<$S, N>, M> {
                lhs::$op(Dual::constant(self), rhs)
            }
        }

        impl<'b, const N: usize, const M: usize> $Op<&'b Dual<Dual<$S, N>, M>> for $S {
            type Output = Dual<Dual<$S, N>, M>;
            #[inline]
            fn $op(self, rhs: &'b Dual<Dual<$S, N>, M>) -> Dual<Dual<$S, N>, M> {
                lhs::$op(Dual::constant(self), *rhs)
            }
        }

        impl<const N: usize, const M: usize> $Op<$S> for Dual<Dual<$S, N>, M> {
            type Output = Dual<Dual<$S, N>, M>;
            #[inline]
            fn $op(self, rhs: $S) -> Dual<Dual<$S, N>, M> {
                $Op::$op(self, Dual::<$S, N>::constant(rhs))
            }
        }

        impl<'a, const N: usize, const M: usize> $Op<$S> for &'a Dual<Dual<$S, N>, M> {
            type Output = Dual<Dual<$S, N>, M>;
            #[inline]
            fn $op(self, rhs: $S) -> Dual<Dual<$S, N>, M> {
                $Op::$op(*self, Dual::<$S, N>::constant(rhs))
            }
        }

        impl<const N: usize, const M: usize> $OpAssign<$S> for Dual<Dual<$S, N>, M> {
            #[inline]
            fn $op_assign(&mut self, rhs: $S) {
                *self = $Op::$op(*self, Dual::<$S, N>::constant(rhs));
            }
        }
    };
}

scalar_binop!(f64, Add, add, AddAssign, add_assign);
scalar_binop!(f64, Sub, sub, SubAssign, sub_assign);
scalar_binop!(f64, Mul, mul, MulAssign, mul_assign);
scalar_binop!(f64, Div, div, DivAssign, div_assign);
scalar_binop!(f64, Rem, rem, RemAssign, rem_assign);
scalar_binop!(f32, Add, add, AddAssign, add_assign);
scalar_binop!(f32, Sub, sub, SubAssign, sub_assign);
scalar_binop!(f32, Mul, mul, MulAssign, mul_assign);
scalar_binop!(f32, Div, div, DivAssign, div_assign);
scalar_binop!(f32, Rem, rem, RemAssign, rem_assign);

// ---------------------------------------------------------------------------------------------
// Iterators
// ---------------------------------------------------------------------------------------------

impl<T: Real, const N: usize> Sum for Dual<T, N> {
    #[inline]
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::zero(), |acc, x| acc + x)
    }
}

impl<'a, T: Real, const N: usize> Sum<&'a Dual<T, N>> for Dual<T, N> {
    #[inline]
    fn sum<I: Iterator<Item = &'a Dual<T, N>>>(iter: I) -> Self {
        iter.fold(Self::zero(), |acc, x| acc + *x)
    }
}

impl<T: Real, const N: usize> Product for Dual<T, N> {
    #[inline]
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::one(), |acc, x| acc * x)
    }
}

impl<'a, T: Real, const N: usize> Product<&'a Dual<T, N>> for Dual<T, N> {
    #[inline]
    fn product<I: Iterator<Item = &'a Dual<T, N>>>(iter: I) -> Self {
        iter.fold(Self::one(), |acc, x| acc * *x)
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison (primal only) and printing
// ---------------------------------------------------------------------------------------------

impl<T: Real, const N: usize> PartialEq for Dual<T, N> {
    /// Compares the primal values only (tangents are ignored).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.re == other.re
    }
}

impl<T: Real, const N: usize> PartialOrd for Dual<T, N> {
    /// Orders by the primal values only (tangents are ignored).
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

impl<T: Real, const N: usize> PartialEq<T> for Dual<T, N> {
    /// Compares the primal value with a scalar.
    #[inline]
    fn eq(&self, other: &T) -> bool {
        self.re == *other
    }
}

impl<T: Real, const N: usize> PartialOrd<T> for Dual<T, N> {
    /// Orders the primal value against a scalar.
    #[inline]
    fn partial_cmp(&self, other: &T) -> Option<Ordering> {
        self.re.partial_cmp(other)
    }
}

impl<T: Real, const N: usize> fmt::Display for Dual<T, N> {
    /// Prints `re + [e0, e1, …]ε`, applying the formatter's flags (such as precision) to every
    /// component.
    ///
    /// ```
    /// use autodiff_runtime::Dual;
    /// let x = Dual::new(1.0, [0.5, -2.0]);
    /// assert_eq!(format!("{x:.2}"), "1.00 + [0.50, -2.00]ε");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.re, f)?;
        f.write_str(" + [")?;
        for (i, e) in self.eps.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            fmt::Display::fmt(e, f)?;
        }
        f.write_str("]ε")
    }
}

// ---------------------------------------------------------------------------------------------
// num-traits
// ---------------------------------------------------------------------------------------------

impl<T: Real, const N: usize> Zero for Dual<T, N> {
    #[inline]
    fn zero() -> Self {
        Self::constant(T::zero())
    }

    /// Whether the primal value is zero (consistent with `==`, which ignores tangents).
    #[inline]
    fn is_zero(&self) -> bool {
        self.re.is_zero()
    }
}

impl<T: Real, const N: usize> One for Dual<T, N> {
    #[inline]
    fn one() -> Self {
        Self::constant(T::one())
    }
}

impl<T: Real, const N: usize> Num for Dual<T, N> {
    type FromStrRadixErr = T::FromStrRadixErr;

    /// Parses a constant.
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(Self::constant)
    }
}

/// `ToPrimitive` methods that convert the primal value.
macro_rules! to_primitive {
    ($($name:ident -> $t:ty),* $(,)?) => {
        $(
            #[inline]
            fn $name(&self) -> Option<$t> {
                self.re.$name()
            }
        )*
    };
}

impl<T: Real, const N: usize> ToPrimitive for Dual<T, N> {
    to_primitive!(
        to_isize -> isize, to_i8 -> i8, to_i16 -> i16, to_i32 -> i32, to_i64 -> i64,
        to_i128 -> i128, to_usize -> usize, to_u8 -> u8, to_u16 -> u16, to_u32 -> u32,
        to_u64 -> u64, to_u128 -> u128, to_f32 -> f32, to_f64 -> f64,
    );
}

impl<T: Real, const N: usize> NumCast for Dual<T, N> {
    /// Converts to a constant.
    #[inline]
    fn from<U: ToPrimitive>(n: U) -> Option<Self> {
        <T as NumCast>::from(n).map(Self::constant)
    }
}

impl<T: Real, const N: usize> Signed for Dual<T, N> {
    #[inline]
    fn abs(&self) -> Self {
        Dual::abs(*self)
    }

    #[inline]
    fn abs_sub(&self, other: &Self) -> Self {
        Dual::abs_sub(*self, *other)
    }

    #[inline]
    fn signum(&self) -> Self {
        Dual::signum(*self)
    }

    #[inline]
    fn is_positive(&self) -> bool {
        self.re > T::zero()
    }

    #[inline]
    fn is_negative(&self) -> bool {
        self.re < T::zero()
    }
}

/// Constants of `FloatConst` and `Float` as dual constants (zero tangents).
macro_rules! constants {
    ($($name:ident),* $(,)?) => {
        $(
            #[inline]
            fn $name() -> Self {
                Self::constant(T::$name())
            }
        )*
    };
}

impl<T: Real, const N: usize> FloatConst for Dual<T, N> {
    constants!(
        E,
        FRAC_1_PI,
        FRAC_1_SQRT_2,
        FRAC_2_PI,
        FRAC_2_SQRT_PI,
        FRAC_PI_2,
        FRAC_PI_3,
        FRAC_PI_4,
        FRAC_PI_6,
        FRAC_PI_8,
        LN_10,
        LN_2,
        LOG10_E,
        LOG2_E,
        PI,
        SQRT_2,
        TAU,
        LOG10_2,
        LOG2_10,
    );
}

/// `Float` predicates of the primal value.
macro_rules! float_predicates {
    ($($name:ident),* $(,)?) => {
        $(
            #[inline]
            fn $name(self) -> bool {
                self.re.$name()
            }
        )*
    };
}

/// `Float` unary methods forwarding to the inherent functions (which apply [`rules`]).
macro_rules! float_unary {
    ($($name:ident),* $(,)?) => {
        $(
            #[inline]
            fn $name(self) -> Self {
                Dual::$name(self)
            }
        )*
    };
}

/// `Float` binary methods forwarding to the inherent functions (which apply [`rules`]).
macro_rules! float_binary {
    ($($name:ident),* $(,)?) => {
        $(
            #[inline]
            fn $name(self, other: Self) -> Self {
                Dual::$name(self, other)
            }
        )*
    };
}

impl<T: Real, const N: usize> Float for Dual<T, N> {
    constants!(
        nan,
        infinity,
        neg_infinity,
        neg_zero,
        min_value,
        min_positive_value,
        epsilon,
        max_value,
    );

    float_predicates!(
        is_nan,
        is_infinite,
        is_finite,
        is_normal,
        is_subnormal,
        is_sign_positive,
        is_sign_negative,
    );

    float_unary!(
        floor, ceil, round, trunc, fract, abs, signum, recip, sqrt, exp, exp2, ln, log2, log10,
        to_degrees, to_radians, cbrt, sin, cos, tan, asin, acos, atan, exp_m1, ln_1p, sinh, cosh,
        tanh, asinh, acosh, atanh,
    );

    float_binary!(powf, log, max, min, abs_sub, hypot, atan2, copysign);

    #[inline]
    fn classify(self) -> FpCategory {
        self.re.classify()
    }

    #[inline]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Dual::mul_add(self, a, b)
    }

    #[inline]
    fn powi(self, n: i32) -> Self {
        Dual::powi(self, n)
    }

    #[inline]
    fn clamp(self, min: Self, max: Self) -> Self {
        Dual::clamp(self, min, max)
    }

    #[inline]
    fn sin_cos(self) -> (Self, Self) {
        Dual::sin_cos(self)
    }

    #[inline]
    fn integer_decode(self) -> (u64, i16, i8) {
        self.re.integer_decode()
    }
}

impl<T: Real, const N: usize> Real for Dual<T, N> {
    /// A constant with value `x`.
    #[inline]
    fn from_f64(x: f64) -> Self {
        Self::constant(T::from_f64(x))
    }

    /// The innermost primal value.
    #[inline]
    fn primal(self) -> f64 {
        self.re.primal()
    }

    /// The chain rule: value and partials at the real parts, tangents combined linearly.
    #[inline]
    fn apply<R: crate::real::Partials<K>, const K: usize>(rule: &R, args: [Self; K]) -> Self {
        let (value, partials) = rule.eval(args.map(|a| a.re));
        let mut eps = [T::zero(); N];
        for (arg, d) in args.iter().zip(partials) {
            for (e, t) in eps.iter_mut().zip(arg.eps) {
                // As in the built-in rules: a zero tangent stays zero through an infinite
                // partial derivative.
                *e += times(t, d);
            }
        }
        Self::new(value, eps)
    }
}

// TEMPORARY development shim until the runtime branch lands. NOT TO BE COMMITTED.
#![allow(missing_docs)]
#![allow(clippy::needless_range_loop)]
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::*;

pub trait Real:
    Copy
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + PartialOrd
    + PartialEq
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    fn from_f64(x: f64) -> Self;
    fn primal(self) -> f64;
    fn zero() -> Self;
    fn one() -> Self;
    fn tanh(self) -> Self;
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn powf(self, y: Self) -> Self;
    fn powi(self, n: i32) -> Self;
    fn abs(self) -> Self;
}

impl Real for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn primal(self) -> f64 {
        self
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn sin(self) -> Self {
        f64::sin(self)
    }
    fn cos(self) -> Self {
        f64::cos(self)
    }
    fn powf(self, y: Self) -> Self {
        f64::powf(self, y)
    }
    fn powi(self, n: i32) -> Self {
        f64::powi(self, n)
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dual<T, const N: usize> {
    pub re: T,
    pub eps: [T; N],
}

impl<const N: usize> Default for Dual<f64, N> {
    fn default() -> Self {
        Self::constant(0.0)
    }
}
impl<const N: usize> Display for Dual<f64, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.re)
    }
}
impl<const N: usize> PartialOrd for Dual<f64, N> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        self.re.partial_cmp(&o.re)
    }
}

impl<const N: usize> Dual<f64, N> {
    pub fn new(re: f64, eps: [f64; N]) -> Self {
        Dual { re, eps }
    }
    pub fn constant(re: f64) -> Self {
        Dual { re, eps: [0.0; N] }
    }
    pub fn variable(re: f64, i: usize) -> Self {
        let mut eps = [0.0; N];
        eps[i] = 1.0;
        Dual { re, eps }
    }
    pub fn seed(xs: [f64; N]) -> [Self; N] {
        let mut k = 0;
        xs.map(|x| {
            k += 1;
            Self::variable(x, k - 1)
        })
    }
    fn chain(self, v: f64, d: f64) -> Self {
        Dual {
            re: v,
            eps: self.eps.map(|e| e * d),
        }
    }
}
impl<const N: usize> Add for Dual<f64, N> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        let mut eps = self.eps;
        for i in 0..N {
            eps[i] += o.eps[i];
        }
        Dual {
            re: self.re + o.re,
            eps,
        }
    }
}
impl<const N: usize> Sub for Dual<f64, N> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        let mut eps = self.eps;
        for i in 0..N {
            eps[i] -= o.eps[i];
        }
        Dual {
            re: self.re - o.re,
            eps,
        }
    }
}
impl<const N: usize> Mul for Dual<f64, N> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        let mut eps = [0.0; N];
        for i in 0..N {
            eps[i] = self.eps[i] * o.re + self.re * o.eps[i];
        }
        Dual {
            re: self.re * o.re,
            eps,
        }
    }
}
impl<const N: usize> Div for Dual<f64, N> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let mut eps = [0.0; N];
        for i in 0..N {
            eps[i] = (self.eps[i] * o.re - self.re * o.eps[i]) / (o.re * o.re);
        }
        Dual {
            re: self.re / o.re,
            eps,
        }
    }
}
impl<const N: usize> Neg for Dual<f64, N> {
    type Output = Self;
    fn neg(self) -> Self {
        Dual {
            re: -self.re,
            eps: self.eps.map(|e| -e),
        }
    }
}
impl<const N: usize> Add<f64> for Dual<f64, N> {
    type Output = Self;
    fn add(self, o: f64) -> Self {
        self + Self::constant(o)
    }
}
impl<const N: usize> Sub<f64> for Dual<f64, N> {
    type Output = Self;
    fn sub(self, o: f64) -> Self {
        self - Self::constant(o)
    }
}
impl<const N: usize> Mul<f64> for Dual<f64, N> {
    type Output = Self;
    fn mul(self, o: f64) -> Self {
        self * Self::constant(o)
    }
}
impl<const N: usize> Div<f64> for Dual<f64, N> {
    type Output = Self;
    fn div(self, o: f64) -> Self {
        self / Self::constant(o)
    }
}
impl<const N: usize> Add<Dual<f64, N>> for f64 {
    type Output = Dual<f64, N>;
    fn add(self, o: Dual<f64, N>) -> Dual<f64, N> {
        Dual::constant(self) + o
    }
}
impl<const N: usize> Sub<Dual<f64, N>> for f64 {
    type Output = Dual<f64, N>;
    fn sub(self, o: Dual<f64, N>) -> Dual<f64, N> {
        Dual::constant(self) - o
    }
}
impl<const N: usize> Mul<Dual<f64, N>> for f64 {
    type Output = Dual<f64, N>;
    fn mul(self, o: Dual<f64, N>) -> Dual<f64, N> {
        Dual::constant(self) * o
    }
}
impl<const N: usize> Div<Dual<f64, N>> for f64 {
    type Output = Dual<f64, N>;
    fn div(self, o: Dual<f64, N>) -> Dual<f64, N> {
        Dual::constant(self) / o
    }
}
impl<const N: usize> AddAssign for Dual<f64, N> {
    fn add_assign(&mut self, o: Self) {
        *self = *self + o
    }
}
impl<const N: usize> SubAssign for Dual<f64, N> {
    fn sub_assign(&mut self, o: Self) {
        *self = *self - o
    }
}
impl<const N: usize> MulAssign for Dual<f64, N> {
    fn mul_assign(&mut self, o: Self) {
        *self = *self * o
    }
}
impl<const N: usize> DivAssign for Dual<f64, N> {
    fn div_assign(&mut self, o: Self) {
        *self = *self / o
    }
}
impl<const N: usize> Sum for Dual<f64, N> {
    fn sum<I: Iterator<Item = Self>>(it: I) -> Self {
        it.fold(Self::constant(0.0), |a, b| a + b)
    }
}

impl<const N: usize> Real for Dual<f64, N> {
    fn from_f64(x: f64) -> Self {
        Self::constant(x)
    }
    fn primal(self) -> f64 {
        self.re
    }
    fn zero() -> Self {
        Self::constant(0.0)
    }
    fn one() -> Self {
        Self::constant(1.0)
    }
    fn tanh(self) -> Self {
        let t = self.re.tanh();
        self.chain(t, 1.0 - t * t)
    }
    fn sqrt(self) -> Self {
        let s = self.re.sqrt();
        self.chain(s, 0.5 / s)
    }
    fn exp(self) -> Self {
        let e = self.re.exp();
        self.chain(e, e)
    }
    fn ln(self) -> Self {
        self.chain(self.re.ln(), 1.0 / self.re)
    }
    fn sin(self) -> Self {
        self.chain(self.re.sin(), self.re.cos())
    }
    fn cos(self) -> Self {
        self.chain(self.re.cos(), -self.re.sin())
    }
    fn powf(self, y: Self) -> Self {
        let v = self.re.powf(y.re);
        let mut eps = [0.0; N];
        for i in 0..N {
            eps[i] = self.eps[i] * y.re * self.re.powf(y.re - 1.0)
                + if y.eps[i] != 0.0 {
                    y.eps[i] * v * self.re.ln()
                } else {
                    0.0
                };
        }
        Dual { re: v, eps }
    }
    fn powi(self, n: i32) -> Self {
        self.chain(self.re.powi(n), n as f64 * self.re.powi(n - 1))
    }
    fn abs(self) -> Self {
        if self.re < 0.0 {
            -self
        } else {
            self
        }
    }
}

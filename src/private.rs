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

/// A reverse sweep's record of values (the `f64` tape, or the `usize` tape of decisions and
/// integers): a `Vec` whose storage comes from, and goes back to, a one-slot pool per thread.
///
/// A gradient called in a training loop would otherwise allocate its tapes afresh on every
/// call, and for tapes of a few hundred kilobytes each allocation is served by `mmap` and
/// faulted in page by page: about a tenth of the time of a small gradient. The pool keeps the
/// largest tape a thread has dropped, up to [`Tape::POOL_LIMIT`] elements.
pub struct Tape<T: Pooled> {
    items: Vec<T>,
}

impl<T: Pooled> Tape<T> {
    /// Largest tape (in elements) kept for reuse: 16 MiB of `f64`.
    pub const POOL_LIMIT: usize = 1 << 21;

    /// An empty tape with room for at least `capacity` values, reusing the pooled storage.
    #[inline]
    pub fn with_capacity(capacity: usize) -> Self {
        let mut items = T::pool(|slot| slot.take()).unwrap_or_default();
        items.clear();
        items.reserve(capacity);
        Tape { items }
    }
}

impl<T: Pooled> core::ops::Deref for Tape<T> {
    type Target = Vec<T>;
    #[inline(always)]
    fn deref(&self) -> &Vec<T> {
        &self.items
    }
}

impl<T: Pooled> core::ops::DerefMut for Tape<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.items
    }
}

impl<T: Pooled> Drop for Tape<T> {
    fn drop(&mut self) {
        let mut items = core::mem::take(&mut self.items);
        if items.capacity() == 0 || items.capacity() > Self::POOL_LIMIT {
            return;
        }
        items.clear();
        // Keep whichever of the pooled and the returned storage is larger. The slot is gone
        // while the thread is being torn down; the storage is then simply freed.
        let _ = T::pool(move |slot| {
            let pooled = slot.take();
            slot.set(if pooled.capacity() >= items.capacity() {
                pooled
            } else {
                items
            });
        });
    }
}

/// Element types of a [`Tape`], each with its per-thread pool slot.
pub trait Pooled: Copy + 'static {
    /// Runs `f` on this thread's slot; `None` while the thread is being torn down.
    fn pool<R>(f: impl FnOnce(&core::cell::Cell<Vec<Self>>) -> R) -> Option<R>;
}

macro_rules! pooled {
    ($($t:ty => $slot:ident),*) => {$(
        std::thread_local! {
            static $slot: core::cell::Cell<Vec<$t>> = const { core::cell::Cell::new(Vec::new()) };
        }
        impl Pooled for $t {
            #[inline]
            fn pool<R>(f: impl FnOnce(&core::cell::Cell<Vec<Self>>) -> R) -> Option<R> {
                $slot.try_with(f).ok()
            }
        }
    )*};
}

pooled!(f64 => F64_TAPE, usize => USIZE_TAPE);

/// An integer the reverse sweep keeps on its `usize` tape (the final value of a counter
/// declared in a loop body). The conversions wrap, so every value round-trips.
pub trait TapeInt: Copy {
    fn to_tape(self) -> usize;
    fn from_tape(value: usize) -> Self;
}

macro_rules! tape_int {
    ($($t:ty)*) => {$(
        impl TapeInt for $t {
            #[inline]
            fn to_tape(self) -> usize {
                self as usize
            }
            #[inline]
            fn from_tape(value: usize) -> Self {
                value as $t
            }
        }
    )*};
}

tape_int!(u8 u16 u32 u64 usize i8 i16 i32 i64 isize);

/// [`TapeInt::from_tape`] into the type of `like` (a counter's start value, which the
/// generated code can write but not name).
#[inline]
pub fn from_tape_like<T: TapeInt>(like: T, value: usize) -> T {
    let _ = like;
    T::from_tape(value)
}

/// The type of the adjoints in a reverse sweep: `f64` for one output sensitivity, [`Lanes`]
/// for several at once (the Jacobian of a function with several outputs, in one sweep).
/// `ZERO` is `-0.0`, which the compiler can drop from `ZERO + x`.
pub trait Adjoint:
    Copy
    + core::ops::AddAssign
    + core::ops::SubAssign
    + core::ops::MulAssign<f64>
    + core::ops::DivAssign<f64>
    + core::ops::Mul<f64, Output = Self>
    + core::ops::Div<f64, Output = Self>
{
    const ZERO: Self;
    /// Turns a `-0.0` left from `ZERO` into `0.0`.
    fn finish(self) -> Self;
}

impl Adjoint for f64 {
    const ZERO: f64 = -0.0;
    #[inline]
    fn finish(self) -> f64 {
        self + 0.0
    }
}

/// `M` adjoints carried together, one per output sensitivity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lanes<const M: usize>(pub [f64; M]);

impl<const M: usize> Lanes<M> {
    /// The sensitivity that selects output `i`.
    #[inline]
    pub fn unit(i: usize) -> Self {
        let mut l = [0.0; M];
        l[i] = 1.0;
        Lanes(l)
    }
}

macro_rules! lanes_op {
    ($tr:ident, $f:ident, $op:tt, $rhs:ty, |$r:ident, $i:ident| $x:expr) => {
        impl<const M: usize> core::ops::$tr<$rhs> for Lanes<M> {
            #[inline]
            fn $f(&mut self, $r: $rhs) {
                for $i in 0..M {
                    self.0[$i] $op $x;
                }
            }
        }
    };
}

lanes_op!(AddAssign, add_assign, +=, Lanes<M>, |r, i| r.0[i]);
lanes_op!(SubAssign, sub_assign, -=, Lanes<M>, |r, i| r.0[i]);
lanes_op!(MulAssign, mul_assign, *=, f64, |r, i| r);
lanes_op!(DivAssign, div_assign, /=, f64, |r, i| r);

impl<const M: usize> core::ops::Mul<f64> for Lanes<M> {
    type Output = Self;
    #[inline]
    fn mul(mut self, r: f64) -> Self {
        self *= r;
        self
    }
}

impl<const M: usize> core::ops::Div<f64> for Lanes<M> {
    type Output = Self;
    #[inline]
    fn div(mut self, r: f64) -> Self {
        self /= r;
        self
    }
}

impl<const M: usize> Adjoint for Lanes<M> {
    const ZERO: Self = Lanes([-0.0; M]);
    #[inline]
    fn finish(self) -> Self {
        Lanes(self.0.map(|x| x + 0.0))
    }
}

/// An all-zero value of the same shape: the adjoint buffer a pullback makes for an array
/// argument whose caller has no derivative to collect.
pub trait ZerosLike {
    type Owned;
    fn zeros_like(&self) -> Self::Owned;
}

impl ZerosLike for [f64] {
    type Owned = Vec<f64>;
    fn zeros_like(&self) -> Vec<f64> {
        vec![0.0; self.len()]
    }
}

impl ZerosLike for Vec<f64> {
    type Owned = Vec<f64>;
    fn zeros_like(&self) -> Vec<f64> {
        vec![0.0; self.len()]
    }
}

impl<const N: usize> ZerosLike for [f64; N] {
    type Owned = [f64; N];
    fn zeros_like(&self) -> [f64; N] {
        [0.0; N]
    }
}

impl<const N: usize> ZerosLike for [[f64; N]] {
    type Owned = Vec<[f64; N]>;
    fn zeros_like(&self) -> Vec<[f64; N]> {
        vec![[0.0; N]; self.len()]
    }
}

/// A caller's adjoint storage as the buffer type a callee's backpropagator takes
/// (`&mut Vec<f64>` or `&mut [f64; N]` as `&mut [f64]`, and so on).
pub trait IntoBuffer<'a, B> {
    fn into_buffer(self) -> B;
}

impl<'a> IntoBuffer<'a, &'a mut [f64]> for &'a mut [f64] {
    fn into_buffer(self) -> &'a mut [f64] {
        self
    }
}

impl<'a> IntoBuffer<'a, &'a mut [f64]> for &'a mut Vec<f64> {
    fn into_buffer(self) -> &'a mut [f64] {
        self
    }
}

impl<'a, const N: usize> IntoBuffer<'a, &'a mut [f64]> for &'a mut [f64; N] {
    fn into_buffer(self) -> &'a mut [f64] {
        self
    }
}

impl<'a, const N: usize> IntoBuffer<'a, &'a mut [f64; N]> for &'a mut [f64; N] {
    fn into_buffer(self) -> &'a mut [f64; N] {
        self
    }
}

impl<'a, const N: usize> IntoBuffer<'a, &'a mut [[f64; N]]> for &'a mut [[f64; N]] {
    fn into_buffer(self) -> &'a mut [[f64; N]] {
        self
    }
}

impl<'a, const N: usize> IntoBuffer<'a, &'a mut [[f64; N]]> for &'a mut Vec<[f64; N]> {
    fn into_buffer(self) -> &'a mut [[f64; N]] {
        self
    }
}

/// A constant `[f64; N]` as an array of the element type a callee's parameter takes, in the
/// version over dual numbers.
pub fn lift_array<T: crate::Real, const N: usize>(values: &[f64; N]) -> [T; N] {
    core::array::from_fn(|i| T::from_f64(values[i]))
}

/// A constant `f64` array as the element type a callee's parameter takes, in the version over
/// dual numbers (`S`, or `f64` for a constant parameter).
pub fn lift_slice<T: crate::Real>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&v| T::from_f64(v)).collect()
}

/// An array of the version over dual numbers that carries no derivative, as the element type
/// a callee's parameter takes (its own `S`, or `f64` for a constant parameter): its values
/// are all it has.
pub fn relift_slice<A: crate::Real, T: crate::Real>(values: &[A]) -> Vec<T> {
    values.iter().map(|&v| T::from_f64(v.primal())).collect()
}

/// An argument of a type the macro cannot see (a `const`, a field, a value of a user type) passed
/// to a `_generic` callee: an `f64` becomes the callee's scalar `S`, like a float literal; any
/// other value is passed on as it is. The choice is made by method resolution on the argument's
/// actual type (`FloatArg` applies to `Arg<f64>` itself, `OtherArg` only after an autoref):
/// `{ use FloatArg as _, OtherArg as _; Arg::new(value).lift_arg::<S>() }`.
pub struct Arg<T>(core::cell::Cell<Option<T>>);

impl<T> Arg<T> {
    #[inline(always)]
    pub fn new(value: T) -> Self {
        Arg(core::cell::Cell::new(Some(value)))
    }
}

/// See [`Arg`]: an `f64` argument as the callee's scalar.
pub trait FloatArg {
    fn lift_arg<S: crate::Real>(self) -> S;
}

impl FloatArg for Arg<f64> {
    #[inline(always)]
    fn lift_arg<S: crate::Real>(self) -> S {
        S::from_f64(self.0.into_inner().unwrap_or_default())
    }
}

/// See [`Arg`]: an argument of any other type, unchanged.
pub trait OtherArg<T> {
    fn lift_arg<S>(self) -> T;
}

impl<T> OtherArg<T> for &Arg<T> {
    #[inline(always)]
    fn lift_arg<S>(self) -> T {
        match self.0.take() {
            Some(value) => value,
            None => unreachable!("an argument is passed once"),
        }
    }
}

/// Checks an index into a run of an array (a window, a chunk, `let r = &xs[a..b];`) as Rust
/// checks an index into a slice of that length: the run is read in place, where the array's own
/// bounds are wider.
#[inline(always)]
#[track_caller]
pub fn check_index(index: usize, len: usize) {
    if index >= len {
        panic!("index out of bounds: the len is {len} but the index is {index}");
    }
}

/// Checks the range of a sub-slice (`&xs[a..b]`, `&row[1..]`) as slicing does.
#[inline(always)]
#[track_caller]
pub fn check_range(start: usize, end: usize, len: usize) {
    if start > end {
        panic!("slice index starts at {start} but ends at {end}");
    }
    if end > len {
        panic!("range end index {end} out of range for slice of length {len}");
    }
}

/// `dst += src`, element by element: the adjoint an array received through its second
/// buffer in a call it was passed to twice (`dot(&v, &v)`).
pub fn add_from<T: AddFrom>(dst: &mut [T], src: &[T]) {
    for (d, s) in dst.iter_mut().zip(src) {
        d.add_from(s);
    }
}

/// An element of an adjoint buffer: a float, or a row of them.
pub trait AddFrom {
    fn add_from(&mut self, other: &Self);
}

impl AddFrom for f64 {
    fn add_from(&mut self, other: &f64) {
        *self += *other;
    }
}

impl<const N: usize> AddFrom for [f64; N] {
    fn add_from(&mut self, other: &[f64; N]) {
        for (d, s) in self.iter_mut().zip(other) {
            *d += *s;
        }
    }
}

/// The values and tangents of dual numbers written back into a `&mut` array and its tangent
/// (after forward mode through a function that changes the array).
pub fn unseed(seeded: &[Dual<f64, 1>], values: &mut [f64], tangents: &mut [f64]) {
    for ((d, v), t) in seeded.iter().zip(values).zip(tangents) {
        *v = d.re;
        *t = d.eps[0];
    }
}

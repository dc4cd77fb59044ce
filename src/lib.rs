//! Compile-time automatic differentiation of ordinary Rust functions, on stable Rust.
//!
//! Annotate a function over `f64` with [`differentiate`] and its derivatives are generated
//! beside it as Rust source: forward mode over dual numbers and reverse mode over
//! backpropagators, with no runtime tape for straight-line and branching code.
//!
//! ```
//! use autodiff::differentiate;
//!
//! #[differentiate]
//! fn model(a: f64, x: f64) -> f64 {
//!     a * x.sin()
//! }
//!
//! let (value, [da, dx]) = model_grad(2.0, 0.5);
//! assert!((value - 2.0 * 0.5f64.sin()).abs() < 1e-15);
//! assert!((da - 0.5f64.sin()).abs() < 1e-15);
//! assert!((dx - 2.0 * 0.5f64.cos()).abs() < 1e-15);
//! ```
//!
//! # The generated API
//!
//! For `#[differentiate] fn f(x: f64, y: f64) -> f64`, the original `f` stays as written and
//! these siblings appear beside it, with the same visibility:
//!
//! | item | what it computes |
//! |---|---|
//! | `f_generic::<S: Real>(x: S, y: S) -> S` | `f` over any scalar of the runtime: `f64`, `f32`, [`Dual`], nested duals, or your own type |
//! | `f_jvp(x, dx, y, dy) -> (f64, f64)` | forward mode: the value and the derivative along `(dx, dy)` |
//! | `f_vjp(x, y) -> (f64, impl Fn(f64) -> [f64; 2])` | reverse mode: the value and the backpropagator, mapping an output sensitivity to input sensitivities; the forward sweep runs once, each call of the backpropagator runs only the reverse sweep |
//! | `f_grad(x, y) -> (f64, [f64; 2])` | value and gradient, from one reverse sweep |
//! | `f_hessian(x, y) -> [[f64; 2]; 2]` | second derivatives, through nested dual numbers |
//!
//! A function returning several values (`-> (f64, f64)` or `-> [f64; M]`) gets
//! `f_jacobian(..) -> [[f64; N]; M]` instead of `_grad` and `_hessian`; its `_jvp` returns the
//! values and the tangents in the same shape, and its backpropagator takes the output
//! sensitivities in that shape.
//!
//! Parameters that are not `f64` (integers, `bool`, references to data) are passed through
//! and get no slot in the gradient. An `f64` parameter marked `#[constant]` is treated the
//! same way:
//!
//! ```
//! use autodiff::differentiate;
//!
//! #[differentiate]
//! fn scaled_square(x: f64, #[constant] scale: f64, flip: bool) -> f64 {
//!     let s = if flip { -x } else { x };
//!     scale * s * s
//! }
//!
//! let (_, [dx]) = scaled_square_grad(3.0, 0.5, true);
//! assert!((dx - 3.0).abs() < 1e-15);
//! ```
//!
//! # The supported language
//!
//! `let` (with or without a type, `mut`, shadowing), assignment and `+= -= *= /=`, blocks,
//! arithmetic, float literals, `std::f64::consts` and your own `const`s, every function of the
//! [rule table](rules) in both call forms (`x.sin()` and `f64::sin(x)`), `if`/`else if`/`else`
//! as statements and as expressions, comparisons and `&& || !` in conditions, `match` on
//! values that are not floats, early `return`, `as f64` casts of integers, and calls of other
//! `#[differentiate]` functions anywhere in the crate (reverse mode calls the callee's
//! backpropagator; nothing is replayed).
//!
//! Loops and arrays: `for` over ranges (`0..n`, `..=`, `.rev()`, `.step_by(k)`) and over slices
//! (`for &x in xs`, `.iter()`, `.enumerate()`, `.zip(..)`), `while`, `loop`, labelled
//! `break`/`continue`, `return` inside loops; parameters `&[f64]`, `&Vec<f64>`, `[f64; N]`,
//! `&[[f64; N]]`; local `[0.0; N]` and `vec![0.0; n]` written in place; `.iter().sum()` and
//! `.iter().map(..).sum()`. After each differentiated array parameter, `_grad` takes a `&mut`
//! buffer that it overwrites with the derivative, `_jvp` takes a tangent slice, and the
//! backpropagator of `_vjp` adds into buffers:
//!
//! ```
//! use autodiff::differentiate;
//!
//! #[differentiate]
//! fn loss(w: &[f64], #[constant] x: &[f64], #[constant] y: &[f64]) -> f64 {
//!     let mut sum = 0.0;
//!     for i in 0..x.len() {
//!         let e = w[0] * x[i] + w[1] - y[i];
//!         sum += e * e;
//!     }
//!     sum / x.len() as f64
//! }
//!
//! let (x, y) = ([0.0, 1.0, 2.0], [1.0, 3.0, 5.0]);
//! let mut dw = [0.0; 2];
//! let value = loss_grad(&[2.0, 1.0], &mut dw, &x, &y);
//! assert!(value.abs() < 1e-15 && dw[0].abs() < 1e-15 && dw[1].abs() < 1e-15);
//! ```
//!
//! A derivative you supply replaces differentiating the body (for opaque or numerically
//! delicate functions): `#[differentiate(partials = rule)]`, where `rule` is generic over
//! [`Real`] and returns the value and the partial derivatives:
//!
//! ```
//! use autodiff::{differentiate, Real};
//!
//! #[differentiate(partials = log1p_exp_partials)]
//! fn log1p_exp(x: f64) -> f64 {
//!     if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
//! }
//!
//! fn log1p_exp_partials<S: Real>(x: S) -> (S, [S; 1]) {
//!     let value = if x > S::zero() { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() };
//!     (value, [S::one() / (S::one() + (-x).exp())])
//! }
//!
//! let (_, [d]) = log1p_exp_grad(800.0);
//! assert_eq!(d, 1.0);
//! ```
//!
//! # Methods
//!
//! In an `impl` block, a method taking `&self` gets its siblings as methods, each taking the
//! receiver and then exactly the parameters of the free-function API. `self` is data without
//! a derivative, like a `#[constant]` parameter: its fields are read (`self.length`,
//! `self.weights[i]`), never written. A differentiated method calls another as
//! `self.energy(a, b)` (or `Self::energy(self, a, b)`) and a differentiated associated
//! function as `Self::helper(x)`; derivatives flow through these calls as through calls of
//! free functions.
//!
//! ```
//! use autodiff::differentiate;
//!
//! struct Pendulum {
//!     length: f64,
//!     weights: Vec<f64>,
//! }
//!
//! impl Pendulum {
//!     #[differentiate]
//!     fn energy(&self, theta: f64, omega: f64) -> f64 {
//!         0.5 * self.length * omega * omega - 9.81 * theta.cos()
//!     }
//!
//!     #[differentiate]
//!     fn loss(&self, w: &[f64]) -> f64 {
//!         let mut s = 0.0;
//!         for i in 0..w.len() {
//!             s += self.weights[i] * w[i] * w[i];
//!         }
//!         s + self.energy(w[0], w[1]) + Self::penalty(w[0])
//!     }
//!
//!     // Without `self`, nothing in the function says it is in an `impl`: `method` does.
//!     #[differentiate(method)]
//!     fn penalty(x: f64) -> f64 {
//!         x * x * x
//!     }
//! }
//!
//! let p = Pendulum { length: 2.0, weights: vec![1.0, 0.5] };
//! let (_, [d_theta, d_omega]) = p.energy_grad(0.0, 1.0);
//! assert!(d_theta.abs() < 1e-15 && (d_omega - 2.0).abs() < 1e-15);
//! let mut dw = [0.0; 2];
//! let value = p.loss_grad(&[0.0, 1.0], &mut dw);
//! assert!((value - p.loss(&[0.0, 1.0])).abs() < 1e-15);
//! assert_eq!(dw, [0.0, 3.0]);
//! let (_, [d]) = Pendulum::penalty_grad(2.0);
//! assert_eq!(d, 12.0);
//! ```
//!
//! An associated function without `self` needs `#[differentiate(method)]` unless it names
//! `Self` (the macro sees the function, not the `impl` around it). Other receivers
//! (`&mut self`, `self`, `self: Box<Self>`) are errors: a method that changed a float field
//! would need the derivative of that change; return the new values instead. A trait impl
//! cannot hold the siblings (they are not items of the trait): differentiate a method of an
//! inherent `impl` and call it from the trait method. `partials = ...` is for free functions.
//!
//! Anything else is a compile error at the offending code, naming the construct and what to
//! write instead; every such error in a function is reported in one build.
//!
//! # How reverse mode is generated
//!
//! The forward sweep is the function in three-address form, keeping each value that the reverse
//! sweep needs in its own immutable local (reads of a mutable variable that a later adjoint needs
//! are copied first). The backpropagator is a closure over those locals that runs one adjoint
//! statement per operation, in reverse order, accumulating each adjoint in a local `f64`, so a
//! shared subexpression costs one adjoint and nothing is allocated. An `if` or `match` records
//! the branch it took; the reverse sweep takes the same branch.
//!
//! Inside loops, values the reverse sweep needs are pushed on a tape and popped by the
//! operation's adjoint. Loop indices, integers computed from them, counters (`k += step`) and
//! array elements that no later write changes are computed or read again instead; for an array
//! overwritten in every iteration, either its endangered reads or its overwritten elements are
//! recorded, whichever is fewer. The README's "What a loop records" has the details.
#![forbid(unsafe_code)]

pub use autodiff_macro::differentiate;
pub use autodiff_runtime::*;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

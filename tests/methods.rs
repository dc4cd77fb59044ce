//! `#[differentiate]` on methods (`&self`) and associated functions: every generated method
//! against central differences of the method as written (1e-8 with the fourth-order stencil)
//! and forward mode against reverse mode (1e-12).
#![deny(warnings)]
// The differentiated methods are written the way users write them, index loops included.
#![allow(clippy::needless_range_loop)]

mod common;
use autodiff::differentiate;
use common::*;
use std::cell::Cell;

const MODES: f64 = 1e-12;
const NUMERIC: f64 = 1e-8;

// ------------------------------------------------------------------ a model with methods

pub struct Pendulum {
    pub length: f64,
    pub mass: f64,
    pub weights: Vec<f64>,
    /// Interior mutability: how often `counted` ran (data, never a derivative).
    calls: Cell<usize>,
}

impl Pendulum {
    const G: f64 = 9.81;

    fn new(weights: Vec<f64>) -> Self {
        Pendulum {
            length: 1.7,
            mass: 0.6,
            weights,
            calls: Cell::new(0),
        }
    }

    /// Scalars only: `self` is data.
    #[differentiate]
    pub fn energy(&self, theta: f64, omega: f64) -> f64 {
        0.5 * self.mass * self.length * self.length * omega * omega
            - self.mass * Self::G * self.length * theta.cos()
    }

    /// A loop over a slice reading `self.weights[i]`, and a call of another differentiated
    /// method.
    #[differentiate]
    pub fn loss(&self, w: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..w.len() {
            s += self.weights[i] * w[i] * w[i] + (self.weights[i] * w[i]).sin();
        }
        s + self.energy(w[0], w[1]) * self.energy(w[2], 0.5)
    }

    /// An associated function without a receiver: nothing in it says it is in an `impl`.
    #[differentiate(method)]
    pub fn softclip(x: f64) -> f64 {
        x / (1.0 + x * x).sqrt()
    }

    /// An associated function that names `Self`, which says it is in an `impl`.
    #[differentiate]
    pub fn fall_time(height: f64) -> f64 {
        (2.0 * height / Self::G).sqrt()
    }

    /// Calls of an associated function (`Self::softclip`), of a method written as a path
    /// (`Self::energy(self, ..)`), and of a method with arguments that carry no derivative.
    #[differentiate]
    pub fn mixed(&self, a: f64, b: f64) -> f64 {
        let clipped = Self::softclip(a * b) + Self::fall_time(b * b + 1.0);
        let e = Self::energy(self, a, clipped);
        let reference = self.energy(0.25, 0.5);
        if e > reference {
            e - reference
        } else {
            (reference - e) * a
        }
    }

    /// A method of another value of the type, called by path with that value first.
    #[differentiate]
    pub fn coupled(&self, other: &Pendulum, x: f64) -> f64 {
        self.energy(x, 1.0) * Pendulum::energy(other, 0.5, x)
    }

    /// Several outputs, no calls: the Jacobian is one sweep over lanes.
    #[differentiate]
    pub fn position(&self, theta: f64, r: f64) -> (f64, f64) {
        let l = self.length + r;
        (l * theta.sin(), -l * theta.cos())
    }

    /// Several outputs through a call of a method: one reverse sweep per output.
    #[differentiate]
    pub fn state(&self, theta: f64, omega: f64) -> [f64; 2] {
        [self.energy(theta, omega), omega * self.length / theta.cos()]
    }

    /// A method that changes data through `&self` (a `Cell` count) but no float of `self`:
    /// each sibling runs the body once.
    #[differentiate]
    pub fn counted(&self, x: f64) -> f64 {
        self.calls.set(self.calls.get() + 1);
        x * x * self.length
    }
}

fn pendulum() -> Pendulum {
    Pendulum::new(vec![0.5, 1.5, -0.7, 2.5])
}

#[test]
fn scalar_method_against_central_differences_and_forward_mode() {
    let p = pendulum();
    for &(theta, omega) in &[(0.3, 0.7), (-1.2, 2.5), (2.9, -0.4)] {
        let (value, g) = p.energy_grad(theta, omega);
        assert_close(value, p.energy(theta, omega), 1e-15);
        let numeric = numeric_gradient(|[t, o]| p.energy(t, o), [theta, omega]);
        assert_all_close(&g, &numeric, NUMERIC);
        let (v1, d_theta) = p.energy_jvp(theta, 1.0, omega, 0.0);
        let (_, d_omega) = p.energy_jvp(theta, 0.0, omega, 1.0);
        assert_close(v1, value, 1e-15);
        assert_all_close(&[d_theta, d_omega], &g, MODES);
        let (v2, back) = p.energy_vjp(theta, omega);
        assert_eq!(v2, value);
        assert_all_close(&back(-2.0), &[-2.0 * g[0], -2.0 * g[1]], MODES);
        // The Hessian against central differences of the gradient.
        let h = p.energy_hessian(theta, omega);
        for i in 0..2 {
            let row = numeric_gradient(|[t, o]| p.energy_grad(t, o).1[i], [theta, omega]);
            assert_all_close(&h[i], &row, NUMERIC);
        }
        // The generic sibling is a method too.
        assert_close(p.energy_generic(theta, omega), value, 1e-15);
    }
}

#[test]
fn slice_method_reading_fields_and_calling_a_method() {
    let p = pendulum();
    let w = [0.3, -0.8, 1.1, 0.45];
    let mut dw = [7.0; 4];
    let value = p.loss_grad(&w, &mut dw);
    assert_close(value, p.loss(&w), 1e-14);
    assert_all_close(&dw, &numeric_slice_gradient(|w| p.loss(w), &w), NUMERIC);
    let forward = forward_gradient(|t| p.loss_jvp(&w, t).1, w.len());
    assert_all_close(&forward, &dw, MODES);
    // The backpropagator adds into the buffer it is given.
    let (v, back) = p.loss_vjp(&w);
    assert_eq!(v, value);
    let mut acc = [1.0; 4];
    let _: [f64; 0] = back(0.5, &mut acc);
    for i in 0..4 {
        assert_close(acc[i], 1.0 + 0.5 * dw[i], MODES);
    }
}

#[test]
fn associated_functions() {
    for &x in &[-1.3, 0.2, 2.4] {
        let (v, [d]) = Pendulum::softclip_grad(x);
        assert_close(v, Pendulum::softclip(x), 1e-15);
        assert_close(d, numeric_derivative(Pendulum::softclip, x), NUMERIC);
        assert_close(Pendulum::softclip_jvp(x, 1.0).1, d, MODES);
        let h = Pendulum::softclip_hessian(x)[0][0];
        let numeric = numeric_derivative(|x| Pendulum::softclip_grad(x).1[0], x);
        assert_close(h, numeric, NUMERIC);
    }
    let (v, [d]) = Pendulum::fall_time_grad(3.0);
    assert_close(v, Pendulum::fall_time(3.0), 1e-15);
    assert_close(d, numeric_derivative(Pendulum::fall_time, 3.0), NUMERIC);
    assert_close(Pendulum::fall_time_jvp(3.0, 1.0).1, d, MODES);
}

#[test]
fn method_calling_associated_functions_and_methods_by_path() {
    let p = pendulum();
    // Points on both sides of the branch.
    for &(a, b) in &[(0.4, 1.3), (1.9, -0.6), (-0.8, 0.35), (2.2, 1.7)] {
        let (value, g) = p.mixed_grad(a, b);
        assert_close(value, p.mixed(a, b), 1e-15);
        let numeric = numeric_gradient(|[a, b]| p.mixed(a, b), [a, b]);
        assert_all_close(&g, &numeric, NUMERIC);
        let forward = [p.mixed_jvp(a, 1.0, b, 0.0).1, p.mixed_jvp(a, 0.0, b, 1.0).1];
        assert_all_close(&forward, &g, MODES);
    }
}

#[test]
fn method_of_another_value() {
    let p = pendulum();
    let mut q = pendulum();
    q.length = 0.8;
    for &x in &[-0.9, 0.3, 1.4] {
        let (v, [d]) = p.coupled_grad(&q, x);
        assert_close(v, p.coupled(&q, x), 1e-15);
        assert_close(d, numeric_derivative(|x| p.coupled(&q, x), x), NUMERIC);
        assert_close(p.coupled_jvp(&q, x, 1.0).1, d, MODES);
    }
}

#[test]
fn methods_with_several_outputs() {
    let p = pendulum();
    let (theta, r) = (0.6, 0.2);
    let j = p.position_jacobian(theta, r);
    let (x, y) = p.position(theta, r);
    for (i, out) in [|q: (f64, f64)| q.0, |q: (f64, f64)| q.1]
        .iter()
        .enumerate()
    {
        let numeric = numeric_gradient(|[t, r]| out(p.position(t, r)), [theta, r]);
        assert_all_close(&j[i], &numeric, NUMERIC);
    }
    let ((vx, vy), (tx, ty)) = p.position_jvp(theta, 1.0, r, 0.0);
    assert_eq!((vx, vy), (x, y));
    assert_all_close(&[tx, ty], &[j[0][0], j[1][0]], MODES);
    let ((_, _), back) = p.position_vjp(theta, r);
    assert_all_close(&back((1.0, 0.0)), &j[0], MODES);

    let (omega, theta) = (0.9, 0.4);
    let j = p.state_jacobian(theta, omega);
    for (i, row) in j.iter().enumerate() {
        let numeric = numeric_gradient(|[t, o]| p.state(t, o)[i], [theta, omega]);
        assert_all_close(row, &numeric, NUMERIC);
    }
    let (values, tangent) = p.state_jvp(theta, 0.0, omega, 1.0);
    assert_eq!(values, p.state(theta, omega));
    assert_all_close(&tangent, &[j[0][1], j[1][1]], MODES);
}

#[test]
fn interior_mutability_runs_once_per_sibling() {
    let p = pendulum();
    let (v, [d]) = p.counted_grad(1.5);
    assert_close(v, 1.5 * 1.5 * p.length, 1e-15);
    assert_close(d, numeric_derivative(|x| p.counted(x), 1.5), NUMERIC);
    assert_close(p.counted_jvp(1.5, 1.0).1, d, MODES);
    // `_grad` ran the pullback once, `numeric_derivative` ran `counted` at four points, and
    // `_jvp` ran the generic version once.
    assert_eq!(p.calls.get(), 6);
}

// ------------------------------------------------------------------ generic impls

/// A type with a const parameter: a field of `N` floats.
pub struct Grid<const N: usize> {
    pub spacing: [f64; N],
}

impl<const N: usize> Grid<N> {
    #[differentiate]
    pub fn roughness(&self, u: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 1..N {
            let d = (u[i] - u[i - 1]) / self.spacing[i];
            s += d * d;
        }
        s + self.ends(u[0], u[N - 1])
    }

    #[differentiate]
    pub fn ends(&self, first: f64, last: f64) -> f64 {
        (first * last * self.spacing[0]).tanh()
    }
}

/// A type with a lifetime and a type parameter that the derivatives do not use.
pub struct View<'a, T> {
    pub data: &'a [f64],
    pub tag: T,
}

impl<'a, T: Copy + PartialEq> View<'a, T> {
    #[differentiate]
    pub fn fit(&self, a: f64, b: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..self.data.len() {
            let e = a * i as f64 + b - self.data[i];
            s += e * e;
        }
        s
    }
}

#[test]
fn methods_of_generic_impls() {
    let grid = Grid {
        spacing: [0.5, 0.25, 0.4, 0.3, 0.6],
    };
    let u = [0.1, -0.3, 0.5, 0.2, 0.8];
    let mut du = [0.0; 5];
    let v = grid.roughness_grad(&u, &mut du);
    assert_close(v, grid.roughness(&u), 1e-14);
    assert_all_close(
        &du,
        &numeric_slice_gradient(|u| grid.roughness(u), &u),
        NUMERIC,
    );
    let forward = forward_gradient(|t| grid.roughness_jvp(&u, t).1, 5);
    assert_all_close(&forward, &du, MODES);

    let data = [1.0, 2.9, 5.2, 7.1];
    let view = View {
        data: &data,
        tag: 'x',
    };
    assert!(view.tag == 'x');
    let (v, g) = view.fit_grad(1.8, 0.9);
    assert_close(v, view.fit(1.8, 0.9), 1e-15);
    let numeric = numeric_gradient(|[a, b]| view.fit(a, b), [1.8, 0.9]);
    assert_all_close(&g, &numeric, NUMERIC);
    let h = view.fit_hessian(1.8, 0.9);
    // The Hessian of a least-squares fit: 2 Σ [i², i; i, 1].
    assert_all_close(&h[0], &[2.0 * 14.0, 2.0 * 6.0], MODES);
    assert_all_close(&h[1], &[2.0 * 6.0, 2.0 * 4.0], MODES);
}

// ------------------------------------------------------------------ trait impls

/// A trait impl cannot gain the siblings (they are not items of the trait): the method
/// differentiated in an inherent `impl`, and the trait method calling it, is the workaround the
/// README gives.
pub trait Objective {
    fn value(&self, w: &[f64]) -> f64;
    fn gradient(&self, w: &[f64], dw: &mut [f64]) -> f64;
}

pub struct Quadratic {
    pub centre: Vec<f64>,
}

impl Quadratic {
    #[differentiate]
    fn objective(&self, w: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..w.len() {
            let d = w[i] - self.centre[i];
            s += d * d * (1.0 + 0.1 * w[i].cos());
        }
        s
    }
}

impl Objective for Quadratic {
    fn value(&self, w: &[f64]) -> f64 {
        self.objective(w)
    }

    fn gradient(&self, w: &[f64], dw: &mut [f64]) -> f64 {
        self.objective_grad(w, dw)
    }
}

fn descend(f: &impl Objective, w: &mut [f64], steps: usize) -> f64 {
    let mut g = vec![0.0; w.len()];
    for _ in 0..steps {
        f.gradient(w, &mut g);
        for i in 0..w.len() {
            w[i] -= 0.2 * g[i];
        }
    }
    f.value(w)
}

#[test]
fn trait_method_through_an_inherent_method() {
    let q = Quadratic {
        centre: vec![1.0, -2.0, 0.5],
    };
    let w = [0.3, 0.1, -0.4];
    let mut g = [0.0; 3];
    q.gradient(&w, &mut g);
    assert_all_close(&g, &numeric_slice_gradient(|w| q.value(w), &w), NUMERIC);
    let mut w = w;
    assert!(descend(&q, &mut w, 200) < 1e-20);
    assert_all_close(&w, &q.centre, 1e-10);
}

// ------------------------------------------------------------------ methods with several outputs

pub struct Link {
    k: f64,
}

impl Link {
    #[differentiate]
    fn ends(&self, x: f64, y: f64) -> (f64, f64) {
        (x * self.k + y.sin(), y * self.k - x.cos())
    }

    /// `self.ends(..)` destructured, as a free function's outputs are.
    #[differentiate]
    fn spread(&self, x: f64, y: f64) -> f64 {
        let (a, b) = self.ends(x, y);
        let (c, _) = Self::ends(self, b, a);
        a * b + c * c
    }
}

#[test]
fn outputs_of_a_method_destructured() {
    let link = Link { k: 1.5 };
    let plain = |x: f64, y: f64| {
        let (a, b) = (x * 1.5 + y.sin(), y * 1.5 - x.cos());
        let c = b * 1.5 + a.sin();
        a * b + c * c
    };
    for (x, y) in [(0.4, -0.3), (1.2, 0.8)] {
        let (v, g) = link.spread_grad(x, y);
        assert_close(v, plain(x, y), 1e-14);
        assert_all_close(&g, &numeric_gradient(|p| plain(p[0], p[1]), [x, y]), 1e-8);
        let (_, tx) = link.spread_jvp(x, 1.0, y, 0.0);
        assert_close(tx, g[0], 1e-12);
    }
}

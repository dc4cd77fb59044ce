//! Time per training step against stack height, for SGD stacks and Adam stacks, on the digits MLP
//! (64-64-10, 4,810 weights, one fixed minibatch of 64 images).
//!
//!     cargo bench --bench optim -- --warm-up-time 1 --measurement-time 3
//!
//! The cost of each extra level relative to a height-1 step is `(T(h) − T(1)) / ((h − 1)·T(1))`. On a
//! shared machine the MLP step varies more than that difference, so the group `overhead` also times the
//! same stacks on 16 weights with a cheap, bounded, never-vanishing gradient (`0.1·sin(0.1·t + i)`), where
//! the optimizer is nearly all of the step: its slope in `h` is the absolute cost of one level.

#[path = "../examples/common/mod.rs"]
#[allow(dead_code)]
mod common;

use std::hint::black_box;

use autodiff::optim::{Adam, Sgd, Stack};
use common::{mlp_loss_grad, Digits, Mlp};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const HIDDEN: usize = 64;
const HEIGHTS: [usize; 6] = [1, 2, 3, 5, 10, 50];

fn sgd_stack(height: usize) -> Stack {
    // Tiny upper step sizes keep the many benchmark steps on one batch from diverging.
    (1..height).fold(Stack::new(Sgd::new(0.01)), |s, _| s / Sgd::new(1e-6))
}

fn adam_stack(height: usize) -> Stack {
    // Adam's steps have a size of about α whatever the size of the gradient, so in a tall Adam stack the
    // step sizes grow like t^(h−k) from level to level and diverge within a few hundred steps even from
    // 1e-9. The upper levels get α = 0: they do all their work (dual evaluation, state, hypergradients)
    // but move nothing, which costs the same.
    (1..height).fold(Stack::new(Adam::new(1e-3, 0.9, 0.999)), |s, _| {
        s / Adam::new(0.0, 0.9, 0.999)
    })
}

fn steps(c: &mut Criterion) {
    let digits = Digits::load(0.2, 7);
    let (x, y) = digits.batch(&(0..64).collect::<Vec<_>>());
    let mlp = Mlp { hidden: HIDDEN };
    let mut group = c.benchmark_group("step");
    group.sample_size(20);
    for (name, build) in [
        ("sgd", sgd_stack as fn(usize) -> Stack),
        ("adam", adam_stack),
    ] {
        for height in HEIGHTS {
            group.bench_with_input(BenchmarkId::new(name, height), &height, |b, &height| {
                let mut stack = build(height);
                let mut w = mlp.init(42);
                b.iter(|| {
                    let loss = stack
                        .step(&mut w, |w, g| mlp_loss_grad(w, g, &x, &y, HIDDEN))
                        .expect("benchmark run diverged");
                    black_box(loss)
                });
            });
        }
    }
    // The gradient alone, for reference: the part of a step that is not the optimizer's.
    group.bench_function("gradient only", |b| {
        let w = mlp.init(42);
        let mut g = vec![0.0; w.len()];
        b.iter(|| black_box(mlp_loss_grad(&w, &mut g, &x, &y, HIDDEN)));
    });
    group.finish();
}

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("overhead");
    group.sample_size(30);
    for (name, build) in [
        ("sgd", sgd_stack as fn(usize) -> Stack),
        ("adam", adam_stack),
    ] {
        for height in HEIGHTS {
            group.bench_with_input(BenchmarkId::new(name, height), &height, |b, &height| {
                let mut stack = build(height);
                let mut w = vec![1.0; 16];
                let mut t = 0u64;
                b.iter(|| {
                    t += 1;
                    let phase = 0.1 * (t % 1000) as f64;
                    let loss = stack
                        .step(&mut w, |w, g| {
                            for (i, gi) in g.iter_mut().enumerate() {
                                *gi = 0.1 * (phase + i as f64).sin();
                            }
                            w[0]
                        })
                        .expect("benchmark run diverged");
                    black_box(loss)
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, steps, overhead);
criterion_main!(benches);

//! Time per training step against stack height, for SGD stacks and Adam stacks, on the digits MLP
//! (64-64-10, 4,810 weights, one fixed minibatch of 64 images).
//!
//!     cargo bench --bench optim -- --warm-up-time 1 --measurement-time 3
//!
//! The cost of each extra level relative to a height-1 step is `(T(h) − T(1)) / ((h − 1)·T(1))`.

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
    // Adam's steps have a size of about α whatever the gradient: keep the upper ones negligible.
    (1..height).fold(Stack::new(Adam::new(1e-3, 0.9, 0.999)), |s, _| {
        s / Adam::new(1e-9, 0.9, 0.999)
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
                        .step(&mut w, |w, g| mlp_loss_grad(w, &x, &y, HIDDEN, g))
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
        b.iter(|| black_box(mlp_loss_grad(&w, &x, &y, HIDDEN, &mut g)));
    });
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);

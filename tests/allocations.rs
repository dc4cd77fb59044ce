//! Reverse and forward mode allocate nothing on the heap for code without loops: a counting global
//! allocator sees zero allocations across `_grad`, `_jvp` and `_vjp` (and the backpropagator).
//! Code with loops records on tapes, whose storage a thread reuses from one call to the next:
//! after the first call, a gradient over slices allocates nothing either.

use autodiff::differentiate;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[differentiate]
fn straight(x: f64, y: f64) -> f64 {
    let a = x * y + x.sin();
    let b = a.exp() / (1.0 + y * y);
    a * b - x.powi(3)
}

#[differentiate]
fn branching(x: f64, y: f64, n: i32) -> f64 {
    let mut s = x;
    if x > y {
        s *= y.tanh();
    } else if n > 2 {
        return x.hypot(y);
    }
    match n {
        0 => s + y,
        1 => s * y,
        _ => s.max(y) / 2.0,
    }
}

#[differentiate]
fn caller(x: f64, y: f64) -> f64 {
    straight(x, y) * branching(y, x, 1)
}

#[test]
fn no_heap_allocation_without_loops() {
    let mut sink = 0.0;
    let n = allocations_in(|| {
        for i in 0..100 {
            let x = 0.1 * i as f64 - 3.0;
            let (v, g) = straight_grad(x, 0.7);
            let (w, h) = branching_grad(x, 0.2, i % 4);
            let (u, k) = caller_grad(x, 0.4);
            let (t, d) = straight_jvp(x, 1.0, 0.7, 0.0);
            let (r, back) = branching_vjp(x, 0.2, 3);
            let e = back(2.0);
            sink += v + g[0] + w + h[1] + u + k[0] + t + d + r + e[0];
        }
    });
    assert!(sink.is_finite());
    assert_eq!(n, 0, "{n} heap allocations in code without loops");
}

#[differentiate]
fn looping(w: &[f64], #[constant] x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if w[i] > x[i] {
            s += (w[i] * x[i]).sin();
        } else {
            s -= w[i].exp() * s.cos();
        }
    }
    s
}

#[test]
fn tapes_are_reused_from_call_to_call() {
    let x: Vec<f64> = (0..500).map(|i| (0.37 * i as f64).sin()).collect();
    let w: Vec<f64> = (0..500).map(|i| (0.11 * i as f64).cos()).collect();
    let mut g = vec![0.0; w.len()];
    let first = looping_grad(&w, &mut g, &x);
    let want = g.clone();
    let n = allocations_in(|| {
        for _ in 0..10 {
            assert_eq!(looping_grad(&w, &mut g, &x), first);
            assert_eq!(g, want);
        }
    });
    assert_eq!(n, 0, "{n} heap allocations in 10 gradients after the first");
    // Another thread starts with its own (empty) pool and gets the same gradient.
    let other = std::thread::scope(|s| {
        s.spawn(|| {
            let mut g = vec![0.0; w.len()];
            looping_grad(&w, &mut g, &x);
            g
        })
        .join()
        .expect("no panic")
    });
    assert_eq!(other, want);
}

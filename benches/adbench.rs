//! ADBench objectives: the objective, the hand-written derivative and the num-dual peer, per workload.
//!
//! `cargo bench --bench adbench -- --warm-up-time 1 --measurement-time 3` (a few minutes on 2 cores).
//! The workloads and the list of derivatives are in `adbench/suite.rs`; the `#[differentiate]` versions
//! are added there (one line per objective, marked `MACRO SLOT`) and appear here without change.
//! For the ratio table from one quick run: `cargo run --release --example adbench_ratios`.
#![forbid(unsafe_code)]

#[path = "../adbench/mod.rs"]
mod adbench;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

fn adbench_suite(c: &mut Criterion) {
    for mut workload in adbench::suite::workloads(false) {
        let mut group = c.benchmark_group(workload.name);
        // Some runs take tens of milliseconds (num-dual on ba1 and GMM d10 K25): criterion's default linear
        // sampling would need 5,050 of them. Flat sampling with 20 samples keeps every group within its
        // measurement time.
        group.sampling_mode(SamplingMode::Flat).sample_size(20);
        group.bench_function("objective", |b| b.iter(&mut workload.objective));
        for (label, run) in &mut workload.derivatives {
            group.bench_function(label.as_str(), |b| b.iter(&mut *run));
        }
        group.finish();
    }
}

criterion_group!(benches, adbench_suite);
criterion_main!(benches);

//! Prints ADBench's headline ratios side by side from one quick run: derivative ÷ objective and
//! derivative ÷ hand-written, for every workload and derivative of `adbench/suite.rs`.
//!
//! Each time is ADBench's minimum over repeats. The machine is shared, so the repeats are spread over
//! three rounds (each round times every run in turn, for a third of the budget) and the minimum is taken
//! over all of them: a burst of load then spoils one round of every code rather than all of one code.
//!
//! `cargo run --release --example adbench_ratios [-- [--slow-peer] [SECONDS]]`: SECONDS (default 0.5) is
//! the time budget per measurement; `--slow-peer` adds num-dual's full gradient of GMM d10 K25 (104
//! passes, several seconds a call).
#![forbid(unsafe_code)]

#[path = "../adbench/mod.rs"]
mod adbench;

use std::time::{Duration, Instant};

const ROUNDS: u32 = 3;

/// Minimum wall time of one call of `run` over repeats within `budget` (at least one, at most 10,000).
fn min_time(run: &mut dyn FnMut(), budget: Duration) -> Duration {
    let start = Instant::now();
    let mut best = Duration::MAX;
    let mut reps = 0;
    while reps < 1 || (start.elapsed() < budget && reps < 10_000) {
        let t = Instant::now();
        run();
        best = best.min(t.elapsed());
        reps += 1;
    }
    best
}

fn pretty(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1e-1 {
        format!("{s:.3} s")
    } else if s >= 1e-4 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.3} µs", s * 1e6)
    }
}

fn main() {
    let mut budget = Duration::from_millis(500);
    let mut slow_peer = false;
    for arg in std::env::args().skip(1) {
        match (arg.as_str(), arg.parse::<f64>()) {
            ("--slow-peer", _) => slow_peer = true,
            (_, Ok(s)) if s > 0.0 => budget = Duration::from_secs_f64(s),
            _ => {
                eprintln!(
                    "usage: adbench_ratios [--slow-peer] [SECONDS per measurement, default 0.5]"
                );
                std::process::exit(2);
            }
        }
    }
    let per_round = budget / ROUNDS;
    println!(
        "{:<12} {:<26} {:<38} {:>11} {:>8} {:>8}",
        "workload", "size", "code", "min time", "÷ obj", "÷ hand"
    );
    for mut w in adbench::suite::workloads(slow_peer) {
        // Warm caches and lazily touched buffers once, then time in rounds.
        (w.objective)();
        for (_, run) in &mut w.derivatives {
            run();
        }
        let mut objective = Duration::MAX;
        let mut best = vec![Duration::MAX; w.derivatives.len()];
        for _ in 0..ROUNDS {
            objective = objective.min(min_time(&mut w.objective, per_round));
            for ((_, run), b) in w.derivatives.iter_mut().zip(&mut best) {
                *b = (*b).min(min_time(run.as_mut(), per_round));
            }
        }
        let ratio = |t: Duration, base: Duration| t.as_secs_f64() / base.as_secs_f64();
        println!(
            "{:<12} {:<26} {:<38} {:>11} {:>8} {:>8}",
            w.name,
            w.description,
            "objective",
            pretty(objective),
            "1",
            ""
        );
        // The first derivative of every workload is the hand-written one.
        let hand = best[0];
        for ((label, _), t) in w.derivatives.iter().zip(best) {
            println!(
                "{:<12} {:<26} {:<38} {:>11} {:>8.2} {:>8.2}",
                "",
                "",
                label,
                pretty(t),
                ratio(t, objective),
                ratio(t, hand)
            );
        }
    }
}

//! The examples' MLP (`examples/common/mod.rs`): its hand-written gradient against central differences of
//! its loss, and the data loading.

#[path = "../examples/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::{accuracy, mlp_loss, mlp_loss_grad, mlp_loss_grad_hand, Digits, Mlp, CLASSES, PIXELS};

#[test]
fn hand_written_mlp_gradient_matches_central_differences() {
    let digits = Digits::load(0.2, 1);
    let mlp = Mlp { hidden: 7 };
    let mut w = mlp.init(3);
    // Nonzero biases so that their gradients are exercised away from the initial point.
    let n = w.len();
    for (k, v) in w[n - CLASSES..].iter_mut().enumerate() {
        *v = 0.1 * k as f64 - 0.4;
    }
    let (x, y) = digits.batch(&[0, 5, 17, 42, 99, 123]);
    let mut grad = vec![0.0; n];
    let loss = mlp_loss_grad_hand(&w, &x, &y, mlp.hidden, &mut grad);
    // The two implementations sum in different orders: 1e-14 relative.
    let plain = mlp_loss(&w, &x, &y, mlp.hidden);
    assert!((loss - plain).abs() <= 1e-14 * plain, "{loss} vs {plain}");
    // Central differences with h = 1e-5: truncation ~h² ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11.
    let h = 1e-5;
    for i in 0..n {
        let mut wp = w.clone();
        wp[i] += h;
        let mut wm = w.clone();
        wm[i] -= h;
        let fd =
            (mlp_loss(&wp, &x, &y, mlp.hidden) - mlp_loss(&wm, &x, &y, mlp.hidden)) / (2.0 * h);
        assert!(
            (grad[i] - fd).abs() <= 1e-7 * grad[i].abs() + 1e-9,
            "weight {i}: gradient {} vs central difference {fd}",
            grad[i]
        );
    }
}

#[test]
fn digits_load_and_split() {
    let d = Digits::load(0.2, 1);
    assert_eq!(d.y_train.len() + d.y_test.len(), 1797);
    assert_eq!(d.y_test.len(), 359);
    assert_eq!(d.x_train.len(), d.y_train.len() * PIXELS);
    assert!(d.x_train.iter().all(|&p| (0.0..=1.0).contains(&p)));
    // Every digit appears in both parts.
    for c in 0..CLASSES {
        assert!(d.y_train.contains(&c) && d.y_test.contains(&c));
    }
    // An untrained MLP is near chance; its loss near ln 10.
    let mlp = Mlp { hidden: 16 };
    let w = mlp.init(2);
    let acc = accuracy(&w, &d.x_test, &d.y_test, mlp.hidden);
    assert!(acc < 0.4, "accuracy {acc}");
    let loss = mlp_loss(&w, &d.x_test, &d.y_test, mlp.hidden);
    assert!((loss - 10f64.ln()).abs() < 0.5, "loss {loss}");
}

#[test]
fn generated_mlp_gradient_matches_hand_written() {
    let digits = Digits::load(0.2, 1);
    let mlp = Mlp { hidden: 16 };
    let w = mlp.init(5);
    let (x, y) = digits.batch(&(0..32).collect::<Vec<_>>());
    let mut hand = vec![0.0; w.len()];
    let hand_loss = mlp_loss_grad_hand(&w, &x, &y, mlp.hidden, &mut hand);
    let mut generated = vec![7.0; w.len()]; // overwritten, not added to
    let loss = mlp_loss_grad(&w, &mut generated, &x, &y, mlp.hidden);
    assert!(
        (loss - hand_loss).abs() <= 1e-14 * hand_loss,
        "{loss} vs {hand_loss}"
    );
    for (i, (g, h)) in generated.iter().zip(&hand).enumerate() {
        // Same mathematics, different summation order: 1e-12 relative to the largest entry.
        assert!(
            (g - h).abs() <= 1e-12,
            "weight {i}: generated {g} vs hand-written {h}"
        );
    }
}

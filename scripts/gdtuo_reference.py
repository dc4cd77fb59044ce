"""Reference trajectories from the authors' implementation (`gdtuo`), in float64.

Run through `scripts/gdtuo_reference.sh`, which makes a venv with the pinned packages; the output is
committed as `tests/fixtures/gdtuo_reference.txt` and checked by `tests/optim_reference.rs`.

Problem: logistic regression on 16 fixed points in 3 dimensions, model `x·weight + bias` (two named
tensors, `weight` of 3 entries then `bias` of 1), loss = mean(log(1 + exp(-y·(x·weight + bias)))),
full batch, 20 steps per stack.

Format (one record per line, numbers printed with Python's shortest round-trip repr):
    data N D                      then N lines `x_1 … x_D y`
    init w_1 … w_{D+1}            initial weights (weight entries, then bias)
    case NAME                     a stack, bottom level first, as the Rust test builds it
    step T LOSS                   loss at step T (before the update)
    w …                           weights after the update of step T
    level K raw …                 raw hyperparameters of level K after step T
    level K grad …                their hypergradients H_K(T) (computed in step T)
"""
import math
import sys

import torch
from gradient_descent_the_ultimate_optimizer import gdtuo

torch.set_default_dtype(torch.float64)

N, D, STEPS = 16, 3, 20
X = [[math.sin(0.7 * i + 1.3 * j + 0.5) for j in range(D)] for i in range(N)]
Y = [1.0 if math.cos(1.1 * i + 0.3) > 0.0 else -1.0 for i in range(N)]
INIT = [0.1 * math.cos(0.9 * k + 0.2) for k in range(D + 1)]


class Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(INIT[:D]))
        self.bias = torch.nn.Parameter(torch.tensor(INIT[D:]))

    def forward(self, x):
        return x @ self.weight + self.bias


def stacks():
    S, M, P = gdtuo.SGD, gdtuo.SGDPerParam, gdtuo
    return [
        ("sgd/sgd", S(0.1, optimizer=S(0.01))),
        ("sgd_momentum/sgd", S(0.1, mu=0.9, optimizer=S(0.001))),
        ("sgd/sgd/sgd/sgd", S(0.1, optimizer=S(0.1, optimizer=S(0.1, optimizer=S(0.1))))),
        ("adam/sgd", P.Adam(0.01, optimizer=S(1e-3))),
        ("adam/adam/sgd", P.Adam(0.02, 0.8, 0.99, optimizer=P.Adam(1e-3, optimizer=S(1e-4)))),
        ("adagrad/sgd", P.AdaGrad(0.1, optimizer=S(0.01))),
        ("rmsprop/sgd/sgd", P.RMSProp(0.01, 0.9, optimizer=S(1e-3, optimizer=S(1e-3)))),
        ("rmsprop_alpha/adam", P.RMSPropAlpha(0.01, 0.95, optimizer=P.Adam(1e-3))),
        ("adam_baydin/sgd", P.AdamBaydin(0.01, optimizer=S(1e-4))),
        ("sgd_per_param/sgd", M([("weight", 0.1), ("bias", 0.05)], optimizer=S(0.01))),
        ("sgd/sgd_per_param", S(0.1, mu=0.5, optimizer=M([("alpha", 0.01)]))),
        ("adam/sgd_per_param/sgd", P.Adam(0.01, optimizer=M([("alpha", 1e-3), ("beta2", 0.1)], optimizer=S(1e-3)))),
    ]


def levels(opt):
    out = []
    while not isinstance(opt, gdtuo.NoOpOptimizer):
        out.append(opt)
        opt = opt.optimizer
    return out


def fmt(xs):
    return " ".join(repr(float(x)) for x in xs)


def flat(params):
    return [v.detach().reshape(-1) for v in params.values()]


def main():
    x = torch.tensor(X)
    y = torch.tensor(Y)
    out = sys.stdout
    out.write(f"data {N} {D}\n")
    for i in range(N):
        out.write(fmt(X[i] + [Y[i]]) + "\n")
    out.write("init " + fmt(INIT) + "\n")
    for name, opt in stacks():
        out.write(f"case {name}\n")
        mw = gdtuo.ModuleWrapper(Linear(), optimizer=opt)
        mw.initialize()
        for t in range(STEPS):
            mw.begin()
            loss = torch.log(1.0 + torch.exp(-y * mw.forward(x))).mean()
            mw.zero_grad()
            loss.backward(create_graph=True)
            grads = [
                [float(p.grad) for p in lvl.parameters.values()] for lvl in levels(opt)
            ]
            mw.step()
            out.write(f"step {t} {float(loss)!r}\n")
            out.write("w " + fmt(torch.cat(flat(mw.parameters)).tolist()) + "\n")
            for k, lvl in enumerate(levels(opt)):
                out.write(f"level {k} raw " + fmt(torch.cat(flat(lvl.parameters)).tolist()) + "\n")
                out.write(f"level {k} grad " + fmt(grads[k]) + "\n")


if __name__ == "__main__":
    main()

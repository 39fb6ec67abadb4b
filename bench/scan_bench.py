"""Scan benchmarks: the per-step cost of a lowered scan, and an LSTM training step.

- ``scan_overhead(n, mode)``: a compiled scan of one scalar add over ``n`` steps (the last
  value): its time over ``n`` is the cost of one step of the loop;
- ``LSTM``: the IMDB tutorial's model (embedding, LSTM written with ``scan``, mean-pool over
  time, logistic output, binary cross-entropy, plain SGD on every parameter), and its PyTorch
  twins from the same initial parameters: ``torch.nn.LSTM`` and an eager loop over steps.

    python bench/scan_bench.py            # prints both, with the machine's load
"""
from __future__ import annotations

import os
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import symgraph as theano  # noqa: E402
import symgraph.tensor as T  # noqa: E402


def scan_overhead(n, mode=None):
    """``f()`` running ``s <- s + 1`` for ``n`` steps in one scan; returns the last value."""
    s0 = T.dscalar("s0")
    out, _ = theano.scan(lambda s: s + 1.0, outputs_info=s0, n_steps=n)
    f = theano.function([s0], out[-1], mode=mode)
    return lambda: f(0.0)


def lstm_params(vocab, dim, hidden, seed=0):
    """Initial parameters (float32), torch's gate order (input, forget, cell, output)."""
    r = np.random.default_rng(seed)

    def w(*shape, scale=0.1):
        return (r.standard_normal(shape) * scale).astype("float32")

    return dict(Wemb=w(vocab, dim), W=w(dim, 4 * hidden), U=w(hidden, 4 * hidden),
                b_ih=w(4 * hidden), b_hh=w(4 * hidden), Wo=w(hidden, 1), bo=w(1))


def lstm_batch(steps, batch, vocab, seed=1):
    r = np.random.default_rng(seed)
    return r.integers(0, vocab, size=(steps, batch)), r.integers(0, 2, size=batch).astype("float32")


class LSTMSymgraph:
    """The training step compiled by symgraph; ``step()`` returns the cost."""

    def __init__(self, params, x, y, lr=0.1, mode=None):
        self.p = {k: theano.shared(v.copy(), name=k) for k, v in params.items()}
        p = self.p
        H = params["U"].shape[0]
        tok, lab = T.lmatrix("tok"), T.fvector("y")
        n_t, n_b = tok.shape[0], tok.shape[1]
        emb = p["Wemb"][tok.flatten()].reshape((n_t, n_b, params["Wemb"].shape[1]))
        proj = T.dot(emb, p["W"]) + p["b_ih"] + p["b_hh"]

        def step(xp, h, c, U):
            pre = xp + T.dot(h, U)
            i = T.nnet.sigmoid(pre[:, :H])
            f = T.nnet.sigmoid(pre[:, H:2 * H])
            g = T.tanh(pre[:, 2 * H:3 * H])
            o = T.nnet.sigmoid(pre[:, 3 * H:])
            c = f * c + i * g
            return o * T.tanh(c), c

        zeros = T.alloc(np.float32(0), n_b, H)
        (hs, _), _ = theano.scan(step, sequences=proj, outputs_info=[zeros, zeros],
                                 non_sequences=p["U"], name="lstm")
        z = (T.dot(hs.mean(axis=0), p["Wo"]) + p["bo"])[:, 0]
        cost = T.mean(T.nnet.softplus(z) - lab * z)
        params_ = list(p.values())
        grads = T.grad(cost, params_)
        self.f = theano.function([tok, lab], cost, mode=mode,
                                 updates=[(v, v - np.float32(lr) * g) for v, g in zip(params_, grads)])
        self.x, self.y = x, y

    def step(self):
        return float(self.f(self.x, self.y))


class LSTMTorch:
    """The same step in PyTorch: ``nn.LSTM`` (``eager=False``) or a Python loop over steps."""

    def __init__(self, params, x, y, lr=0.1, eager=False):
        import torch
        self.torch = torch
        H = params["U"].shape[0]
        D = params["W"].shape[0]
        t = {k: torch.tensor(v) for k, v in params.items()}
        self.emb = torch.nn.Parameter(t["Wemb"])
        self.lstm = torch.nn.LSTM(D, H)
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(t["W"].T)
            self.lstm.weight_hh_l0.copy_(t["U"].T)
            self.lstm.bias_ih_l0.copy_(t["b_ih"])
            self.lstm.bias_hh_l0.copy_(t["b_hh"])
        self.Wo, self.bo = torch.nn.Parameter(t["Wo"]), torch.nn.Parameter(t["bo"])
        self.params = [self.emb, *self.lstm.parameters(), self.Wo, self.bo]
        self.x, self.y = torch.tensor(x), torch.tensor(y)
        self.lr, self.eager, self.H = lr, eager, H

    def _hidden(self, e):
        if not self.eager:
            return self.lstm(e)[0]
        torch, H, L = self.torch, self.H, self.lstm
        h = c = torch.zeros(e.shape[1], H)
        proj = e @ L.weight_ih_l0.T + L.bias_ih_l0 + L.bias_hh_l0
        hs = []
        for t in range(e.shape[0]):
            pre = proj[t] + h @ L.weight_hh_l0.T
            i, f, g, o = pre.split(H, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs)

    def step(self):
        torch = self.torch
        e = self.emb[self.x]
        z = (self._hidden(e).mean(0) @ self.Wo + self.bo)[:, 0]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, self.y)
        for p in self.params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * p.grad
        return float(loss.detach())


def main():
    import time
    from bench import harness
    theano.config.floatX = "float32"
    print(f"# busy cores before: {harness.busy_cores()}")
    n = 10 ** 6
    f = scan_overhead(n)
    f()
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    print(f"scan_overhead C: {np.median(ts) / n * 1e9:.1f} ns/step")
    g = scan_overhead(10 ** 4, mode=theano.compile.mode.Mode(linker="py"))
    t0 = time.perf_counter()
    g()
    print(f"scan_overhead perform: {(time.perf_counter() - t0) / 1e4 * 1e9:.0f} ns/step")
    params = lstm_params(10000, 128, 128)
    x, y = lstm_batch(100, 16, 10000)
    sides = {"symgraph": LSTMSymgraph(params, x, y), "nn.LSTM": LSTMTorch(params, x, y),
             "eager": LSTMTorch(params, x, y, eager=True)}
    print({k: [round(s.step(), 6) for _ in range(3)] for k, s in sides.items()})
    times = harness.time_alternating({k: s.step for k, s in sides.items()}, repeats=10, warmup=2)
    print({k: f"{np.median(v) * 1e3:.2f} ms" for k, v in times.items()})
    print(f"# busy cores after: {harness.busy_cores()}")


if __name__ == "__main__":
    main()

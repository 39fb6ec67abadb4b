"""Check the PyTorch peers against an independent NumPy reference of the seeds' Theano graphs.

Run: ``python -m bench.check_peers`` (from the repository root; about 10 s).

What it establishes, so benchmark rows compare like with like:

* LeNet and the convnet compute Theano's cost: true (flipped) convolution,
  ``ignore_border`` pooling, the seeds' layer order; in float32 at full batch size.
* Their gradients, in Theano layout, match directional finite differences of the
  NumPy cost (float64), parameter by parameter; so the kernel flip is right on the
  way back too.
* One step applies SGD (LeNet) and RMSprop (convnet) exactly as the seeds write them.
* The micro peers match the reference forward, and their backward passes are the
  exact adjoints of the forward (``<gy, conv(dx, w)> == <gx, dx>``).

Exit status 1 on the first failure.
"""
from __future__ import annotations

import sys

import numpy as np

from bench import peers_torch as pt
from bench.harness import check_close


# --- NumPy reference of the Theano ops (float64, written from the definitions) ---

def conv2d_valid(x, w):
    """Theano conv2d, valid: out[n,o,r,c] = sum_{ch,i,j} x[n,ch,r+i,c+j] * w[o,ch,kh-1-i,kw-1-j]."""
    kh, kw = w.shape[2:]
    oh, ow = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, kh - 1 - i:kh - 1 - i + oh, kw - 1 - j:kw - 1 - j + ow]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j], optimize=True)
    return out


def conv2d_full(x, w):
    kh, kw = w.shape[2:]
    return conv2d_valid(np.pad(x, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1))), w)


def max_pool_2x2(x, ignore_border):
    n, c, h, w = x.shape
    if ignore_border:
        x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    else:
        x = np.pad(x, ((0, 0), (0, 0), (0, h % 2), (0, w % 2)), constant_values=-np.inf)
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def lenet_cost(p, x, y):
    h = x.reshape(-1, 1, 28, 28).astype(np.float64)
    h = np.tanh(max_pool_2x2(conv2d_valid(h, p["W0"]), True) + p["b0"][None, :, None, None])
    h = np.tanh(max_pool_2x2(conv2d_valid(h, p["W1"]), True) + p["b1"][None, :, None, None])
    h = np.tanh(h.reshape(h.shape[0], -1) @ p["W2"] + p["b2"])
    prob = softmax(h @ p["W3"] + p["b3"])
    return -np.mean(np.log(prob[np.arange(len(y)), y]))


def convnet_cost(p, x, y_onehot):
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    h = max_pool_2x2(relu(conv2d_full(x.astype(np.float64), p["w"])), False)
    h = max_pool_2x2(relu(conv2d_valid(h, p["w2"])), False)
    h = max_pool_2x2(relu(conv2d_valid(h, p["w3"])), False)
    h = relu(h.reshape(h.shape[0], -1) @ p["w4"])
    prob = softmax(h @ p["w_o"])
    return np.mean(-np.sum(y_onehot * np.log(prob), axis=1))


# --- checks ---

failures = []


def expect(msg):
    print("  FAIL" if msg else "  ok  ", msg or "")
    if msg:
        failures.append(msg)


def check_gradients(name, cost, params, grads, rng, eps=1e-8):
    """Directional finite difference of the reference cost along a random direction, per parameter.

    eps is small because max pooling makes the cost piecewise smooth: at 1e-5 a few
    windows change their argmax and the difference is off by ~1e-3 relative.
    """
    for key in params:
        d = rng.standard_normal(params[key].shape)
        plus = dict(params, **{key: params[key] + eps * d})
        minus = dict(params, **{key: params[key] - eps * d})
        fd = (cost(plus) - cost(minus)) / (2 * eps)
        print(f"{name} d/d{key}:", end="")
        expect(check_close(f"{name} grad {key}", float(np.sum(grads[key] * d)), fd, 1e-5, 1e-7))


def random_lenet_params(rng, dtype):
    shapes = {k: v.shape for k, v in pt.lenet_init_params().items()}
    scale = {"W0": 0.2, "W1": 0.05, "W2": 0.05, "W3": 0.1}
    return {k: (rng.standard_normal(s) * scale.get(k, 0.1)).astype(dtype) for k, s in shapes.items()}


def main():
    rng = np.random.default_rng(1234)

    print("LeNet, float32, batch 500, tutorial init but random W3: cost vs NumPy reference")
    p32 = pt.lenet_init_params()
    p32["W3"] = (rng.standard_normal((500, 10)) * 0.1).astype(np.float32)
    p32["b0"] = (rng.standard_normal(20) * 0.1).astype(np.float32)
    x = rng.random((500, 784), dtype=np.float32)
    y = rng.integers(0, 10, 500)
    net = pt.LeNetTorch(p32)
    ref = lenet_cost({k: v.astype(np.float64) for k, v in p32.items()}, x, y)
    torch_loss = net.step(x, y)
    print(f"  torch {torch_loss:.7f}  numpy {ref:.7f}", end="")
    expect(check_close("lenet cost", torch_loss, ref, 1e-5, 0))

    print("LeNet, float64, batch 8: gradients and the SGD step")
    p64 = random_lenet_params(rng, np.float64)
    x64, y64 = rng.random((8, 784)), rng.integers(0, 10, 8)
    net = pt.LeNetTorch(p64, lr=0.1)
    grads = net.grads(x64, y64)
    check_gradients("lenet", lambda p: lenet_cost(p, x64, y64), p64, grads, rng)
    net.step(x64, y64)
    print("lenet SGD step:", end="")
    expect(check_close("lenet step", net.get_params(), {k: p64[k] - 0.1 * grads[k] for k in p64}, 1e-12, 1e-14))

    print("Convnet, float32, batch 128, dropout off: cost vs NumPy reference")
    c32 = pt.convnet_init_params()
    c32 = {k: v * 10 for k, v in c32.items()}  # 0.1-scale weights: a cost away from log(10)
    xc = rng.random((128, 1, 28, 28), dtype=np.float32)
    yc = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    cnet = pt.ConvnetTorch(c32)
    ref = convnet_cost({k: v.astype(np.float64) for k, v in c32.items()}, xc, yc)
    torch_loss = cnet.step(xc, yc, dropout=False)
    print(f"  torch {torch_loss:.7f}  numpy {ref:.7f}", end="")
    expect(check_close("convnet cost", torch_loss, ref, 1e-5, 0))

    print("Convnet, float64, batch 6, dropout off: gradients and the RMSprop step")
    c64 = {k: v.astype(np.float64) for k, v in c32.items()}
    xc64, yc64 = rng.random((6, 1, 28, 28)), np.eye(10)[rng.integers(0, 10, 6)]
    cnet = pt.ConvnetTorch(c64)
    grads = cnet.grads(xc64, yc64, dropout=False)
    check_gradients("convnet", lambda p: convnet_cost(p, xc64, yc64), c64, grads, rng)
    for _ in range(2):  # two steps, so the accumulator's decay is exercised
        acc = {k: 0.9 * a + 0.1 * grads[k] ** 2 for k, a in cnet.get_accumulators().items()}
        want = {k: p - 0.001 * grads[k] / np.sqrt(acc[k] + 1e-6) for k, p in cnet.get_params().items()}
        cnet.step(xc64, yc64, dropout=False)
        print("convnet RMSprop step:", end="")
        expect(check_close("rmsprop", (cnet.get_params(), cnet.get_accumulators()), (want, acc), 1e-10, 1e-14))
        grads = cnet.grads(xc64, yc64, dropout=False)

    print("Convnet dropout on: cost differs from dropout off and stays finite")
    cnet = pt.ConvnetTorch(c32)
    on, off = cnet.loss(xc, yc, dropout=True), cnet.loss(xc, yc, dropout=False)
    expect(None if np.isfinite(on) and on != off else f"dropout cost {on} vs {off}")

    print("Micro: conv2d_fwd_bwd (LeNet conv2 shape, batch 16, float64): forward and adjoints")
    xs, ws = (16, 20, 12, 12), (50, 20, 5, 5)
    xm, wm, gy = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal((16, 50, 8, 8))
    out, gx, gw = pt.conv2d_fwd_bwd(xm, wm, gy)()
    dx, dw = rng.standard_normal(xs), rng.standard_normal(ws)
    expect(check_close("conv fwd", out, conv2d_valid(xm, wm), 1e-10, 1e-10)
           or check_close("conv gx", np.sum(gx * dx), np.sum(gy * conv2d_valid(dx, wm)), 1e-10, 1e-9)
           or check_close("conv gw", np.sum(gw * dw), np.sum(gy * conv2d_valid(xm, dw)), 1e-10, 1e-9)
           or check_close("conv no gx", pt.conv2d_fwd_bwd(xm, wm, gy, input_grad=False)(), (out, gw), 1e-12, 1e-12))

    print("Micro: maxpool (both border modes, odd size) and its gradient")
    xp = rng.standard_normal((4, 3, 13, 13))
    msg = None
    for ib in (True, False):
        o, g = pt.maxpool(xp, ignore_border=ib, backward=True)()
        ref = max_pool_2x2(xp, ib)
        up = np.full((4, 3, 14, 14), np.inf)  # each window's max, at every position it covers
        up[:, :, :ref.shape[2] * 2, :ref.shape[3] * 2] = ref.repeat(2, axis=2).repeat(2, axis=3)
        msg = msg or check_close(f"pool ib={ib}", o, ref, 0, 0) \
            or check_close(f"pool grad ib={ib}", g, (xp == up[:, :, :13, :13]).astype(float), 0, 0)
    expect(msg)

    print("Micro: softmax_xent and its gradient")
    z, t = rng.standard_normal((500, 10)), rng.integers(0, 10, 500)
    cost, g = pt.softmax_xent(z, t, backward=True)()
    prob = softmax(z)
    expect(check_close("xent", cost, -np.mean(np.log(prob[np.arange(500), t])), 1e-12, 0)
           or check_close("xent grad", g, (prob - np.eye(10)[t]) / 500, 1e-10, 1e-14))

    print(f"\n{'FAILED: ' + str(len(failures)) if failures else 'all peer checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

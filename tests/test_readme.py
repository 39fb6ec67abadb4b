"""The README's scan/ifelse snippet runs as written, and gives the values its comments show."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def section_code(title):
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], re.S)


def test_scan_ifelse_snippet_runs():
    (code,) = section_code("Loops and conditions")
    env = {}
    exec(compile(code, str(README), "exec"), env)
    theano = env["theano"]
    np.testing.assert_allclose(theano.function([env["x"]], env["csum"])(np.arange(5.0)),
                               [0, 1, 3, 6, 10])
    rng = np.random.RandomState(0)
    X, W, U, h0 = rng.randn(4, 3), rng.randn(3, 3), rng.randn(3, 3) * 0.5, rng.randn(3)
    gW, gU = theano.function([env["X"], env["W"], env["U"], env["h0"]],
                             [env["gW"], env["gU"]])(X, W, U, h0)
    assert gW.shape == (3, 3) and np.all(np.isfinite(gU))
    z = theano.function([env["a"], env["b"], env["X"], env["W"]], env["z"])
    assert np.isclose(z(0.0, 1.0, X, W), X.mean()) and np.isclose(z(1.0, 0.0, X, W), W.mean())
    xv = rng.randn(3)
    J = theano.function([env["W"], env["x"]], env["J"])(W, xv)
    np.testing.assert_allclose(J, (1 - np.tanh(W @ xv) ** 2)[:, None] * W, rtol=1e-10)

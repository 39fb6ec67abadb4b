"""The public API's type hints: symgraph/ops/type.pyi names every constructor the module
builds in a loop, and mypy accepts a user script that uses the API (and rejects misuse)."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import symgraph.ops.type as type_module

REPO_ROOT = Path(__file__).resolve().parents[1]
STUB = REPO_ROOT / "symgraph" / "ops" / "type.pyi"


def test_stub_names_every_public_name_of_ops_type():
    declared = set(re.findall(r"^(?:class |def )?(\w+)\b", STUB.read_text(), re.M))
    public = {n for n in vars(type_module) if not n.startswith("_")
              and getattr(getattr(type_module, n), "__module__", type_module.__name__) == type_module.__name__
              and not isinstance(getattr(type_module, n), type(sys))}
    missing = public - declared
    assert not missing, f"symgraph/ops/type.pyi lacks {sorted(missing)}"
    assert {"matrix", "fmatrix", "dtensor4", "ivectors", "matrices"} <= declared


needs_mypy = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="mypy is not installed (test extra)")


def _mypy(tmp_path, source):
    script = tmp_path / "script.py"
    script.write_text(source)
    env = dict(os.environ, MYPYPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
                           "--cache-dir", str(tmp_path / "cache"), str(script)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)


@needs_mypy
def test_mypy_accepts_a_user_script_and_rejects_misuse(tmp_path):
    good = (REPO_ROOT / "tests" / "typing_cases" / "user_script.py").read_text()
    bad = ("import symgraph as theano\nimport symgraph.tensor as T\n"
           "x = T.matrix(3)\nW = theano.shared('text')\nf = theano.function([x], x, mode=3)\n"
           "reveal_type(T.dmatrices('a', 'b'))\nreveal_type(theano.function([x], x))\n")
    proc = _mypy(tmp_path, good + "\n" + bad)
    out = proc.stdout
    lines = good.count("\n") + 1
    errors = [ln for ln in out.splitlines() if ": error:" in ln]
    assert {int(ln.split(":")[1]) for ln in errors} == {lines + 3, lines + 4, lines + 5}, out
    assert "list[symgraph.ops.variable.TensorVariable]" in out
    assert "symgraph.compile.function.Function" in out

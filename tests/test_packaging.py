"""The source distribution: ``python -m build --sdist`` carries what ``pip install`` and the
tests need (the C/CUDA sources the backends compile at run time, ``py.typed``, the tests and
their conftest files, the examples, the documentation's sources, LICENSE). .ci/run also
installs the sdist into a fresh virtual environment and compiles a function from it."""
import glob
import importlib.util
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# the PyPI package, not a ``build/`` folder of the checkout seen as a namespace package
_BUILD = importlib.util.find_spec("build")
pytestmark = pytest.mark.skipif(_BUILD is None or _BUILD.origin is None,
                                reason="the 'build' package is not installed (test extra)")


@pytest.fixture(scope="module")
def sdist_names(tmp_path_factory):
    out = tmp_path_factory.mktemp("sdist")
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out),
                           str(REPO_ROOT)], capture_output=True, text=True, timeout=300,
                          cwd=out)     # not the checkout, whose build/ would shadow the package
    assert proc.returncode == 0, f"python -m build --sdist failed:\n{proc.stdout}\n{proc.stderr}"
    (archive,) = out.glob("symgraph-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    top = names[0].split("/")[0]
    assert all(n == top or n.startswith(top + "/") for n in names)
    return {n[len(top) + 1:] for n in names if n != top}


def _repo_files(*patterns):
    found = set()
    for pattern in patterns:
        found.update(os.path.relpath(p, REPO_ROOT)
                     for p in glob.glob(str(REPO_ROOT / pattern), recursive=True))
    return found


def test_sdist_has_backend_sources_and_typing_marker(sdist_names):
    sources = _repo_files("symgraph/backends/*/src/*.c", "symgraph/backends/*/src/*.h",
                          "symgraph/backends/*/src/*.cu", "symgraph/backends/*/src/*.cuh")
    assert "symgraph/backends/c/src/core.c" in sources        # the glob saw the tree
    assert any(s.endswith(".cu") for s in sources)
    missing = sources - sdist_names
    assert not missing, f"C/CUDA sources missing from the sdist: {sorted(missing)}"
    assert "symgraph/py.typed" in sdist_names
    stubs = _repo_files("symgraph/**/*.pyi")
    assert "symgraph/ops/type.pyi" in stubs and stubs <= sdist_names


def test_sdist_has_every_module_test_example_and_doc(sdist_names):
    wanted = _repo_files("symgraph/**/*.py", "tests/**/*.py", "examples/*.py", "bench/*.py",
                         "docs/*.md", "docs/*.rst", "docs/conf.py", "docs/_ext/*.py")
    wanted = {w for w in wanted if "__pycache__" not in w and not w.startswith("docs/_build")}
    assert {"tests/conftest.py", "tests/rewrite/conftest.py", "examples/lenet.py",
            "docs/DESIGN.md"} <= wanted
    missing = wanted - sdist_names
    assert not missing, f"files missing from the sdist: {sorted(missing)}"
    assert {"LICENSE", "README.md", "pyproject.toml", "PKG-INFO", ".ci/run"} <= sdist_names


def test_sdist_has_no_build_outputs(sdist_names):
    junk = [n for n in sdist_names
            if "__pycache__" in n or n.endswith((".pyc", ".so")) or n.startswith("docs/_build")]
    assert not junk, f"build outputs in the sdist: {junk[:10]}"

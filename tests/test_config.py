"""Tests for symgraph/config.py: SYMGRAPH_FLAGS parsing and run-time assignment."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import symgraph
import symgraph.tensor as T
from symgraph.config import Config, ConfigError, config

REPO_ROOT = str(Path(symgraph.__file__).resolve().parents[1])


def _run_with_flags(flags, code):
    env = dict(os.environ, SYMGRAPH_FLAGS=flags, PYTHONPATH=REPO_ROOT)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


def test_flags_from_environment_in_subprocess():
    res = _run_with_flags(
        "floatX=float32, mode=FAST_COMPILE,print_rewrites=yes,optimizer_excluding=fusion:inplace",
        "import symgraph, symgraph.tensor as T\n"
        "c = symgraph.config\n"
        "print(c.floatX, c.mode, c.print_rewrites, c.optimizer_excluding, T.matrix().dtype)\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["float32", "FAST_COMPILE", "True", "('fusion',", "'inplace')",
                                  "float32"]


def test_unknown_flag_in_environment_warns_at_import():
    # Theano's behaviour (issue 17): an unknown name in the environment is a warning that
    # names the closest flag, and import goes on; it used to be an import error.
    res = _run_with_flags("floatX=float32,no_such_flag=1,flaotX=float16",
                          "import symgraph; print(symgraph.config.floatX)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["float32"]
    assert "ConfigWarning" in res.stderr and "no_such_flag" in res.stderr
    assert "did you mean 'floatX'" in res.stderr


def test_invalid_value_in_environment_fails_import():
    res = _run_with_flags("floatX=float8", "import symgraph")
    assert res.returncode != 0
    assert "floatX" in res.stderr and "float8" in res.stderr


def test_defaults():
    fresh = Config()
    assert fresh.floatX == "float64"
    assert fresh.device == "cpu"
    assert fresh.mode == "FAST_RUN"
    assert fresh.nan_guard is False
    assert fresh.optimizer_excluding == ()
    assert fresh.compiledir.endswith("symgraph")


def test_parse_flags_and_errors():
    c = Config()
    c.parse_flags("floatX=float16, openmp=0,,linker=py")
    assert (c.floatX, c.openmp, c.linker) == ("float16", False, "py")
    with pytest.raises(ConfigError, match="not of the form"):
        c.parse_flags("floatX")
    with pytest.raises(ConfigError, match="bogus"):
        c.parse_flags("bogus=1")
    with pytest.raises(ConfigError, match="openmp"):
        c.parse_flags("openmp=maybe")


def test_assignment_validates():
    c = Config()
    with pytest.raises(ConfigError, match="unknown symgraph flag 'floatx'"):
        c.floatx = "float32"
    with pytest.raises(ConfigError, match="linker"):
        c.linker = "fortran"
    with pytest.raises(AttributeError, match="no flag 'nope'"):
        c.nope
    c.device = "cpu"
    assert c.device == "cpu"
    c.compiledir = "/tmp/x"
    assert c.compiledir == "/tmp/x"


def test_device_spelling():
    from symgraph.config import _device
    assert _device("gpu0") == "cuda0"
    assert _device("cuda") == "cuda"
    with pytest.raises(ValueError):
        _device("tpu")


def test_floatX_changes_constructors_and_constants(floatX32):
    assert config.floatX == "float32"
    assert T.matrix().dtype == "float32"
    assert T.scalar().dtype == "float32"
    assert T.tensor(broadcastable=(False,)).dtype == "float32"
    assert T.constant(1.5).dtype == "float32"
    assert T.zeros((2,)).dtype == "float32"
    assert (T.ivector() * 1.5).dtype == "float64"   # int32 with a float32 constant


def test_dir_lists_flags():
    assert "floatX" in dir(config) and "device" in dir(config)
    assert "floatX = 'float64'" in Config().describe()

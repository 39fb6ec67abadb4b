"""``python -m symgraph.run``: unmodified Theano programs run against symgraph."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import symgraph

REPO_ROOT = str(Path(symgraph.__file__).resolve().parents[1])

PROGRAM = textwrap.dedent("""\
    import sys
    import numpy as np
    import theano
    import theano.tensor as T
    from theano.tensor.nnet import conv2d

    x = T.dmatrix('x')
    w = theano.shared(np.array([[1.0], [2.0]]), name='w')
    f = theano.function([x], (T.dot(x, w) ** 2).sum())
    print("value", f(np.array([[1.0, 1.0], [2.0, 0.5]])))
    print("argv", sys.argv[1:])
    print("name", __name__)
    print("same", sys.modules['theano.tensor'] is sys.modules['symgraph.tensor'],
          theano is sys.modules['symgraph'], conv2d.__module__.startswith('symgraph'))
    print("path0", sys.path[0])
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
    """)


def _run(args, cwd=None, module=True):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    env.pop("SYMGRAPH_FLAGS", None)
    # the program sees no flags of the developer's, only the test compile cache (conftest)
    env["THEANO_FLAGS"] = f"compiledir={symgraph.config.compiledir}"
    cmd = [sys.executable, "-m", "symgraph.run"] if module else \
        [sys.executable, "-c", "import sys, symgraph.run; sys.exit(symgraph.run.main())"]
    return subprocess.run(cmd + list(args), env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _lines(out):
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in out.splitlines()
            if " " in line}


def test_runs_a_theano_program_with_its_arguments(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    res = _run([str(prog), "7", "--flag", "x y"], cwd=str(tmp_path))
    assert res.returncode == 7, res.stderr
    out = _lines(res.stdout)
    assert float(out["value"]) == 18.0           # (1+2)**2 + (2+1)**2
    assert out["argv"] == "['7', '--flag', 'x y']"
    assert out["name"] == "__main__"
    assert out["same"] == "True True True"
    assert out["path0"] == str(tmp_path)


def test_console_entry_point_and_exit_zero(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    res = _run([str(prog), "a"], module=False)
    assert res.returncode == 0, res.stderr
    assert _lines(res.stdout)["argv"] == "['a']"


def test_run_module_form(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text(PROGRAM)
    res = _run(["-m", "pkg.main", "3"], cwd=str(tmp_path))
    assert res.returncode == 3, res.stderr
    assert _lines(res.stdout)["argv"] == "['3']"
    assert _lines(res.stdout)["name"] == "__main__"


def test_exception_is_reported_from_the_program(tmp_path):
    prog = tmp_path / "boom.py"
    prog.write_text("import theano\n\ndef f():\n    raise KeyError('boom')\n\nf()\n")
    res = _run([str(prog)])
    assert res.returncode == 1
    tb = res.stderr
    assert tb.startswith("Traceback (most recent call last):")
    assert f'File "{prog}", line 6' in tb and "KeyError: 'boom'" in tb
    assert "runpy" not in tb and "symgraph/run.py" not in tb


def test_missing_module_names_both_names(tmp_path):
    prog = tmp_path / "missing.py"
    prog.write_text("import theano.tensor.no_such_module\n")
    res = _run([str(prog)])
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError:")
    assert "'theano.tensor.no_such_module'" in last
    assert "'symgraph.tensor.no_such_module'" in last
    prog.write_text("import theano.foo.bar\n")
    last = _run([str(prog)]).stderr.strip().splitlines()[-1]
    assert "'theano.foo'" in last and "'symgraph.foo'" in last


def test_missing_program_and_usage(tmp_path):
    res = _run([str(tmp_path / "nope.py")])
    assert res.returncode == 2 and "can't open file" in res.stderr
    res = _run([])
    assert res.returncode == 2 and "usage" in res.stderr


def test_install_theano_alias_in_process():
    from symgraph import compat
    had = "theano" in sys.modules
    compat.install_theano_alias()
    try:
        import theano
        import theano.tensor
        from theano.tensor.nnet import conv2d  # noqa: F401
        assert theano is symgraph
        assert sys.modules["theano.tensor"] is sys.modules["symgraph.tensor"]
        assert sys.modules["theano.tensor.nnet"] is sys.modules["symgraph.tensor.nnet"]
        assert compat.install_theano_alias() is compat.install_theano_alias()
        try:
            import theano.no_such  # noqa: F401
        except ModuleNotFoundError as exc:
            assert "'theano.no_such'" in str(exc) and "'symgraph.no_such'" in str(exc)
        else:
            raise AssertionError("no error")
    finally:
        if not had:
            compat.uninstall_theano_alias()
    assert not any(isinstance(f, compat.TheanoAliasFinder) for f in sys.meta_path)

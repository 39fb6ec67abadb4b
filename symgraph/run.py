"""Run an unmodified Theano program on symgraph.

    python -m symgraph.run program.py [args...]
    python -m symgraph.run -m package.module [args...]
    symgraph-run program.py [args...]          # the console script

``import theano`` and every ``theano.X.Y`` give the symgraph modules (see
:mod:`symgraph.compat`); the program runs as ``__main__`` with ``sys.argv`` set to its
name and arguments and its directory first on ``sys.path``, as ``python program.py``
would; its exit status and uncaught exceptions are those python would give (the
traceback starts at the program, not in this runner).
"""
from __future__ import annotations

import os
import runpy
import sys
import traceback

from .compat import install_theano_alias

USAGE = ("usage: python -m symgraph.run program.py [args...]\n"
         "       python -m symgraph.run -m module [args...]\n"
         "Runs a Theano program with `theano` mapped to symgraph.")


def _print_program_exception(exc):
    """Print ``exc`` as python would for the program: without the leading frames of this
    runner and runpy, nor the trailing ones of the import alias."""
    here = os.path.dirname(os.path.abspath(__file__))
    runner = {os.path.join(here, "run.py"), os.path.abspath(runpy.__file__)}
    alias = os.path.join(here, "compat.py")
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    frames = list(te.stack)
    while frames and (os.path.abspath(frames[0].filename) in runner
                      or frames[0].filename.startswith("<frozen runpy")):
        frames.pop(0)
    while frames and (os.path.abspath(frames[-1].filename) == alias
                      or frames[-1].filename.startswith("<frozen importlib")):
        frames.pop()
    te.stack = traceback.StackSummary.from_list(frames)
    sys.stderr.write("".join(te.format()))


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not args else sys.stdout)
        return 2 if not args else 0
    install_theano_alias()
    try:
        if args[0] == "-m":
            if len(args) < 2:
                print("symgraph.run: -m needs a module name\n" + USAGE, file=sys.stderr)
                return 2
            module = args[1]
            sys.argv = [module] + args[2:]
            if not sys.path or sys.path[0] != os.getcwd():
                sys.path.insert(0, os.getcwd())
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            program = args[0]
            if not os.path.exists(program):
                print(f"{sys.executable}: can't open file {os.path.abspath(program)!r}: "
                      f"[Errno 2] No such file or directory", file=sys.stderr)
                return 2
            sys.argv = [program] + args[1:]
            directory = os.path.dirname(os.path.abspath(program))
            if sys.path and sys.path[0] in ("", os.getcwd()):
                sys.path[0] = directory        # python program.py: the program's folder
            else:
                sys.path.insert(0, directory)
            runpy.run_path(program, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:        # report it as python would, from the program down
        _print_program_exception(exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sphinx configuration of the symgraph documentation site.

    python -m sphinx -W --keep-going -b html docs docs/_build/html      # the site
    python -m sphinx -W --keep-going -b doctest docs docs/_build/doctest  # run the examples
"""
import atexit
import os
import shutil
import sys
import tempfile

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(DOCS))          # the symgraph package of this tree
sys.path.insert(0, os.path.join(DOCS, "_ext"))

# The examples compile functions: into a private compile directory, not the user's cache,
# unless a flag already names one (THEANO_FLAGS has the lowest precedence).
if "compiledir" not in os.environ.get("SYMGRAPH_FLAGS", "") + os.environ.get("THEANO_FLAGS", ""):
    _cache = tempfile.mkdtemp(prefix="symgraph-docs-cache-")
    atexit.register(shutil.rmtree, _cache, True)
    os.environ["THEANO_FLAGS"] = ",".join(
        f for f in (os.environ.get("THEANO_FLAGS", ""), f"compiledir={_cache}") if f)

import symgraph  # noqa: E402

project = "symgraph"
author = "the symgraph developers"
copyright = "the symgraph developers"
release = version = symgraph.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "benchplot",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated/*.md"]
templates_path = []
html_theme = "alabaster"
html_static_path = []
html_title = f"symgraph {release}"
html_theme_options = {"description": "A Theano-style symbolic tensor compiler", "fixed_sidebar": True}

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": False}
# optional third-party packages the backends import lazily
autodoc_mock_imports = ["pycuda", "mpi4py", "torch", "graphviz"]

# Only the explicit ``doctest``/``testcode`` blocks of the pages are run; the ``>>>`` lines of
# the docstrings are illustrations (they use variables defined elsewhere).
doctest_test_doctest_blocks = ""
doctest_global_setup = """
import numpy as np
import symgraph as theano
import symgraph.tensor as T
"""

nitpicky = False
suppress_warnings = ["myst.header"]

"""The import-layer contract (docs/DESIGN.md, "Layers"), checked over the AST of every module.

- A module imports only from its own layer or the layers below it.
- Every import of a symgraph module is at module level: none inside a function or method
  (optional third-party packages such as pycuda or torch may be imported lazily).
- No import circle among package files (modules of one layer import each other acyclically).
- Facade modules (the Theano module paths under tensor/ and sandbox/) only re-export.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "symgraph"

# bottom to top; a module belongs to the first entry whose prefix it matches (longest wins)
LAYERS = [
    ("config",),
    ("graph",),
    ("ops",),
    ("gradient",),
    ("rewrite",),
    ("backends",),
    ("compile",),
    ("printing",),
    # the user-facing top: facades, the program runner, extensions built on the compiler
    ("", "tensor", "sandbox", "configparser", "run", "compat", "distributed", "datasets",
     "gof", "scalar", "misc", "ifelse", "scan_module", "tests", "cache"),
]
FACADES = ("tensor", "sandbox")


def _modules():
    mods = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def layer_of(module):
    sub = module.split(".")[1] if "." in module else ""
    for level, names in enumerate(LAYERS):
        if sub in names:
            return level
    raise AssertionError(f"{module}: not in any layer of tests/test_layers.py (add it to LAYERS)")


def _resolve(module, path, node):
    """Absolute names of the symgraph modules an import statement refers to."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".")
            if path.name != "__init__.py":
                base = base[:-1]
            if node.level > 1:
                base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
        # ``from pkg import submodule`` depends on the submodule, not on pkg/__init__
        names = subs + ([target] if len(subs) < len(node.names) else [])
    out = []
    for name in names:
        if not (name == "symgraph" or name.startswith("symgraph.")):
            continue
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        out.append(name)
    return out


class _Imports(ast.NodeVisitor):
    def __init__(self):
        self.top, self.nested, self.depth = [], [], 0

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def _imp(self, node):
        (self.nested if self.depth else self.top).append(node)

    visit_Import = visit_ImportFrom = _imp


def _scan():
    graph, nested = {}, []
    for module, path in MODULES.items():
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(), str(path)))
        graph[module] = {t for node in visitor.top for t in _resolve(module, path, node)
                         if t != module}
        nested += [(module, node.lineno, t) for node in visitor.nested
                   for t in _resolve(module, path, node)]
    return graph, nested


GRAPH, NESTED = _scan()


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_upward_import():
    bad = [f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})"
           for m, targets in GRAPH.items() for t in sorted(targets)
           if layer_of(t) > layer_of(m) and not t == "symgraph"]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_function_level_internal_import():
    bad = [f"{m}:{line} imports {t} inside a function" for m, line, t in NESTED]
    assert not bad, "\n".join(bad)


def _cycles(graph):
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycle():
    # the package __init__ imports everything and everything imports through it: leave it out
    graph = {m: {t for t in ts if t != "symgraph"} for m, ts in GRAPH.items() if m != "symgraph"}
    cycles = _cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES
                                          if m.split(".")[1:2] and m.split(".")[1] in FACADES))
def test_facades_only_reexport(module):
    tree = ast.parse(MODULES[module].read_text())
    for node in tree.body:
        ok = isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) or (
            isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute, ast.List)))
        assert ok, f"{module}:{node.lineno}: a facade holds only imports and aliases"

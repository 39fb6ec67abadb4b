"""Sphinx extension: draw the README's benchmark table as a PNG when the site is built.

The data are the rows of the table under README.md's "## Performance" heading (the table
``bench/readme_table.py`` writes from a ``bench/run.py --json`` result); the plot shows each
row's ratio (symgraph time / peer time) on a log scale. ``python docs/_ext/benchplot.py OUT.png``
draws it without Sphinx.
"""
from __future__ import annotations

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "..", "..", "README.md")
OUTPUT = os.path.join(HERE, "..", "_generated", "bench_ratio.png")


def performance_rows(text: str) -> list[dict]:
    """The rows of the first table after the "## Performance" heading, as dicts by column."""
    section = text.split("\n## Performance", 1)[1].split("\n## ", 1)[0]
    lines = [ln.strip() for ln in section.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| work |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", ln.strip("|"))]
        rows.append(dict(zip(header, cells)))
    if not rows:
        raise ValueError("README.md: no benchmark rows under '## Performance'")
    return rows


def draw(rows: list[dict], path: str) -> int:
    """Write the ratio plot of the rows that have a ratio; returns how many were drawn."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(r["work"], float(r["ratio"].rstrip("x"))) for r in rows
           if re.fullmatch(r"[0-9.]+x", r.get("ratio", ""))]
    pts.reverse()                                   # first row on top
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(pts) + 1.2), dpi=100)
    colors = ["#3a7d44" if v < 1 else "#b5473a" for _, v in pts]
    ax.barh(range(len(pts)), [v for _, v in pts], color=colors)
    ax.set_yticks(range(len(pts)))
    ax.set_yticklabels([w if len(w) <= 60 else w[:57] + "..." for w, _ in pts], fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    for i, (_, v) in enumerate(pts):
        ax.text(v, i, f" {v:.2f}x", va="center", fontsize=7)
    ax.set_xlabel("symgraph time / peer time (log scale; below 1 symgraph is faster)")
    ax.set_title("symgraph against PyTorch / NumPy (README benchmark table)", fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return len(pts)


def _on_builder_inited(app):
    with open(README, encoding="utf-8") as f:
        draw(performance_rows(f.read()), OUTPUT)


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    with open(README, encoding="utf-8") as f:
        print(draw(performance_rows(f.read()), sys.argv[1] if len(sys.argv) > 1 else OUTPUT))

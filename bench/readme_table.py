"""Turn a ``bench/run.py --json`` result into the Markdown table of the README's performance section.

    python bench/run.py --json results.json
    python bench/readme_table.py results.json > table.md

The output starts with a line saying when, on what machine and with which versions the
numbers were measured, then one table row per result row.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import format_seconds  # noqa: E402


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def describe_machine(m: dict) -> str:
    """One sentence: date, CPU, cores, BLAS, versions, symgraph backend, gemm peak."""
    cpu = m.get("cpu", {})
    blas = (m.get("numpy") or {}).get("blas") or {}
    blas_text = " ".join(str(blas[k]) for k in ("name", "version") if blas.get(k)) or "unknown BLAS"
    bench = m.get("bench", {})
    sym = m.get("symgraph") or {}
    torch = m.get("torch") or {}
    parts = [
        f"Measured {m.get('date', '?')[:10]} on {cpu.get('model') or 'unknown CPU'} "
        f"({cpu.get('usable_cores', '?')} cores usable, {', '.join(cpu.get('flags') or []) or 'no SIMD flags'})",
        f"NumPy {(m.get('numpy') or {}).get('version', '?')} with {blas_text}",
        f"PyTorch {torch['version']} ({torch.get('threads')} threads)" if torch else "PyTorch not installed",
        f"Python {m.get('python', '?')}",
        f"symgraph {sym.get('version', '?')}" + (f" ({sym['commit']})" if sym.get("commit") else "")
        + f", mode {bench.get('symgraph_mode', '?')} on the {bench.get('symgraph_linker', '?')} backend",
    ]
    text = "; ".join(parts) + "."
    if bench.get("gemm_peak_gflops"):
        text += (f" %peak is relative to {bench['gemm_peak_gflops']:.0f} GFLOP/s, NumPy's float32 "
                 f"{bench.get('gemm_peak_n', 1024)}^3 matmul on this machine")
        if bench.get("gpu_peak_gflops"):
            text += f" (GPU rows: {bench['gpu_peak_gflops']:.0f} GFLOP/s, torch float32 matmul)"
        text += "."
    text += f" Preset: {bench.get('preset', '?')}"
    if m.get("busy_cores") is not None:
        text += f"; other work kept {m['busy_cores']} cores busy at the start"
        if m.get("busy_cores_end") is not None:
            text += f" and {m['busy_cores_end']} at the end"
    return text + "."


def markdown(doc: dict) -> str:
    """The Markdown text (description line, blank line, table) for a result document."""
    lines = [describe_machine(doc.get("machine", {})), "",
             "| work | symgraph | peer | peer time | ratio | % of peak | note |",
             "|---|---:|---|---:|---:|---:|---|"]
    for r in doc.get("rows", []):
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}x"
        pct = "-" if r.get("pct_peak") is None else f"{r['pct_peak']:.0f}%"
        lines.append("| " + " | ".join(_cell(c) for c in (
            r["work"], format_seconds(r.get("symgraph_s")), r.get("peer_name", ""),
            format_seconds(r.get("peer_s")), ratio, pct, r.get("note", ""))) + " |")
    lines.append("")
    lines.append("ratio = symgraph time / peer time (below 1.00x symgraph is faster); times are medians.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="a file written by bench/run.py --json")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    args = ap.parse_args(argv)
    with open(args.json) as f:
        text = markdown(json.load(f))
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

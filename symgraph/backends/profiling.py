"""Per-node time profiles of compiled functions (``function(..., profile=True)``, the
``profile`` flag).

A :class:`ProfileStats` is handed to the linker, which then runs the graph node by node (the C
backend: one C segment per node, so every node's time is its own) and adds each node's wall
time and call count. ``summary()`` is the table Theano users know: time per Apply node, its
share of the total, calls, and time per op type.
"""
from __future__ import annotations

import time
from collections import defaultdict


class ProfileStats:
    """Times of the nodes of one compiled function, accumulated over its calls."""

    def __init__(self, name=None):
        self.name = name
        self.node_time = defaultdict(float)     # Apply node -> seconds
        self.node_calls = defaultdict(int)
        self.order = []                         # the nodes, in execution order
        self.calls = 0                          # calls of the function
        self.call_time = 0.0                    # seconds inside the function's thunk

    def record(self, node, seconds):
        if node not in self.node_calls:
            self.order.append(node)
        self.node_time[node] += seconds
        self.node_calls[node] += 1

    def timed_call(self, run):
        """``run`` wrapped so that each call counts and its total time is kept."""
        def call(values):
            t0 = time.perf_counter()
            try:
                return run(values)
            finally:
                self.call_time += time.perf_counter() - t0
                self.calls += 1
        for attr in ("internal_outputs", "storage", "runtime"):
            if hasattr(run, attr):
                setattr(call, attr, getattr(run, attr))
        return call

    def op_times(self):
        """{op type name: (seconds, node calls)}, all nodes of the type together."""
        out = defaultdict(lambda: [0.0, 0])
        for node in self.order:
            entry = out[type(node.op).__name__]
            entry[0] += self.node_time[node]
            entry[1] += self.node_calls[node]
        return {k: tuple(v) for k, v in out.items()}

    def summary(self, n_nodes=20):
        """The profile as text: totals, time by op type, then the slowest Apply nodes."""
        total = sum(self.node_time.values())
        head = f"Function profile{f' of {self.name!r}' if self.name else ''}"
        lines = [head, "=" * len(head),
                 f"  {self.calls} calls, {self.call_time:.6f} s in the function, "
                 f"{total:.6f} s in its {len(self.order)} nodes"]
        if not self.order:
            return "\n".join(lines + ["  (not called yet)"])
        lines += ["", "  <% time> <seconds> <calls> <op type>"]
        for name, (t, c) in sorted(self.op_times().items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  {100 * t / total if total else 0:6.1f}%  {t:9.6f}  {c:7d}  {name}")
        lines += ["", "  <% time> <seconds> <s/call> <calls> <node id> <Apply node>"]
        index = {n: i for i, n in enumerate(self.order)}
        slowest = sorted(self.order, key=lambda n: -self.node_time[n])[:n_nodes]
        for node in slowest:
            t, c = self.node_time[node], self.node_calls[node]
            lines.append(f"  {100 * t / total if total else 0:6.1f}%  {t:9.6f}  {t / c:.2e}  "
                         f"{c:6d}  {index[node]:4d}  {node.op}({', '.join(map(str, node.inputs))})")
        if len(self.order) > n_nodes:
            lines.append(f"  ... {len(self.order) - n_nodes} more nodes")
        return "\n".join(lines)

    def __str__(self):
        return self.summary()


__all__ = ["ProfileStats"]

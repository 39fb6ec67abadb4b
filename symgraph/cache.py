"""``python -m symgraph.cache info|list|prune|clear``: look after the compile cache.

    python -m symgraph.cache info                  # path, entries, size, oldest/newest use
    python -m symgraph.cache list                  # one line per entry, least recently used first
    python -m symgraph.cache prune --max-size 500M --max-age 30d
    python -m symgraph.cache clear

The cache is ``config.compiledir`` (``--dir`` names another). Entries in use by a build in
another process are skipped; a running program keeps the libraries it has loaded.
"""
from __future__ import annotations

import argparse
import sys
import time

from .backends import cache_admin
from .config import config


def _age(seconds):
    if seconds is None:
        return "-"
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= n:
            return f"{seconds / n:.1f} {unit}"
    return f"{seconds:.0f} s"


def main(argv=None, out=None):
    out = out or sys.stdout
    ap = argparse.ArgumentParser(prog="python -m symgraph.cache", description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=None, help="cache directory (default: config.compiledir)")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="path, number of entries, size, age")
    sub.add_parser("list", help="every entry: size, last use, key")
    p = sub.add_parser("prune", help="remove old entries, then the least recently used")
    p.add_argument("--max-size", default=None,
                   help=f"keep at most this much (e.g. 500M; default "
                        f"{cache_admin.format_size(cache_admin.DEFAULT_MAX_SIZE)} when no "
                        f"--max-age is given)")
    p.add_argument("--max-age", default=None, help="remove entries unused for longer (e.g. 30d)")
    sub.add_parser("clear", help="remove every entry")
    args = ap.parse_args(argv)
    directory = args.dir or config.compiledir
    now = time.time()
    if args.command == "info":
        i = cache_admin.info(directory)
        print(f"path     {i['path']}", file=out)
        print(f"entries  {i['entries']}", file=out)
        print(f"size     {cache_admin.format_size(i['bytes'])}", file=out)
        for what in ("oldest", "newest"):
            when = f"{_age(now - i[what])} ago" if i[what] else "-"
            print(f"{what:8} {when}", file=out)
    elif args.command == "list":
        for e in cache_admin.entries(directory):
            print(f"{cache_admin.format_size(e.size):>10}  {_age(now - e.last_used):>9} ago  {e.key}",
                  file=out)
    elif args.command == "prune":
        try:
            max_size = cache_admin.parse_size(args.max_size) if args.max_size else None
            max_age = cache_admin.parse_age(args.max_age) if args.max_age else None
        except ValueError as exc:
            ap.error(str(exc))
        if max_size is None and max_age is None:
            max_size = cache_admin.DEFAULT_MAX_SIZE
        removed = cache_admin.prune(directory, max_size=max_size, max_age=max_age, now=now)
        freed = sum(e.size for e in removed)
        print(f"removed {len(removed)} entries ({cache_admin.format_size(freed)}) from {directory}",
              file=out)
    else:
        n = cache_admin.clear(directory)
        print(f"removed {n} entries from {directory}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

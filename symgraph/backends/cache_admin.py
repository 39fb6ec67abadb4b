"""What is in a compile cache, and pruning it by age and size (least recently used first).

A cache directory (``config.compiledir``) holds one *entry* per compiled library: files that
share a stem (``<key>.so``, ``<key>.sha256``, ``<key>.lock``), and in ``cuda/`` the cached
cubins. Other files (the compiler probe record) are kept. An entry's last use is the newest
access or modification time of its files; loading a library reads it, so on file systems that
record access times a hit counts as a use (with ``noatime`` it is the build time).

Pruning removes whole entries, skips any whose lock another process holds (it may be writing
it), and never touches anything outside the directory. A process that has a library loaded
keeps using it after its files are removed (the mapping outlives the name).
"""
from __future__ import annotations

import dataclasses
import os
import re
import time

import filelock

DEFAULT_MAX_SIZE = 1 << 30          # bytes: `prune` without options (the flag cache_max_size caps it as it grows)
_ENTRY_SUFFIXES = (".so", ".sha256", ".lock", ".cubin", ".ptx")


@dataclasses.dataclass
class Entry:
    key: str                 # the stem, relative to the cache directory
    files: list
    size: int                # bytes
    last_used: float         # seconds since the epoch


def _stem(rel):
    for suffix in _ENTRY_SUFFIXES:
        if rel.endswith(suffix):
            return rel[:-len(suffix)]
    return None


def entries(directory):
    """The entries of the cache in ``directory``, least recently used first."""
    groups = {}
    if not os.path.isdir(directory):
        return []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            stem = _stem(os.path.relpath(path, directory))
            if stem is None or name.startswith(".tmp-"):
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            e = groups.setdefault(stem, Entry(stem, [], 0, 0.0))
            e.files.append(path)
            e.size += st.st_size
            e.last_used = max(e.last_used, st.st_atime, st.st_mtime)
    return sorted(groups.values(), key=lambda e: (e.last_used, e.key))


def info(directory):
    """Summary of the cache: path, number of entries, total bytes, oldest and newest use."""
    es = entries(directory)
    return {"path": os.path.abspath(directory), "entries": len(es),
            "bytes": sum(e.size for e in es),
            "oldest": min((e.last_used for e in es), default=None),
            "newest": max((e.last_used for e in es), default=None)}


def _remove_entry(entry):
    lock_path = next((f for f in entry.files if f.endswith(".lock")), None)
    lock = filelock.FileLock(lock_path) if lock_path else None
    try:
        if lock is not None:
            lock.acquire(timeout=0)
    except filelock.Timeout:
        return False                        # being built or checked by another process
    try:
        for path in entry.files:
            if path != lock_path:
                try:
                    os.remove(path)
                except FileNotFoundError:
                    pass
    finally:
        if lock is not None:
            lock.release()
            try:
                os.remove(lock_path)
            except FileNotFoundError:
                pass
    return True


def prune(directory, max_size=None, max_age=None, now=None, keep=()):
    """Remove entries unused for more than ``max_age`` seconds, then the least recently used
    until the cache holds at most ``max_size`` bytes; entries named in ``keep`` stay. Returns
    the removed entries."""
    now = time.time() if now is None else now
    es = entries(directory)
    total = sum(e.size for e in es)
    removed = []
    for e in es:
        if e.key in keep:
            continue
        too_old = max_age is not None and now - e.last_used > max_age
        too_big = max_size is not None and total > max_size
        if not (too_old or too_big):
            continue
        if _remove_entry(e):
            removed.append(e)
            total -= e.size
    return removed


def clear(directory):
    """Remove every entry (and the compiler probe records); returns the number of entries."""
    n = len(prune(directory, max_size=0))
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            if name.startswith("compiler-") and name.endswith(".json"):
                os.remove(os.path.join(directory, name))
    return n


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_AGES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text):
    """``'500M'``, ``'2G'``, ``'1024'`` -> bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtb]?)i?b?\s*", str(text).lower())
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 2G, 1048576)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def parse_age(text):
    """``'30d'``, ``'12h'``, ``'90m'``, ``'3600'`` (seconds) -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text).lower())
    if not m:
        raise ValueError(f"not an age: {text!r} (examples: 30d, 12h, 90m, 3600)")
    return float(m.group(1)) * _AGES[m.group(2) or "s"]


def format_size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


__all__ = ["Entry", "entries", "info", "prune", "clear", "parse_size", "parse_age",
           "format_size", "DEFAULT_MAX_SIZE"]

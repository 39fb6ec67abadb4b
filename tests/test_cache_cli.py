"""symgraph/cache.py (python -m symgraph.cache) and backends/cache_admin.py."""
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import filelock
import pytest

from symgraph import cache as cli
from symgraph.backends import cache_admin

REPO_ROOT = str(Path(__file__).resolve().parents[1])


def _entry(d, key, size, age, now):
    for suffix, n in ((".so", size), (".sha256", 65), (".lock", 0)):
        p = d / (key + suffix)
        p.write_bytes(b"x" * n)
        os.utime(p, (now - age, now - age))


@pytest.fixture
def cache(tmp_path):
    now = time.time()
    d = tmp_path / "cache"
    d.mkdir()
    _entry(d, "a" * 64, 1000, 40 * 86400, now)        # 40 days old
    _entry(d, "b" * 64, 3000, 2 * 86400, now)
    _entry(d, "c" * 64, 2000, 60, now)                # used a minute ago
    (d / "cuda").mkdir()
    _entry(d / "cuda", "k" * 40, 500, 10 * 86400, now)
    (d / "compiler-1234.json").write_text("{}")
    return d


def _run(*args):
    out = io.StringIO()
    assert cli.main(list(args), out=out) == 0
    return out.getvalue()


def test_info_and_list(cache):
    text = _run("--dir", str(cache), "info")
    assert f"path     {cache}" in text and "entries  4" in text
    total = 1000 + 3000 + 2000 + 500 + 4 * 65
    assert cache_admin.info(str(cache))["bytes"] == total
    lines = _run("--dir", str(cache), "list").splitlines()
    assert [line.split()[-1] for line in lines] == ["a" * 64, "cuda/" + "k" * 40, "b" * 64, "c" * 64]


def test_prune_by_age_then_size(cache):
    assert "removed 1 entries" in _run("--dir", str(cache), "prune", "--max-age", "30d")
    assert not (cache / ("a" * 64 + ".so")).exists() and (cache / ("b" * 64 + ".so")).exists()
    # 3065 + 2065 + 565 bytes left; a 3 KB cap removes the least recently used until it fits
    _run("--dir", str(cache), "prune", "--max-size", "3K")
    left = [e.key for e in cache_admin.entries(str(cache))]
    assert left == ["c" * 64]
    assert (cache / "compiler-1234.json").exists()       # not an entry


def test_prune_skips_an_entry_being_built(cache):
    key = "a" * 64
    with filelock.FileLock(str(cache / (key + ".lock"))):
        removed = cache_admin.prune(str(cache), max_size=0)
    assert key not in [e.key for e in removed] and (cache / (key + ".so")).exists()
    assert len(removed) == 3


def test_clear(cache):
    assert "removed 4 entries" in _run("--dir", str(cache), "clear")
    assert cache_admin.entries(str(cache)) == [] and not (cache / "compiler-1234.json").exists()


def test_sizes_and_ages_parse():
    assert cache_admin.parse_size("500M") == 500 << 20
    assert cache_admin.parse_size("2G") == 2 << 30 and cache_admin.parse_size("1024") == 1024
    assert cache_admin.parse_age("30d") == 30 * 86400 and cache_admin.parse_age("90m") == 5400
    with pytest.raises(ValueError, match="not a size"):
        cache_admin.parse_size("lots")
    with pytest.raises(SystemExit):
        cli.main(["prune", "--max-size", "lots"], out=io.StringIO())


def test_module_runs_as_a_program(cache):
    proc = subprocess.run([sys.executable, "-m", "symgraph.cache", "--dir", str(cache), "info"],
                          env=dict(os.environ, PYTHONPATH=REPO_ROOT), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "entries  4" in proc.stdout

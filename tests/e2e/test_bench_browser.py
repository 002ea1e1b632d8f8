"""The browser benchmark still runs: a tiny upload by the Python client and by the JavaScript
client in Chromium, through the example site.

The real measurement is ``python -m bench.browser`` (256 MiB, 8 and 1 MiB chunks, 3 runs); this
only keeps it working as the app, the package in js/client and its page change.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.components import ROOT, chromium, require

# The benchmark starts sites of its own (SQLite), whatever database the suite runs on.
pytestmark = pytest.mark.own_database


@pytest.mark.slow
def test_bench_browser_runs_both_clients_and_both_hashings(tmp_path: Path) -> None:
    chromium()
    require(
        (ROOT / "js" / "client" / "dist" / "index.js").is_file(),
        "the built package of js/client",
        "make interop-deps runs npm ci and npm run build there",
    )
    completed = subprocess.run(
        [
            sys.executable, "-m", "bench.browser",
            "--size", "4MiB", "--chunks", "1MiB", "--runs", "1", "--workers", "2",
            "--hashing", "worker", "thread",
            "--workdir", str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "| 4 MiB | 1 MiB | 4 | worker |" in completed.stdout
    assert "| 4 MiB | 1 MiB | 4 | thread |" in completed.stdout
    # The CPU table, a row per hashing; 4 MiB costs too few clock ticks to compare the figures.
    for hashing in ("worker", "thread"):
        row = rf"^\| 1 MiB \| {hashing} \|( [\d.]+ \|){{6}}$"
        assert re.search(row, completed.stdout, re.MULTILINE), completed.stdout
    assert "Target Chromium/Python <= 1.5 at every chunk size, hashing in the worker:" in (
        completed.stdout
    )

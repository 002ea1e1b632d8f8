"""The benchmark harness still runs: a tiny upload through the example site and the floor.

The real measurement is ``make bench``; this only keeps ``bench/`` working as the app changes
(the GraphQL operations it sends, the example site's settings, where uploads are stored).
drf-chunked-upload is left out: it needs a virtualenv from PyPI. How the harness sums up its
measurements is tests/unit/test_bench.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import ROOT


@pytest.mark.slow
def test_bench_uploads_through_ours_and_the_floor(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [
            sys.executable, "-m", "bench",
            "--systems", "ours", "floor",
            "--sizes", "3", "--chunks", "1", "2", "--runs", "1", "--large", "0",
            "--json", str(results),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "| 3 MiB | 1 MiB |" in completed.stdout
    report = json.loads(results.read_text())
    measured = {(m["system"], m["chunk_mib"]) for m in report["measurements"]}
    assert measured == {("ours", 1), ("ours", 2), ("floor", 1), ("floor", 2)}
    for measurement in report["measurements"]:
        assert measurement["mb_s"] > 0
        assert len(measurement["worker_peak_rss_mib"]) == 2

"""The per-chunk profile (``python -m bench.profile_chunk``, bench/README.md) still runs: a few
chunk requests through the example site served the way gunicorn serves it, every timer finding
the function it times, and the parts adding up to the whole request.

The measurement itself is for a quiet machine; this only keeps the harness working as the app
changes (a renamed function would leave its time to its caller, and the warning says so).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.profile_chunk import CATEGORIES
from bench.sites import ROOT

# The benchmark starts sites of its own (SQLite), whatever database the suite runs on.
pytestmark = pytest.mark.own_database


@pytest.mark.slow
def test_the_profile_times_every_part_of_a_chunk_request(tmp_path: Path) -> None:
    results = tmp_path / "rows.json"
    completed = subprocess.run(
        [
            sys.executable, "-m", "bench.profile_chunk",
            "--chunks", "4", "--warmup", "2", "--rounds", "1", "--chunks-per-upload", "3",
            "--tmp", str(tmp_path), "--json", str(results),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "warning" not in completed.stderr, completed.stderr
    assert "| **all but the bytes** |" in completed.stdout
    [rows] = json.loads(results.read_text()).values()
    assert len(rows) == 4
    for row in rows:
        parts = sum(row[name] for name in CATEGORIES)
        # Every moment of the request is in one category (the timers' own cost aside).
        assert parts == pytest.approx(row["worker"], rel=0.02)
        assert row["md5"] > 0 and row["service SQL"] > 0 and row["multipart"] > 0

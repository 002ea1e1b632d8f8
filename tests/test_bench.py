"""The benchmark harness still runs: a tiny upload through the example site and the floor.

The real measurement is ``make bench``; this only keeps ``bench/`` working as the app changes
(the GraphQL operations it sends, the example site's settings, where uploads are stored).
drf-chunked-upload is left out: it needs a virtualenv from PyPI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.run import ROOT, check_targets, summarise


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


def record(system: str, size: int, mb_s: float, complete: float | None, rss: float) -> dict:
    return {
        "system": system,
        "size_mib": size,
        "chunk_mib": 8,
        "mb_s": mb_s,
        "completing_s": complete,
        "peak_rss_mib": rss,
    }


def test_ratios_are_medians_of_per_run_ratios_and_targets_are_checked() -> None:
    records = [
        # Three runs; drift slows both systems in the second one.
        record("ours", 256, 200, 0.010, 60),
        record("drf", 256, 100, 1.0, 54),
        record("ours", 256, 100, 0.012, 61),
        record("drf", 256, 40, 1.0, 54),
        record("ours", 256, 210, 0.011, 60),
        record("drf", 256, 70, 1.0, 54),
    ]
    [row] = summarise(records, ["ours", "drf"])
    assert row["ours"]["mb_s"] == 200
    assert row["drf"]["mb_s"] == 70
    assert row["ratio"] == 2.5  # the median of 2.0, 2.5 and 3.0, not 200 / 70
    large = {"size_mib": 5120, "chunk_mib": 8, "completing_s": 0.015, "peak_rss_mib": 62}
    verdicts = check_targets([row], large)
    assert all(line.startswith("PASS") for line in verdicts), verdicts
    assert len(verdicts) == 5
    large["completing_s"] = 1.5  # a completion that re-reads the file
    slow = check_targets([row], large)
    assert [line.split()[0] for line in slow] == ["PASS", "FAIL", "FAIL", "PASS", "PASS"], slow

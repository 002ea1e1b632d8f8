"""The benchmark harness's arithmetic (``make bench``, bench/README.md): ratios are medians of
per-run ratios, and the targets are checked against them. Its run through real servers is
tests/e2e/test_bench.py.
"""

from __future__ import annotations

from bench.run import check_targets, summarise


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

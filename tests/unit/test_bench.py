"""The benchmark harness's arithmetic and options (``make bench``, bench/README.md): each system
in its best setting, ratios as medians of per-run ratios, the targets checked against them, the
tables, and what the options ask for. Its run through real servers is tests/e2e/test_bench.py;
the emulated link is tests/unit/test_link.py. How CPU time is read from /proc is here too.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from bench.options import FULL, HUGE_MIB, parse_args
from bench.report import Network, check_targets, markdown_tables, summarise
from bench.servers import process_cpu_s


def record(
    system: str,
    mb_s: float,
    *,
    run: int = 0,
    workers: int = 2,
    network: str = "loopback",
    size: int = 256,
    chunk: int = 8,
    complete: float | None = 0.010,
    rss: float = 60,
) -> dict[str, Any]:
    wall = size * 1024 * 1024 / 1e6 / mb_s
    return {
        "system": system,
        "workers": workers,
        "network": network,
        "run": run,
        "size_mib": size,
        "chunk_mib": chunk,
        "mb_s": mb_s,
        "wall_s": wall,
        "completing_s": complete,
        "server_cpu_s": wall / 2,
        "client_cpu_s": wall / 4,
        "link_cpu_s": 0.0,
        "peak_rss_mib": rss,
    }


def test_ratios_are_medians_of_per_run_ratios() -> None:
    records = [
        # Three runs; drift slows every system in the second one.
        record("ours-parallel", 200, run=0, workers=4),
        record("drf", 100, run=0, complete=1.0, rss=54),
        record("ours-parallel", 100, run=1, workers=4),
        record("drf", 40, run=1, complete=1.0, rss=54),
        record("ours-parallel", 210, run=2, workers=4),
        record("drf", 70, run=2, complete=1.0, rss=54),
    ]
    [row] = summarise(records)
    assert row["ours-parallel"]["mb_s"] == 200
    assert row["drf"]["mb_s"] == 70
    assert row["parallel_ratio"] == 2.5  # the median of 2.0, 2.5 and 3.0, not 200 / 70


def test_drf_is_reported_in_its_faster_worker_setting() -> None:
    records = [
        record("drf", 80, run=0, workers=2),
        record("drf", 90, run=0, workers=4),
        record("drf", 82, run=1, workers=2),
        record("drf", 88, run=1, workers=4),
        record("ours", 120, run=0),
        record("ours", 110, run=1),
    ]
    [row] = summarise(records)
    assert row["drf"]["workers"] == 4
    assert row["drf"]["mb_s"] == 89
    assert row["drf"]["mb_s_by_workers"] == {2: 81, 4: 89}
    assert row["ratio"] == pytest.approx((120 / 90 + 110 / 88) / 2)


def test_each_network_file_and_chunk_size_is_a_case_of_its_own() -> None:
    records = [
        record("ours", 100, chunk=1),
        record("ours", 120, chunk=8),
        record("ours", 20, chunk=1, network="link"),
        record("ours", 22, size=1024, chunk=1),
    ]
    cases = [(r["network"], r["size_mib"], r["chunk_mib"]) for r in summarise(records)]
    assert cases == [
        ("loopback", 256, 1),
        ("loopback", 256, 8),
        ("loopback", 1024, 1),
        ("link", 256, 1),
    ]


def test_cpu_is_reported_per_gib_and_as_cores_busy() -> None:
    [row] = summarise([record("ours", 100, size=512)])
    wall = 512 * 1024 * 1024 / 1e6 / 100
    assert row["ours"]["server_cpu_s_per_gib"] == pytest.approx(wall / 2 * 2)
    assert row["ours"]["cores_busy"] == pytest.approx(0.75)


def loopback_rows(parallel: float, serial: float, drf: float, complete: float) -> list[Any]:
    records = []
    for chunk in (1, 8):
        records += [
            record("ours-parallel", parallel, workers=4, chunk=chunk, complete=complete),
            record("ours", serial, chunk=chunk),
            record("drf", drf, chunk=chunk, complete=1.0, rss=54),
        ]
    return summarise(records)


def verdicts(lines: list[str], words: str) -> list[str]:
    return [line.split()[0] for line in lines if words in line]


def test_the_parallel_target_on_loopback_is_twice_drf_at_every_chunk_size() -> None:
    assert verdicts(check_targets(loopback_rows(200, 140, 100, 0.01), None), "parallel ≥") == [
        "PASS"
    ]
    assert verdicts(check_targets(loopback_rows(190, 140, 100, 0.01), None), "parallel ≥") == [
        "FAIL"
    ]


def test_the_serial_target_depends_on_the_chunk_size() -> None:
    records = [
        record("ours", 125, chunk=1),  # 1.25x: short of 1.3x
        record("drf", 100, chunk=1),
        record("ours", 125, chunk=8),  # 1.25x: past 1.2x
        record("drf", 100, chunk=8),
    ]
    [line] = [line for line in check_targets(summarise(records), None) if "serial ≥" in line]
    assert line.startswith("FAIL")
    assert "1.25x at 256 MiB / 1 MiB" in line


def test_the_link_target_is_a_share_of_the_link_rate() -> None:
    rows = summarise(
        [
            record("ours-parallel", 21.5, workers=4, network="link", chunk=1),
            record("ours-parallel", 24.0, workers=4, network="link", chunk=8),
        ]
    )
    [line] = [line for line in check_targets(rows, None, link_mbit=200) if "link" in line]
    assert line.startswith("PASS")  # 21.5 MB/s is 86 % of 25 MB/s
    [line] = [line for line in check_targets(rows, None, link_mbit=210) if "link" in line]
    assert line.startswith("FAIL")  # and 82 % of 26.25 MB/s


def test_a_parallel_completion_slower_than_50_ms_fails() -> None:
    assert verdicts(
        check_targets(loopback_rows(200, 140, 100, 0.045), None), "parallel upload ≤"
    ) == ["PASS"]
    assert verdicts(
        check_targets(loopback_rows(200, 140, 100, 0.055), None), "parallel upload ≤"
    ) == ["FAIL"]


def test_the_large_serial_upload_counts_for_the_serial_completion_targets() -> None:
    rows = loopback_rows(200, 140, 100, 0.01)
    large = {"size_mib": 5120, "chunk_mib": 64, "completing_s": 0.015, "peak_rss_mib": 60}
    assert set(verdicts(check_targets(rows, large), "completeUpload")) == {"PASS"}
    large["completing_s"] = 1.5  # a completion that re-reads the file
    assert verdicts(check_targets(rows, large), "serial upload ≤") == ["FAIL"]
    assert verdicts(check_targets(rows, large), "flat in file size (spread") == ["FAIL"]


def test_a_huge_upload_passes_only_when_its_stored_bytes_are_the_source() -> None:
    huge = [
        {"size_mib": 5120, "chunk_mib": 8, "completing_s": 0.02, "store": "the file system",
         "chunk_checksum": "sha256", "verified": True},
        {"size_mib": 5120, "chunk_mib": 8, "completing_s": 0.03, "store": "moto S3",
         "chunk_checksum": "sha256", "verified": False},
    ]  # fmt: skip
    lines = check_targets([], None, huge)
    assert verdicts(lines, "byte-exact on the file system") == ["PASS"]
    assert verdicts(lines, "byte-exact on moto S3") == ["FAIL"]
    assert verdicts(lines, "parallel upload ≤") == ["PASS"]


def test_the_link_table_shows_the_share_of_the_link_and_the_proxy_cpu() -> None:
    rows = summarise(
        [
            record("ours-parallel", 22.5, workers=4, network="link"),
            record("drf", 10, workers=4, network="link"),
        ]
    )
    tables = markdown_tables(rows, [Network("loopback"), Network("link")])
    assert "**Loopback**" not in tables
    assert "| parallel / 200 Mbit/s |" in tables
    assert "| 256 MiB | 8 MiB | 10.0 (4 w) | 4 w: 10.0 | - | 22.5 | - | - | 2.25 | 90% |" in tables
    assert "link proxy CPU s/GiB" in tables


def test_the_default_run_measures_loopback_at_the_issue_sizes() -> None:
    args = parse_args([])
    assert (args.sizes, args.chunks, args.runs) == (FULL["sizes"], [1, 8], 3)
    assert args.networks == ["loopback"]
    assert args.systems == ["ours", "ours-parallel", "drf", "floor"]
    assert (args.drf_workers, args.workers, args.parallel, args.parallel_workers) == (
        [2, 4], 2, 4, 4
    )  # fmt: skip
    assert args.huge == 0
    assert args.chunk_checksum is None
    assert args.ours_client == "bench"


def test_huge_alone_means_5_gib_on_both_stores() -> None:
    args = parse_args(["--huge", "--sizes", "0", "--large", "0"])
    assert (args.huge, args.huge_stores, args.huge_checksum) == (HUGE_MIB, ["fs", "s3"], "sha256")
    assert args.sizes == []


def test_huge_on_s3_refuses_chunks_smaller_than_s3_parts(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--huge", "64", "--huge-chunk", "1"])
    assert "5 MiB" in capsys.readouterr().err
    assert parse_args(["--huge", "64", "--huge-chunk", "1", "--huge-stores", "fs"]).huge == 64


def test_process_cpu_is_counted_finer_than_a_clock_tick() -> None:
    # A tiny upload costs a worker a few milliseconds: in clock ticks that reads as 0 or 0.01.
    # A process of its own, so that no thread that exited (as this one has) is counted in ticks.
    child = subprocess.Popen(
        [sys.executable, "-c", BURN_3_MS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "started\n"
        before = process_cpu_s(child.pid)
        child.stdin.write("burn\n")
        child.stdin.flush()
        assert child.stdout.readline() == "burnt\n"
        spent = process_cpu_s(child.pid) - before
    finally:
        child.kill()
        child.wait()
    assert 0.002 <= spent < 0.009


BURN_3_MS = """
import sys, time
print("started", flush=True)
sys.stdin.readline()
start = time.thread_time()
while time.thread_time() - start < 0.003:
    pass
print("burnt", flush=True)
sys.stdin.readline()
"""

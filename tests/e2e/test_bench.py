"""The benchmark harness still runs: tiny uploads through the example site and the floor, serial
and parallel, on loopback and through the emulated link, and the huge parallel upload with chunk
checksums to the file system and to moto's S3 server, its stored bytes compared with the source.

The real measurement is ``make bench``; this only keeps ``bench/`` working as the app changes
(the GraphQL operations it sends, the example site's settings, where uploads are stored).
drf-chunked-upload is left out: it needs a virtualenv from PyPI. How the harness sums up its
measurements is tests/unit/test_bench.py, the link itself tests/unit/test_link.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.sites import ROOT

# The benchmark starts sites of its own (SQLite), whatever database the suite runs on.
pytestmark = pytest.mark.own_database


def bench(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *options, "--json", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    return completed, json.loads(results.read_text())


@pytest.mark.slow
def test_bench_uploads_serially_and_in_parallel_on_loopback_and_the_link(tmp_path: Path) -> None:
    completed, report = bench(
        tmp_path,
        "--systems", "ours", "ours-parallel", "floor",
        "--sizes", "3", "--chunks", "1", "--runs", "1", "--large", "0",
        "--networks", "loopback", "link",
        "--chunk-checksum", "crc32c",
    )  # fmt: skip
    assert "| 3 MiB | 1 MiB |" in completed.stdout
    assert "| parallel / 200 Mbit/s |" in completed.stdout
    assert "link proxy CPU s/GiB" in completed.stdout
    measured = {(m["network"], m["system"], m["workers"]) for m in report["measurements"]}
    assert measured == {
        (network, system, workers)
        for network in ("loopback", "link")
        for system, workers in (("ours", 2), ("ours-parallel", 4), ("floor", 2))
    }
    for measurement in report["measurements"]:
        assert measurement["mb_s"] > 0
        assert len(measurement["worker_peak_rss_mib"]) == measurement["workers"]
        assert measurement["server_cpu_s"] > 0
        if measurement["network"] == "link":
            # 3 MiB at 25 MB/s, and a round trip per request at least.
            assert measurement["wall_s"] >= 3 * 1024 * 1024 / 25e6 + 0.05
            assert measurement["link_cpu_s"] > 0


@pytest.mark.slow
def test_bench_sends_ours_through_the_project_client(tmp_path: Path) -> None:
    _, report = bench(
        tmp_path,
        "--systems", "ours", "ours-parallel", "--ours-client", "library",
        "--sizes", "3", "--chunks", "1", "--runs", "1", "--large", "0",
    )  # fmt: skip
    assert report["args"]["ours_client"] == "library"
    assert {m["system"] for m in report["measurements"]} == {"ours", "ours-parallel"}


@pytest.mark.slow
def test_bench_huge_upload_is_stored_byte_exact_on_disk(tmp_path: Path) -> None:
    completed, report = bench(
        tmp_path,
        "--sizes", "0", "--large", "0",
        "--huge", "3", "--huge-chunk", "1", "--huge-stores", "fs",
    )  # fmt: skip
    [huge] = report["huge"]
    assert (huge["store"], huge["size_mib"], huge["verified"]) == ("the file system", 3, True)
    assert "stored bytes identical to the source" in completed.stdout
    assert "PASS 3 MiB parallel upload with sha256 chunk checksums completes byte-exact" in (
        completed.stdout
    )


@pytest.mark.slow
def test_bench_huge_upload_is_stored_byte_exact_on_moto_s3(tmp_path: Path) -> None:
    _, report = bench(
        tmp_path,
        "--sizes", "0", "--large", "0",
        "--huge", "11", "--huge-chunk", "5", "--huge-stores", "s3",
    )  # fmt: skip
    [huge] = report["huge"]
    assert (huge["store"], huge["size_mib"], huge["verified"]) == ("moto S3", 11, True)
    assert (huge["objects_left"], huge["multipart_uploads_left"]) == (0, 0)

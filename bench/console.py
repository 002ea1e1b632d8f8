"""What ``python -m bench`` prints: a line per upload while it runs, then the report (the command,
the machine and setup, the tables, the large and huge uploads, the targets); and the machine
description that goes into the report and the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

from bench.report import Network, machine_line, markdown_tables, per_gib, size_label


def machine() -> dict[str, Any]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib, 1),
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
    }


def setup_line(args: argparse.Namespace) -> str:
    checksum = f", a {args.chunk_checksum} checksum with every chunk of ours" * bool(
        args.chunk_checksum
    )
    clients_used = "`requests` clients hashing md5 as they read" + checksum
    if args.ours_client == "library":
        clients_used = (
            "ours through `chunked_graphql.client` (sha256 chunk checksums), drf and the floor "
            "through the benchmark's `requests` client hashing md5 as it reads"
        )
    return (
        f"gunicorn sync workers, SQLite; drf serial on {' and '.join(map(str, args.drf_workers))}"
        f" workers (the faster reported), ours serial on {args.workers}, ours parallel with "
        f"{args.parallel} chunks in flight on {args.parallel_workers}, floor serial on "
        f"{args.workers}; {clients_used}"
    )


def command_line() -> str:
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(Path.cwd())
    return shlex.join([str(python), "-m", "bench", *sys.argv[1:]])


def progress(record: dict[str, Any], run: int) -> None:
    completing = record["completing_s"]
    system = f"{record['system']} ({record['workers']} w)"
    print(
        f"  {record['network']:<8} {size_label(record['size_mib']):>8} / "
        f"{record['chunk_mib']:>3} MiB run {run + 1}  {system:<22} {record['mb_s']:7.1f} MB/s"
        + (f"  complete {completing * 1000:6.0f} ms" if completing is not None else " " * 21)
        + f"  server CPU {record['server_cpu_s']:6.1f} s  client {record['client_cpu_s']:5.1f} s"
        + (f"  link {record['link_cpu_s']:4.1f} s" if record["network"] == "link" else "")
        + f"  peak RSS {', '.join(f'{p:.0f}' for p in record['worker_peak_rss_mib'])} MiB",
        file=sys.stderr,
        flush=True,
    )


def print_report(
    args: argparse.Namespace,
    info: dict[str, Any],
    command: str,
    rows: list[dict[str, Any]],
    networks: list[Network],
    large: dict[str, Any] | None,
    huge: list[dict[str, Any]],
    targets: list[str],
    elapsed: float,
) -> None:
    print()
    print(f"`{command}`, {elapsed / 60:.1f} min; median of {args.runs} run(s) per case.")
    print()
    print(f"Machine: {machine_line(info)}; {setup_line(args)}.")
    if rows:
        print()
        print(markdown_tables(rows, networks))
    if large is not None:
        print()
        print(
            f"Large file (ours serial): {size_label(large['size_mib'])} in {large['chunk_mib']}"
            f" MiB chunks, stored bytes verified: {large['mb_s']:.1f} MB/s, completeUpload"
            f" {large['completing_s'] * 1000:.0f} ms, server CPU"
            f" {per_gib(large, 'server_cpu_s'):.1f} s/GiB, peak RSS per worker"
            f" {large['peak_rss_mib']:.0f} MiB."
        )
    for extra in huge:
        leftovers = ""
        if "objects_left" in extra:
            leftovers = (
                f"; left in the bucket: {extra['objects_left']} other object(s), "
                f"{extra['multipart_uploads_left']} unfinished multipart upload(s)"
            )
        print()
        print(
            f"Huge file (ours parallel, {extra['in_flight']} in flight on {extra['workers']} "
            f"workers) to {extra['store']}: {size_label(extra['size_mib'])} in "
            f"{extra['chunk_mib']} MiB chunks with {extra['chunk_checksum']} chunk checksums, "
            f"{'stored bytes identical to the source' if extra['verified'] else 'BYTES DIFFER'}"
            f": {extra['mb_s']:.1f} MB/s, completeUpload {extra['completing_s'] * 1000:.0f} ms, "
            f"server CPU {per_gib(extra, 'server_cpu_s'):.1f} s/GiB, peak RSS per worker "
            f"{extra['peak_rss_mib']:.0f} MiB{leftovers}."
        )
    if targets:
        print()
        print("Targets:")
        for line in targets:
            print(f"- {line}")

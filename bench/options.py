"""The options of ``python -m bench``: the default run, the ``--quick`` one, and the checks of
what is asked for.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench import clients, drf_site
from bench.link_emulation import DELAY_S, RATE_MBIT
from bench.report import NETWORKS, SYSTEMS
from bench.sites import ROOT

HUGE_STORES = ("fs", "s3")

FULL: dict[str, Any] = {
    "sizes": [256, 1024],
    "chunks": [1, 8],
    "runs": 3,
    "large": 5120,
    "networks": ["loopback"],
}
QUICK: dict[str, Any] = {
    "sizes": [64],
    "chunks": [1, 8],
    "runs": 1,
    "large": 0,
    "networks": ["loopback"],
}
HUGE_MIB = 5120


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Chunked uploads through this project, drf-chunked-upload 0.6.0 and a floor.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke check: " + str(QUICK))
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="file sizes in MiB (256 1024; 0: none)"
    )
    parser.add_argument("--chunks", type=int, nargs="+", help="chunk sizes in MiB (1 8)")
    parser.add_argument("--runs", type=int, help="runs per case; medians are reported (3)")
    parser.add_argument(
        "--networks",
        nargs="+",
        choices=NETWORKS,
        help="loopback, and/or the emulated link of bench/link.py (loopback)",
    )
    parser.add_argument(
        "--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS), help="what to measure"
    )
    parser.add_argument(
        "--drf-workers",
        type=int,
        nargs="+",
        default=[2, 4],
        help="drf's worker counts; the fastest is reported (2 4)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="workers of ours serial and the floor (2)"
    )
    parser.add_argument(
        "--parallel", type=int, default=4, help="ours parallel: chunks in flight (4)"
    )
    parser.add_argument(
        "--parallel-workers", type=int, default=4, help="ours parallel: workers (4)"
    )
    parser.add_argument(
        "--chunk-checksum",
        choices=clients.CHUNK_CHECKSUMS,
        help="send this checksum with every chunk of ours (none: drf has no such check)",
    )
    parser.add_argument(
        "--ours-client",
        choices=["bench", "library"],
        default="bench",
        help="ours through the benchmark's client (the same as drf's and the floor's) or "
        "through chunked_graphql.client, which adds uploadLimits and sha256 chunk checksums "
        "(bench)",
    )
    parser.add_argument("--link-delay-ms", type=float, default=DELAY_S * 1000, help="(25)")
    parser.add_argument("--link-mbit", type=float, default=RATE_MBIT, help="(200)")
    parser.add_argument(
        "--link-handshake",
        action="store_true",
        help="the link also delays every new connection by a round trip (bench/link.py)",
    )
    parser.add_argument(
        "--large", type=int, help="size in MiB of a serial upload, ours only (5120; 0: skip)"
    )
    parser.add_argument("--large-chunk", type=int, default=64, help="its chunk size in MiB (64)")
    parser.add_argument(
        "--huge",
        type=int,
        nargs="?",
        const=HUGE_MIB,
        default=0,
        metavar="MIB",
        help=f"a parallel upload with chunk checksums, ours only ({HUGE_MIB} when given alone)",
    )
    parser.add_argument("--huge-chunk", type=int, default=8, help="its chunk size in MiB (8)")
    parser.add_argument(
        "--huge-stores",
        nargs="+",
        choices=HUGE_STORES,
        default=list(HUGE_STORES),
        help="where it goes: the file system, moto's S3 server (fs s3)",
    )
    parser.add_argument(
        "--huge-checksum", choices=clients.CHUNK_CHECKSUMS, default="sha256", help="(sha256)"
    )
    parser.add_argument(
        "--drf-venv",
        type=Path,
        default=drf_site.default_venv(),
        help="the cached virtualenv of drf-chunked-upload (created when missing)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench" / "results" / "latest.json",
        help="where to write every measurement",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.sizes = [s for s in args.sizes if s != 0]
    counts = [args.runs, args.workers, args.parallel, args.parallel_workers, *args.drf_workers]
    if min(counts) < 1 or min(args.sizes + args.chunks + [1]) < 1:
        parser.error("sizes, chunks, runs and worker counts must be positive")
    if args.large < 0 or args.huge < 0:
        parser.error("--large and --huge must not be negative")
    if args.huge and "s3" in args.huge_stores and args.huge_chunk < 5:
        parser.error("S3 takes parts of 5 MiB or more: --huge-chunk 5 or larger")
    args.drf_workers = sorted(set(args.drf_workers))
    return args

"""Load: many concurrent uploads of mixed sizes through the example site under gunicorn.

    make load                                   # 50 uploads of 1-64 MiB, 50 client threads
    .venv/bin/python -m bench.load --uploads 200 --concurrency 100 --workers 8
    .venv/bin/python -m bench.load --parallel 4  # parallel uploads, 4 chunks of each at once
    .venv/bin/python -m bench.load --database-url postgres://postgres@127.0.0.1:5432/load
    .venv/bin/python -m bench.load --help

The example site runs as the benchmark runs it (``bench/settings.py``: anonymous uploads) under
gunicorn with ``--workers`` sync workers, on SQLite in a temporary directory unless
``--database-url`` names another database (which it migrates; the uploads stay in it). Each
upload gets a size drawn log-uniformly between ``--min-size`` and ``--max-size`` and one of the
``--chunk-sizes``, from ``--seed``; ``--concurrency`` client threads send them, each chunk as an
``uploadChunk`` mutation, then ``completeUpload`` with the md5 the client computed while sending.
With ``--parallel N`` (N > 1) each upload is a parallel one instead (``createUpload`` with
``parallel: true`` and the upload's chunk size) whose chunks go out from N sender threads at once,
each taking the next chunk in ascending order, as the project's client sends them.

Once every upload has finished, each stored file is read back and its md5 compared with the
client's (the server compared it too, on completion). It prints a Markdown table: total
throughput, p50/p99 latency of chunks and completions (as the client sees them, queueing in
front of the workers included), and errors; it exits with status 1 if there was any error.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import re
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench import clients
from bench.console import machine
from bench.servers import Gunicorn, ServerError
from bench.sites import ROOT, run_checked, server_env

KIB = 1024
MIB = 1024 * KIB
DEFAULT_CHUNK_SIZES = (256 * KIB, MIB, 4 * MIB, 8 * MIB)
# What an upload's requests may fail with; each is that upload's error.
FAILURES = (clients.UploadFailed, requests.RequestException, ValueError, KeyError)


@dataclass(frozen=True)
class Planned:
    """One upload of the load: its size, its chunk size, and where its bytes come from."""

    index: int
    size: int
    chunk_size: int
    seed: int


@dataclass
class Outcome:
    """What one upload took and left."""

    planned: Planned
    upload_id: str | None = None
    md5: str | None = None
    chunk_latencies: list[float] = field(default_factory=list)
    completion_latency: float | None = None
    completed: bool = False
    verified: bool = False
    error: str | None = None
    most_in_flight: int = 0  # the most chunk requests of this upload awaiting their answer


@dataclass
class LoadReport:
    outcomes: list[Outcome]
    wall_s: float

    @property
    def bytes_sent(self) -> int:
        return sum(o.planned.size for o in self.outcomes if o.completed)

    @property
    def errors(self) -> list[str]:
        return [
            f"upload {o.planned.index} ({o.planned.size} bytes, chunks of "
            f"{o.planned.chunk_size}): {o.error}"
            for o in self.outcomes
            if o.error is not None
        ]

    @property
    def completed(self) -> int:
        return sum(o.completed for o in self.outcomes)

    @property
    def verified(self) -> int:
        return sum(o.verified for o in self.outcomes)

    @property
    def mb_s(self) -> float:
        return self.bytes_sent / 1e6 / self.wall_s if self.wall_s else 0.0

    def chunk_latencies(self) -> list[float]:
        return [latency for o in self.outcomes for latency in o.chunk_latencies]

    def completion_latencies(self) -> list[float]:
        return [o.completion_latency for o in self.outcomes if o.completion_latency is not None]


def plan(
    uploads: int, min_size: int, max_size: int, chunk_sizes: Sequence[int], seed: int = 0
) -> list[Planned]:
    """``uploads`` uploads with sizes log-uniform in [min_size, max_size] (as many small files
    as large ones per factor of size) and chunk sizes picked from ``chunk_sizes``."""
    rng = random.Random(seed)
    low, high = math.log(min_size), math.log(max_size)
    return [
        Planned(
            index=index,
            size=min(max_size, max(min_size, round(math.exp(rng.uniform(low, high))))),
            chunk_size=rng.choice(list(chunk_sizes)),
            seed=rng.getrandbits(32),
        )
        for index in range(uploads)
    ]


class Source:
    """Bytes for every upload without holding whole files: each chunk is a slice, at an offset
    drawn for that chunk, of one pool of random bytes, so uploads differ from each other and
    from chunk to chunk."""

    def __init__(self, largest_chunk: int) -> None:
        self.spread = MIB
        self.pool = os.urandom(largest_chunk + self.spread)

    def chunks(self, planned: Planned) -> Iterator[tuple[int, bytes]]:
        rng = random.Random(planned.seed)
        for start in range(0, planned.size, planned.chunk_size):
            length = min(planned.chunk_size, planned.size - start)
            at = rng.randrange(self.spread)
            yield start, self.pool[at : at + length]


def upload(
    url: str, planned: Planned, source: Source, headers: dict[str, str], parallel: int = 1
) -> Outcome:
    """Send one upload chunk by chunk (``parallel`` > 1: that many chunks at once, see
    ``upload_parallel``), then complete it; every failure lands in ``error``."""
    if parallel > 1:
        return upload_parallel(url, planned, source, headers, parallel)
    outcome = Outcome(planned)
    digest = hashlib.md5()
    try:
        with requests.Session() as session:
            session.headers.update(headers)
            for start, chunk in source.chunks(planned):
                digest.update(chunk)
                variables = {
                    "id": outcome.upload_id,
                    "range": clients.content_range(start, chunk, planned.size),
                    "name": f"load-{planned.index}.bin",
                }
                began = time.perf_counter()
                result = clients._graphql(session, url, clients.UPLOAD_CHUNK, variables, chunk)
                outcome.chunk_latencies.append(time.perf_counter() - began)
                outcome.most_in_flight = 1
                if result["__typename"] != "ChunkedUpload":
                    raise clients.UploadFailed(f"chunk at {start}: {result}")
                if result["offset"] != start + len(chunk):
                    raise clients.UploadFailed(f"chunk at {start}: offset {result['offset']}")
                outcome.upload_id = result["id"]
            complete(session, url, outcome, digest.hexdigest())
    except FAILURES as error:
        outcome.error = f"{type(error).__name__}: {error}"[:2000]
    return outcome


def complete(session: requests.Session, url: str, outcome: Outcome, md5: str) -> None:
    """completeUpload with the whole file's md5, timed; a refusal raises ``UploadFailed``."""
    outcome.md5 = md5
    variables = {"id": outcome.upload_id, "sum": md5}
    began = time.perf_counter()
    result = clients._graphql(session, url, clients.COMPLETE, variables, None)
    outcome.completion_latency = time.perf_counter() - began
    if result.get("status") != "COMPLETE":
        raise clients.UploadFailed(f"completion: {result}")
    outcome.completed = True


def upload_parallel(
    url: str, planned: Planned, source: Source, headers: dict[str, str], parallel: int
) -> Outcome:
    """``createUpload`` (parallel, in chunks of the planned size), then ``parallel`` senders,
    each with its own session, taking the chunks in ascending order, then ``completeUpload``
    with the md5 of the whole once every chunk was answered."""
    outcome = Outcome(planned)
    digest = hashlib.md5()
    handed = source.chunks(planned)
    lock = threading.Lock()  # over ``handed``, ``digest`` and the count of requests in flight
    in_flight = 0
    failures: list[str] = []

    def take() -> tuple[int, bytes] | None:
        nonlocal in_flight
        with lock:
            item = None if failures else next(handed, None)
            if item is not None:
                digest.update(item[1])  # handed out in order, so hashed in order
                in_flight += 1
                outcome.most_in_flight = max(outcome.most_in_flight, in_flight)
            return item

    def sender(upload_id: str) -> None:
        nonlocal in_flight
        with requests.Session() as session:
            session.headers.update(headers)
            while (item := take()) is not None:
                start, chunk = item
                began = time.perf_counter()
                try:
                    clients.send_ours_chunk(
                        session, url, upload_id, start, chunk, planned.size, name, None
                    )
                except FAILURES as error:
                    failures.append(f"{type(error).__name__}: {error}")
                finally:
                    outcome.chunk_latencies.append(time.perf_counter() - began)
                    with lock:
                        in_flight -= 1

    name = f"load-{planned.index}.bin"
    try:
        with requests.Session() as session:
            session.headers.update(headers)
            variables = {"name": name, "size": planned.size, "chunkSize": planned.chunk_size}
            created = clients._graphql(session, url, clients.CREATE, variables, None)
            if created["__typename"] != "ChunkedUpload":
                raise clients.UploadFailed(f"createUpload: {created}")
            outcome.upload_id = created["id"]
            senders = [
                threading.Thread(target=sender, args=(created["id"],), name=f"sender-{n}")
                for n in range(parallel)
            ]
            for thread in senders:
                thread.start()
            for thread in senders:
                thread.join()
            if failures:
                raise clients.UploadFailed(failures[0])
            complete(session, url, outcome, digest.hexdigest())
    except FAILURES as error:
        outcome.error = f"{type(error).__name__}: {error}"[:2000]
    return outcome


def verify(outcome: Outcome, media_root: Path) -> None:
    """Read the stored file back: exactly one file of the upload, of the right size and md5."""
    if not outcome.completed:
        return
    stored = [p for p in media_root.rglob(f"{outcome.upload_id}.*") if p.is_file()]
    if len(stored) != 1:
        outcome.error = f"expected one stored file, found {[str(p) for p in stored]}"
    elif stored[0].stat().st_size != outcome.planned.size:
        outcome.error = f"stored {stored[0].stat().st_size} bytes of {outcome.planned.size}"
    elif clients.md5_of(stored[0]) != outcome.md5:
        outcome.error = f"the stored bytes differ from what was sent: {stored[0]}"
    else:
        outcome.verified = True


def run_load(
    base_url: str,
    media_root: Path,
    planned: Sequence[Planned],
    concurrency: int,
    headers: dict[str, str] | None = None,
    parallel: int = 1,
) -> LoadReport:
    """Send every planned upload to ``base_url`` from ``concurrency`` threads at once (each
    with ``parallel`` chunks in flight), then check what the server stored under
    ``media_root``. Throughput counts the sending only."""
    url = f"{base_url}/graphql/"
    source = Source(max(p.chunk_size for p in planned))
    start_together = threading.Barrier(min(concurrency, len(planned)))

    def one(item: Planned) -> Outcome:
        if item.index < start_together.parties:
            start_together.wait()
        return upload(url, item, source, headers or {}, parallel)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, planned))
    wall_s = time.perf_counter() - began
    for outcome in outcomes:
        verify(outcome, media_root)
    return LoadReport(outcomes, wall_s)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile; ``None`` without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def markdown_table(report: LoadReport) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    chunks, completions = report.chunk_latencies(), report.completion_latencies()
    cells = [
        str(len(report.outcomes)),
        str(report.completed),
        str(report.verified),
        f"{report.bytes_sent / MIB:.0f}",
        f"{report.wall_s:.1f}",
        f"{report.mb_s:.1f}",
        str(len(chunks)),
        ms(percentile(chunks, 50)),
        ms(percentile(chunks, 99)),
        ms(percentile(completions, 50)),
        ms(percentile(completions, 99)),
        str(len(report.errors)),
    ]
    return "\n".join(
        [
            "| uploads | completed | verified | MiB | wall (s) | MB/s | chunks "
            "| chunk p50 (ms) | chunk p99 (ms) | complete p50 (ms) | complete p99 (ms) | errors |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            "| " + " | ".join(cells) + " |",
        ]
    )


_SIZE = re.compile(r"(\d+)([KMG]?)(?:i?B)?", re.IGNORECASE)


def size(text: str) -> int:
    """``512K``, ``64M``, ``1G`` or plain bytes."""
    match = _SIZE.fullmatch(text.strip())
    if not match or int(match[1]) < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512K, 64M)")
    return int(match[1]) * {"": 1, "K": KIB, "M": MIB, "G": 1024 * MIB}[match[2].upper()]


def label(value: int) -> str:
    for unit, scale in (("G", 1024 * MIB), ("M", MIB), ("K", KIB)):
        if value % scale == 0:
            return f"{value // scale}{unit}"
    return str(value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="Concurrent uploads of mixed sizes through the example site under gunicorn; "
        "every stored file's checksum is verified. Exits 1 on any error.",
    )
    parser.add_argument("--uploads", type=int, default=50, help="how many uploads (50)")
    parser.add_argument("--concurrency", type=int, default=50, help="client threads (50)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument("--min-size", type=size, default=MIB, help="smallest file (1M)")
    parser.add_argument("--max-size", type=size, default=64 * MIB, help="largest file (64M)")
    parser.add_argument(
        "--chunk-sizes",
        type=size,
        nargs="+",
        default=list(DEFAULT_CHUNK_SIZES),
        help="each upload uses one of these (256K 1M 4M 8M)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="chunks in flight per upload: above 1, each upload is a parallel one (createUpload "
        "with parallel: true) sent by that many threads of its own; 1 sends serially (1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="for the sizes and the data (0)")
    parser.add_argument(
        "--database-url",
        help="e.g. postgres://postgres@127.0.0.1:5432/load (migrated; uploads stay in it); "
        "default: SQLite in a temporary directory",
    )
    args = parser.parse_args(argv)
    if min(args.uploads, args.concurrency, args.workers, args.parallel) < 1:
        parser.error("uploads, concurrency, workers and parallel must be positive")
    if args.min_size > args.max_size:
        parser.error("--min-size is larger than --max-size")
    return args


def start_site(workdir: Path, workers: int, database_url: str | None) -> tuple[Gunicorn, Path]:
    """The example site with ``bench/settings.py`` under gunicorn, its media root in
    ``workdir``; its database migrated first."""
    media = workdir / "media"
    env = server_env(
        DJANGO_SETTINGS_MODULE="bench.settings",
        EXAMPLE_SITE_DB=str(workdir / "db.sqlite3"),
        EXAMPLE_SITE_MEDIA=str(media),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    run_checked([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], ROOT, env)
    server = Gunicorn(
        name="ours",
        python=sys.executable,
        app="example_site.wsgi",
        cwd=ROOT,
        env=env,
        log_path=workdir / "gunicorn.log",
        probe="/graphql/",
        workers=workers,
    )
    return server, media


def machine_line(info: dict[str, Any], args: argparse.Namespace) -> str:
    database = "PostgreSQL" if args.database_url else "SQLite"
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']:.0f} GiB RAM, "
        f"Python {info['python']}, {info['kernel']}; gunicorn with {args.workers} sync workers, "
        f"{database}, loopback, {args.concurrency} client threads (`requests`)"
        + (f", each with {args.parallel} sender threads" if args.parallel > 1 else "")
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    planned = plan(args.uploads, args.min_size, args.max_size, args.chunk_sizes, args.seed)
    with tempfile.TemporaryDirectory(prefix="chunked-graphql-load-") as tmp:
        server, media = start_site(Path(tmp), args.workers, args.database_url)
        try:
            report = run_load(
                server.base_url, media, planned, args.concurrency, parallel=args.parallel
            )
            log = server.log()
        finally:
            server.stop()
    command = shlex.join(["python", "-m", "bench.load", *(argv or sys.argv[1:])])
    chunk_sizes = ", ".join(map(label, args.chunk_sizes))
    peak = max((o.most_in_flight for o in report.outcomes), default=0)
    print(
        f"`{command}`: {args.uploads} uploads of {label(args.min_size)}-{label(args.max_size)} "
        f"in chunks of {chunk_sizes}"
        + (
            f", each a parallel upload sent by {args.parallel} threads (at most {peak} chunks "
            "of one upload were in flight at once)."
            if args.parallel > 1
            else "."
        )
    )
    print()
    print(f"Machine: {machine_line(machine(), args)}.")
    print()
    print(markdown_table(report))
    if report.errors:
        print(f"\n{len(report.errors)} error(s):", file=sys.stderr)
        for line in report.errors[:20]:
            print(f"- {line}", file=sys.stderr)
        print(f"\nserver log (last lines):\n{log}", file=sys.stderr)
        return 1
    return 0


def entry_point() -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: server stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)
    except ServerError as error:
        print(f"bench.load: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    entry_point()

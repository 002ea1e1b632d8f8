"""The benchmark: chunked uploads through this project, drf-chunked-upload 0.6.0 and a floor.

    make bench                                  # the default run (about 11 minutes on 2 cores)
    .venv/bin/python -m bench --quick           # a smoke check (under a minute)
    .venv/bin/python -m bench --networks loopback link     # also through the emulated link
    .venv/bin/python -m bench --huge --sizes 0  # only the 5 GiB parallel upload, disk and S3
    .venv/bin/python -m bench --help

Each system runs in its best setting, side by side: drf-chunked-upload can only be sent serially,
and runs with 2 and with 4 gunicorn workers (the faster is reported); this project runs a serial
upload on 2 workers (a serial client keeps one busy) and a parallel upload, 4 chunks in flight,
on 4 workers; the floor (a bare app that only reads the body) gets the serial client on 2
workers. For every network, file size, chunk size and run, the same random file goes through
every one of them back to back, in an order that rotates from one run to the next, so that drift
on a shared machine hits them all alike. Every upload gets a freshly started server (so each
worker's peak RSS belongs to that upload alone), on SQLite, and on the emulated link
(``bench/link.py``: 25 ms each way, 200 Mbit/s) a fresh proxy in front of it. The stored bytes of
every upload are checked (size and md5) against the source, then deleted.

Then, unless skipped: one large serial upload (5 GiB: offsets past 2^32) through this project,
checked the same way; and with ``--huge``, a 5 GiB parallel upload with a checksum on every chunk
to the file system and to moto's S3 server, each compared byte for byte with the source.

It prints Markdown tables (medians over the runs; ratios are medians of per-run ratios), the
machine it ran on, the command, and a check against the targets of the issues, and writes every
measurement as JSON (``bench/results/latest.json`` unless ``--json`` says otherwise).

This module is the run itself: the cases in their order, the report and the JSON. The options are
``bench/options.py``, the systems and their servers ``bench/sites.py``, one measured upload
``bench/uploads.py``, the huge upload ``bench/huge.py``, what is printed ``bench/console.py``, and
how the results are summed up ``bench/report.py``.
"""

from __future__ import annotations

import datetime
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from bench import clients, drf_site
from bench.console import command_line, machine, print_report, progress
from bench.huge import run_huge
from bench.options import parse_args
from bench.report import Network, check_targets, size_label, summarise
from bench.servers import ServerError
from bench.sites import variants
from bench.uploads import GIB, MIB, check_disk, measure, random_file


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A SIGTERM stops the run like a Ctrl-C does: servers stopped, temporary files removed.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    info = machine()
    command = command_line()
    networks = [Network(name, args.link_delay_ms / 1000, args.link_mbit) for name in args.networks]
    records: list[dict[str, Any]] = []
    large: dict[str, Any] | None = None
    huge: list[dict[str, Any]] = []

    with tempfile.TemporaryDirectory(prefix="chunked-graphql-bench-") as tmp:
        workdir = Path(tmp)
        if args.sizes:
            largest = max(args.sizes) * MIB
            check_disk(workdir, 2 * largest + GIB, f"the {size_label(max(args.sizes))} files",
                       "smaller --sizes")  # fmt: skip
        logs = workdir / "logs"
        logs.mkdir()
        systems = variants(args, workdir) if args.sizes or args.large else []

        case = 0
        for size_mib in args.sizes:
            source = random_file(workdir, size_mib * MIB)
            for network in networks:
                for chunk_mib in args.chunks:
                    for run in range(args.runs):
                        # Rotate the order from run to run (and case to case), so that no
                        # system always goes first, right after a file was written, or last.
                        shift = (case + run) % len(systems)
                        for variant in systems[shift:] + systems[:shift]:
                            record = measure(
                                variant, network, logs, source, size_mib * MIB, chunk_mib * MIB
                            )
                            record["run"] = run
                            records.append(record)
                            progress(record, run)
                    case += 1
            source.unlink()

        serial = next((v for v in systems if v.system == "ours"), None)
        if args.large and serial is not None:
            check_disk(workdir, 2 * args.large * MIB + GIB,
                       f"the {size_label(args.large)} upload", "--large 0")  # fmt: skip
            source = random_file(workdir, args.large * MIB)
            large = measure(
                serial, Network("loopback"), logs, source, args.large * MIB, args.large_chunk * MIB
            )
            large["run"] = 0
            large["verified"] = True
            progress(large, 0)
            source.unlink()

        if args.huge:
            for store in args.huge_stores:
                extra = run_huge(args, workdir, logs, store)
                huge.append(extra)
                progress(extra, 0)

    elapsed = time.monotonic() - started
    rows = summarise(records)
    targets = check_targets(rows, large, huge, args.link_mbit)
    print_report(args, info, command, rows, networks, large, huge, targets, elapsed)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "command": command,
                "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "elapsed_s": round(elapsed, 1),
                "machine": info,
                "drf_pins": list(drf_site.PINS),
                "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "summary": rows,
                "large": large,
                "huge": huge,
                "targets": targets,
                "measurements": records,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nEvery measurement: {args.json}")


def entry_point() -> None:
    """``python -m bench``: errors as one message (with the server's log), Ctrl-C as exit 130."""
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)
    except (ServerError, clients.UploadFailed, RuntimeError) as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    entry_point()

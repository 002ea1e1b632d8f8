"""The benchmark: chunked uploads through this project, drf-chunked-upload 0.6.0 and a floor.

    make bench                                  # the full run (about 11 minutes on 2 cores)
    .venv/bin/python -m bench --quick           # a smoke check (under a minute)
    .venv/bin/python -m bench --sizes 256 --chunks 8 --runs 1 --large 0

For every file size and chunk size, and every run, it uploads the same random file through the
three systems back to back, in an order that rotates from one run to the next, so that drift on
a shared machine hits all three alike. Each system runs under gunicorn with 2 sync workers (the
two upload apps on SQLite), on loopback, restarted for every single upload so that each worker's
peak RSS belongs to that upload alone. The stored bytes of every upload are checked (size and
md5) against the source, then deleted. Last, it uploads one large file (5 GiB: offsets past 2^32)
through this project and checks it the same way.

It prints a Markdown table (medians over the runs; the ratio is the median of the per-run
ratios), the machine it ran on, the command, and a check against the targets of the issue, and
writes every measurement as JSON (``bench/results/latest.json`` unless ``--json`` says
otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from bench import clients, drf_site
from bench.servers import Gunicorn, ServerError

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
SYSTEMS = ("ours", "drf", "floor")

FULL = {"sizes": [256, 1024], "chunks": [1, 8, 64], "runs": 3, "large": 5120}
QUICK = {"sizes": [64], "chunks": [1, 8], "runs": 1, "large": 0}

# The targets of the issue, checked on the benchmark's own results.
TARGET_RATIO = 2.0  # throughput of ours / drf-chunked-upload, at every chunk size
TARGET_COMPLETE_S = 0.050  # completeUpload, at every file size
TARGET_RSS_MARGIN_MIB = 10.0  # peak RSS per worker: at most drf-chunked-upload's plus this
# "Flat in file size": the spread over the file sizes (the large file included) stays within this.
FLAT_COMPLETE_S = 0.020
FLAT_RSS_MIB = 5.0


@dataclass
class System:
    """One system under test: how to start its server, upload through it, find what it stored."""

    name: str
    start: Callable[[Path], Gunicorn]
    upload: Callable[[str, Path, int, int], clients.Upload]
    media: Path | None  # where it stores uploads; None for the floor


def server_env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        # A DATABASE_URL (the test suite's PostgreSQL run sets one) would move the example site
        # off SQLite; the others would leak this project's settings into the drf site.
        if name not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME"}
    }
    env.update(extra)
    return env


def set_up_ours(workdir: Path) -> System:
    workdir.mkdir()
    media = workdir / "media"
    env = server_env(
        DJANGO_SETTINGS_MODULE="bench.settings",
        EXAMPLE_SITE_DB=str(workdir / "db.sqlite3"),
        EXAMPLE_SITE_MEDIA=str(media),
    )
    run_checked([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], ROOT, env)

    def start(log_path: Path) -> Gunicorn:
        return Gunicorn(
            name="ours",
            python=sys.executable,
            app="example_site.wsgi",
            cwd=ROOT,
            env=env,
            log_path=log_path,
            probe="/graphql/",
        )

    return System("ours", start, clients.upload_ours, media)


def set_up_drf(workdir: Path, venv: Path) -> System:
    python = drf_site.ensure_venv(venv)
    site = workdir / "site"
    site.mkdir(parents=True)
    drf_site.write_site(site)
    media = workdir / "media"
    env = server_env(
        DJANGO_SETTINGS_MODULE="benchsite.settings",
        BENCH_DB=str(workdir / "db.sqlite3"),
        BENCH_MEDIA_ROOT=str(media),
    )
    drf_site.set_up_database(python, site, env)

    def start(log_path: Path) -> Gunicorn:
        return Gunicorn(
            name="drf",
            python=python,
            app="benchsite.wsgi",
            cwd=site,
            env=env,
            log_path=log_path,
            probe="/uploads/",
        )

    return System("drf", start, clients.upload_drf, media)


def set_up_floor(workdir: Path) -> System:
    workdir.mkdir()
    env = server_env()

    def start(log_path: Path) -> Gunicorn:
        return Gunicorn(
            name="floor",
            python=sys.executable,
            app="bench.floor:application",
            cwd=ROOT,
            env=env,
            log_path=log_path,
        )

    return System("floor", start, clients.upload_floor, None)


def run_checked(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise ServerError(f"{shlex.join(argv)} failed:\n{result.stdout}{result.stderr}")


def measure(system: System, logs: Path, path: Path, size: int, chunk_size: int) -> dict[str, Any]:
    """One upload through a freshly started server; the stored bytes are checked and deleted."""
    server = system.start(logs / f"{system.name}.log")
    try:
        try:
            upload = system.upload(server.base_url, path, size, chunk_size)
        except (clients.UploadFailed, OSError) as error:
            raise ServerError(f"{system.name}: {error}\nserver log:\n{server.log()}") from error
        peaks = server.worker_peak_rss_mib()
    finally:
        server.stop()
    if system.media is not None:
        verify_and_delete(system, upload, size)
    total_s = upload.sending_s + (upload.completing_s or 0.0)
    return {
        "system": system.name,
        "size_mib": size // MIB,
        "chunk_mib": chunk_size // MIB,
        "mb_s": size / 1e6 / total_s,
        "sending_s": upload.sending_s,
        "completing_s": upload.completing_s,
        "worker_peak_rss_mib": peaks,
        "peak_rss_mib": max(peaks),
    }


def verify_and_delete(system: System, upload: clients.Upload, size: int) -> None:
    assert system.media is not None and upload.upload_id is not None
    stored = [p for p in system.media.rglob(f"{upload.upload_id}.*") if p.is_file()]
    if len(stored) != 1:
        raise RuntimeError(f"{system.name}: expected one stored file for {upload.upload_id}, "
                           f"found {[str(p) for p in stored]}")  # fmt: skip
    actual_size = stored[0].stat().st_size
    if actual_size != size:
        raise RuntimeError(f"{system.name}: stored {actual_size} bytes of {size}: {stored[0]}")
    if clients.md5_of(stored[0]) != upload.md5:
        raise RuntimeError(f"{system.name}: stored bytes differ from the source: {stored[0]}")
    stored[0].unlink()


def random_file(directory: Path, size: int) -> Path:
    path = directory / f"random-{size // MIB}MiB.bin"
    with path.open("wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 8 * MIB))
            out.write(block)
            remaining -= len(block)
    return path


def check_disk(directory: Path, size: int, what: str) -> None:
    """The source file and the stored copy both live under ``directory``, plus some slack."""
    needed = 2 * size + 1024 * MIB
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise SystemExit(
            f"not enough disk for {what}: {free / 2**30:.1f} GiB free under {directory}, "
            f"{needed / 2**30:.1f} GiB needed (source + stored copy + 1 GiB). "
            "Point TMPDIR at a larger file system, or skip it (--large 0)."
        )


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


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']:.0f} GiB RAM, "
        f"Python {info['python']}, {info['kernel']}; gunicorn with 2 sync workers, SQLite, "
        "loopback, serial `requests` client hashing md5 as it sends"
    )


def command_line() -> str:
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(Path.cwd())
    return shlex.join([str(python), "-m", "bench", *sys.argv[1:]])


def summarise(records: list[dict[str, Any]], systems: list[str]) -> list[dict[str, Any]]:
    """Medians per (file size, chunk size); the ratio is the median of the per-run ratios."""
    cases = sorted({(r["size_mib"], r["chunk_mib"]) for r in records})
    rows = []
    for size_mib, chunk_mib in cases:
        row: dict[str, Any] = {"size_mib": size_mib, "chunk_mib": chunk_mib}
        of_case = [r for r in records if (r["size_mib"], r["chunk_mib"]) == (size_mib, chunk_mib)]
        for name in systems:
            mine = [r for r in of_case if r["system"] == name]
            if not mine:
                continue
            row[name] = {
                "runs": len(mine),
                "mb_s": statistics.median(r["mb_s"] for r in mine),
                "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in mine),
                "completing_s": (
                    statistics.median(r["completing_s"] for r in mine)
                    if mine[0]["completing_s"] is not None
                    else None
                ),
            }
        ours = [r for r in of_case if r["system"] == "ours"]
        drf = [r for r in of_case if r["system"] == "drf"]
        if ours and drf:
            pairs = zip(ours, drf, strict=True)  # same runs, same order
            row["ratio"] = statistics.median(o["mb_s"] / d["mb_s"] for o, d in pairs)
        rows.append(row)
    return rows


def size_label(mib: int) -> str:
    return f"{mib // 1024} GiB" if mib >= 1024 and mib % 1024 == 0 else f"{mib} MiB"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    def cell(row: dict[str, Any], name: str, key: str, fmt: str, scale: float = 1.0) -> str:
        value = row.get(name, {}).get(key)
        return "-" if value is None else format(value * scale, fmt)

    lines = [
        "| file | chunk | ours MB/s | drf MB/s | floor MB/s | ours/drf "
        "| complete ours (ms) | complete drf (ms) | peak RSS/worker ours (MiB) "
        "| peak RSS/worker drf (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row.get("ratio")
        lines.append(
            "| "
            + " | ".join(
                [
                    size_label(row["size_mib"]),
                    f"{row['chunk_mib']} MiB",
                    cell(row, "ours", "mb_s", ".1f"),
                    cell(row, "drf", "mb_s", ".1f"),
                    cell(row, "floor", "mb_s", ".1f"),
                    "-" if ratio is None else f"{ratio:.2f}",
                    cell(row, "ours", "completing_s", ".0f", 1000),
                    cell(row, "drf", "completing_s", ".0f", 1000),
                    cell(row, "ours", "peak_rss_mib", ".0f"),
                    cell(row, "drf", "peak_rss_mib", ".0f"),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def check_targets(rows: list[dict[str, Any]], large: dict[str, Any] | None) -> list[str]:
    """One line per target of the issue: PASS, FAIL, or why it could not be checked."""
    verdict = {True: "PASS", False: "FAIL"}
    lines = []
    paired = [r for r in rows if "ratio" in r]
    if paired:
        worst = min(paired, key=lambda r: r["ratio"])
        lines.append(
            f"{verdict[worst['ratio'] >= TARGET_RATIO]} throughput ≥ {TARGET_RATIO:g}x drf at "
            f"every chunk size (lowest: {worst['ratio']:.2f}x at "
            f"{size_label(worst['size_mib'])} / {worst['chunk_mib']} MiB)"
        )
    ours = [r for r in rows if "ours" in r]
    completions = [(r["size_mib"], r["chunk_mib"], r["ours"]["completing_s"]) for r in ours]
    if large is not None:
        completions.append((large["size_mib"], large["chunk_mib"], large["completing_s"]))
    if completions:
        slowest = max(s for _, _, s in completions)
        spread = slowest - min(s for _, _, s in completions)
        by_size = ", ".join(f"{size_label(m)}/{c} MiB {s * 1000:.0f} ms" for m, c, s in completions)
        lines.append(
            f"{verdict[slowest <= TARGET_COMPLETE_S]} completeUpload ≤ "
            f"{TARGET_COMPLETE_S * 1000:.0f} ms at every file size ({by_size})"
        )
        if len({m for m, _, _ in completions}) > 1:
            lines.append(
                f"{verdict[spread <= FLAT_COMPLETE_S]} completeUpload flat in file size "
                f"(spread {spread * 1000:.0f} ms, allowed {FLAT_COMPLETE_S * 1000:.0f} ms)"
            )
    if paired:
        over = max(paired, key=lambda r: r["ours"]["peak_rss_mib"] - r["drf"]["peak_rss_mib"])
        margin = over["ours"]["peak_rss_mib"] - over["drf"]["peak_rss_mib"]
        lines.append(
            f"{verdict[margin <= TARGET_RSS_MARGIN_MIB]} peak RSS per worker ≤ drf + "
            f"{TARGET_RSS_MARGIN_MIB:g} MiB at every chunk size (largest excess: {margin:+.0f} MiB"
            f" at {size_label(over['size_mib'])} / {over['chunk_mib']} MiB)"
        )
    peaks_by_chunk: dict[int, list[float]] = {}
    for r in ours:
        peaks_by_chunk.setdefault(r["chunk_mib"], []).append(r["ours"]["peak_rss_mib"])
    if large is not None:
        peaks_by_chunk.setdefault(large["chunk_mib"], []).append(large["peak_rss_mib"])
    spreads = {c: max(p) - min(p) for c, p in peaks_by_chunk.items() if len(p) > 1}
    if spreads:
        chunk, spread = max(spreads.items(), key=lambda item: item[1])
        lines.append(
            f"{verdict[spread <= FLAT_RSS_MIB]} peak RSS per worker flat in file size (largest "
            f"spread {spread:.0f} MiB at {chunk} MiB chunks, allowed {FLAT_RSS_MIB:g} MiB)"
        )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Chunked uploads through this project, drf-chunked-upload 0.6.0 and a floor.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke check: " + str(QUICK))
    parser.add_argument("--sizes", type=int, nargs="+", help="file sizes in MiB (256 1024)")
    parser.add_argument("--chunks", type=int, nargs="+", help="chunk sizes in MiB (1 8 64)")
    parser.add_argument("--runs", type=int, help="runs per case; medians are reported (3)")
    parser.add_argument(
        "--large", type=int, help="size in MiB of the last upload, ours only (5120; 0: skip)"
    )
    parser.add_argument("--large-chunk", type=int, default=64, help="its chunk size in MiB (64)")
    parser.add_argument(
        "--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS), help="what to measure"
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
    if args.runs < 1 or min(args.sizes + args.chunks) < 1 or args.large < 0:
        parser.error("sizes, chunks and runs must be positive")
    return args


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A SIGTERM stops the run like a Ctrl-C does: servers stopped, temporary files removed.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    info = machine()
    command = command_line()
    records: list[dict[str, Any]] = []
    large: dict[str, Any] | None = None

    def progress(record: dict[str, Any], run: int) -> None:
        completing = record["completing_s"]
        print(
            f"  {size_label(record['size_mib']):>8} / {record['chunk_mib']:>3} MiB run {run + 1}"
            f"  {record['system']:<5} {record['mb_s']:7.1f} MB/s"
            + (f"  complete {completing * 1000:7.0f} ms" if completing is not None else " " * 22)
            + f"  peak RSS {', '.join(f'{p:.0f}' for p in record['worker_peak_rss_mib'])} MiB",
            file=sys.stderr,
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="chunked-graphql-bench-") as tmp:
        workdir = Path(tmp)
        check_disk(workdir, max(args.sizes) * MIB, f"the {size_label(max(args.sizes))} files")
        logs = workdir / "logs"
        logs.mkdir()
        systems: list[System] = []
        for name in args.systems:
            if name == "ours":
                systems.append(set_up_ours(workdir / "ours"))
            elif name == "drf":
                systems.append(set_up_drf(workdir / "drf", args.drf_venv))
            else:
                systems.append(set_up_floor(workdir / "floor"))

        case = 0
        for size_mib in args.sizes:
            source = random_file(workdir, size_mib * MIB)
            for chunk_mib in args.chunks:
                for run in range(args.runs):
                    # Rotate the order from run to run (and case to case), so that no system
                    # always goes first, right after a file was written, or last.
                    shift = (case + run) % len(systems)
                    for system in systems[shift:] + systems[:shift]:
                        record = measure(system, logs, source, size_mib * MIB, chunk_mib * MIB)
                        record["run"] = run
                        records.append(record)
                        progress(record, run)
                case += 1
            source.unlink()

        ours = next((s for s in systems if s.name == "ours"), None)
        if args.large and ours is not None:
            check_disk(workdir, args.large * MIB, f"the {size_label(args.large)} upload")
            source = random_file(workdir, args.large * MIB)
            large = measure(ours, logs, source, args.large * MIB, args.large_chunk * MIB)
            large["run"] = 0
            large["verified"] = True
            progress(large, 0)
            source.unlink()

    elapsed = time.monotonic() - started
    rows = summarise(records, [s.name for s in systems])
    targets = check_targets(rows, large)
    report(args, info, command, rows, large, targets, elapsed)
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
                "targets": targets,
                "measurements": records,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nEvery measurement: {args.json}")


def report(
    args: argparse.Namespace,
    info: dict[str, Any],
    command: str,
    rows: list[dict[str, Any]],
    large: dict[str, Any] | None,
    targets: list[str],
    elapsed: float,
) -> None:
    print()
    print(f"`{command}`, {elapsed / 60:.1f} min; median of {args.runs} run(s) per case.")
    print()
    print(f"Machine: {machine_line(info)}.")
    print()
    print(markdown_table(rows))
    if large is not None:
        print()
        print(
            f"Large file (ours): {size_label(large['size_mib'])} in {large['chunk_mib']} MiB"
            f" chunks, stored bytes verified: {large['mb_s']:.1f} MB/s, completeUpload"
            f" {large['completing_s'] * 1000:.0f} ms, peak RSS per worker"
            f" {large['peak_rss_mib']:.0f} MiB."
        )
    if targets:
        print()
        print("Targets:")
        for line in targets:
            print(f"- {line}")


def entry_point() -> None:
    """``python -m bench``: errors as one message (with the server's log), Ctrl-C as exit 130."""
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)
    except (ServerError, clients.UploadFailed) as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    entry_point()

"""Where a worker's time goes while it serves one ``uploadChunk`` request.

    .venv/bin/python -m bench.profile_chunk                      # this tree, 1 MiB chunks
    .venv/bin/python -m bench.profile_chunk --tree ../baseline   # another checkout beside it
    .venv/bin/python -m bench.profile_chunk --cprofile chunk.pstats

The example site (``bench/settings.py``: anonymous uploads, SQLite, the file-system store) is
served in this process the way a gunicorn sync worker serves it: each request arrives on a
loopback connection of its own, gunicorn's own parser reads its head and hands the app gunicorn's
environ (``wsgi.input`` is gunicorn's ``Body``, and ``gunicorn.socket`` is there, so the body
deadlines watch the reads as in production), and the answer goes back through gunicorn's
``Response``. The client, a process of its own, sends what the benchmark's client sends: an
``uploadChunk`` mutation with the chunk as a file part, serially, sending back the cookies it is
given, in uploads of ``--chunks-per-upload`` chunks one after another.

For each request the worker's time (wall clock of the serving thread, and its CPU time) is split
by light timers put on a few functions, each counting only the time not spent in another one:

- **bytes**: gunicorn's body reads (``Body.read``, the socket's ``recv`` included), the md5
  (``ResumableHash.update``), and the file-system store's writes, ``fdatasync`` and
  ``posix_fadvise``: what moving the bytes costs, whatever the code around it;
- **service SQL**: the service's queries, ``BEGIN`` and ``COMMIT`` (Django's
  ``execute_wrapper`` and the connection's commit);
- **service Python**: the rest of ``services.upload_chunk`` (building the queries, the ORM,
  the checks);
- **outside the service**: all the rest: multipart parsing (our reader and python-multipart's
  parser, also where the service pulls the file part through them), GraphQL (the document,
  parsed and validated or found in the cache; executing it around the resolver; encoding the
  answer), the body deadlines, the view (ours and graphene-django's, the CSRF cookie
  included), Django (handler, middleware, URL resolving, request and response objects) and
  gunicorn (the request's head, the answer).

The minor page faults of the serving thread are counted too: large buffers that the C library
hands back to the system after each request cost a fault per page when the next one takes them
again.

Several ``--tree`` options run the same measurement on several checkouts (each in a process of
its own, taking turns ``--rounds`` times), so a change can be compared with the code it changes
in one run on the same machine. ``--cprofile PATH`` profiles the measured requests of the first
tree with cProfile instead and prints the functions that cost the most (``--outside-only``: what
runs outside ``services.upload_chunk``). A timer whose function a tree does not have is named
in a warning, and its time counts where the caller's does.

This module is the command: it runs the measuring process (``bench/profile_worker.py``, with the
timers of ``bench/profile_timers.py``) in each tree, which starts the client process
(``bench/profile_client.py``), and sums up the rows they send back.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.profile_timers import BYTES, CATEGORIES, OUTSIDE, SERVICE, TIMED

ROOT = Path(__file__).resolve().parent.parent
# The measuring process, run by path in each tree (bench/profile_worker.py says why).
WORKER = Path(__file__).resolve().with_name("profile_worker.py")


GROUPS = {"bytes": BYTES, "service": SERVICE, "outside the service": OUTSIDE}


def summary(rows: list[dict[str, float]]) -> dict[str, float]:
    """Per chunk, in ms: the median over the requests of each category, of each group, of the
    whole request (``worker``) and of all of it but the bytes; wall time, and CPU time under
    the same names followed by " CPU"."""
    result: dict[str, float] = {}
    for suffix in ("", " CPU"):

        def median(value: Callable[[dict[str, float]], float]) -> float:
            return 1000 * statistics.median(value(row) for row in rows)

        for name in (*CATEGORIES, "worker"):
            result[name + suffix] = median(lambda row, key=name + suffix: row[key])
        result["page faults" + suffix] = statistics.median(row["page faults"] for row in rows)
        for group, names in (*GROUPS.items(), ("all but the bytes", BYTES)):
            keys = [name + suffix for name in names]
            if group == "all but the bytes":
                total = "worker" + suffix
                result[group + suffix] = median(
                    lambda row, keys=keys, total=total: row[total] - sum(row[k] for k in keys)
                )
            else:
                result[group + suffix] = median(lambda row, keys=keys: sum(row[k] for k in keys))
    return result


def table(labels: list[str], summaries: list[dict[str, float]]) -> str:
    """A Markdown table: a wall and a CPU column for each tree."""
    head = " | ".join(f"{label} wall | {label} CPU" for label in labels)
    lines = [f"| ms per chunk | {head} |", "|---|" + "---:|" * (2 * len(labels))]
    order: list[tuple[str, str]] = []
    for group, names in GROUPS.items():
        order += [(f"- {name}", name) for name in names]
        order.append((f"**{group}**", group))
    order += [
        ("**worker, whole request**", "worker"),
        ("**all but the bytes**", "all but the bytes"),
    ]
    for label, key in order:
        cells = " | ".join(f"{s[key]:.2f} | {s[key + ' CPU']:.2f}" for s in summaries)
        lines.append(f"| {label} | {cells} |")
    faults = " | ".join(f"{s['page faults']:.0f} | " for s in summaries)
    lines.append(f"| minor page faults (count) | {faults}|")
    return "\n".join(lines)


def cprofile_report(path: str, limit: int = 40) -> str:
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(path, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def run_tree(tree: Path, args: argparse.Namespace, *, cprofile: str | None) -> dict[str, Any]:
    command = [
        sys.executable,
        "-P",
        str(WORKER),
        "--chunk-mib", str(args.chunk_mib),
        "--chunks", str(args.chunks),
        "--warmup", str(args.warmup),
        "--chunks-per-upload", str(args.chunks_per_upload),
        "--tmp", str(args.tmp),
    ]  # fmt: skip
    if not args.timers:
        command.append("--no-timers")
    if cprofile:
        command += ["--cprofile", cprofile]
        if args.outside_only:
            command.append("--outside-only")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    completed = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{tree}: the measurement failed:\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout)
    if Path(report["tree"]) != tree.resolve():
        raise SystemExit(f"{tree}: the app was imported from {report['tree']} instead")
    missing = [name for name in TIMED if name not in report["timers"]] if args.timers else []
    if missing:
        print(f"warning: {tree} has no {', '.join(missing)}; not timed", file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tree",
        action="append",
        type=Path,
        help="a checkout to measure (repeatable; default: this one)",
    )
    parser.add_argument("--chunk-mib", type=int, default=1)
    parser.add_argument("--chunks", type=int, default=300, help="measured requests per round")
    parser.add_argument("--warmup", type=int, default=30, help="requests before measuring")
    parser.add_argument("--chunks-per-upload", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="turns each tree takes")
    parser.add_argument("--no-timers", dest="timers", action="store_false",
                        help="only the worker's wall and CPU time, no timers")  # fmt: skip
    parser.add_argument("--cprofile", metavar="PATH", help="cProfile the first tree to PATH")
    parser.add_argument("--outside-only", action="store_true",
                        help="with --cprofile: not inside services.upload_chunk")  # fmt: skip
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, help="write every request's numbers here")
    args = parser.parse_args(argv)

    trees = args.tree or [ROOT]
    if args.cprofile:
        report = run_tree(trees[0], args, cprofile=args.cprofile)
        print(cprofile_report(args.cprofile))
        print(table([trees[0].name], [summary(report["rows"])]))
        return
    rows: dict[Path, list[dict[str, float]]] = {tree: [] for tree in trees}
    for turn in range(args.rounds):
        # Alternating order, so that drift on a shared machine hits every tree alike.
        for tree in trees if turn % 2 == 0 else trees[::-1]:
            rows[tree] += run_tree(tree, args, cprofile=None)["rows"]
    labels = [tree.resolve().name for tree in trees]
    print(
        f"{args.chunk_mib} MiB chunks, {args.rounds} x {args.chunks} requests per tree "
        f"(after {args.warmup} warm-up requests each), medians:\n"
    )
    print(table(labels, [summary(rows[tree]) for tree in trees]))
    if args.json:
        args.json.write_text(json.dumps({str(t): r for t, r in rows.items()}))


if __name__ == "__main__":
    main()

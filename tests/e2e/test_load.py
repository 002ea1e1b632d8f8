"""Under load every upload completes intact: 50 uploads of mixed sizes (64 KiB to 2 MiB, chunks
of 64 KiB, 256 KiB or 1 MiB) sent at once from 50 client threads through gunicorn with 4 sync
workers, on the suite's database (SQLite, or PostgreSQL with DATABASE_URL).

It runs ``bench.load``, the load script of ``make load``, at a reduced size: each upload is
completed with its md5 (which the server checks), then its stored file is read back and compared
with what the client sent; the database must hold all 50 as complete, with their sizes. The same
check runs with parallel uploads, each sent with several chunks in flight (``--parallel``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.load import KIB, MIB, markdown_table, plan, run_load, verify
from bench.sites import ROOT
from chunked_graphql.models import ChunkedUpload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

UPLOADS = 50


def test_fifty_concurrent_uploads_of_mixed_sizes_complete_with_the_right_bytes(
    gunicorn: Any, media_root: Path
) -> None:
    server = gunicorn(workers=4, settings={"CHUNKED_GRAPHQL_USER_RESTRICTED": False})
    planned = plan(UPLOADS, 64 * KIB, 2 * MIB, [64 * KIB, 256 * KIB, MIB], seed=6)
    assert len({p.size for p in planned}) == UPLOADS
    assert {p.chunk_size for p in planned} == {64 * KIB, 256 * KIB, MIB}

    report = run_load(server.url, media_root, planned, concurrency=UPLOADS)

    assert report.errors == [], "\n".join(report.errors) + "\n" + server.log()
    assert report.completed == report.verified == UPLOADS
    assert all(o.completion_latency is not None for o in report.outcomes)
    chunk_count = sum(-(-p.size // p.chunk_size) for p in planned)
    assert len(report.chunk_latencies()) == chunk_count
    stored = dict(
        ChunkedUpload.objects.filter(status=ChunkedUpload.COMPLETE).values_list("id", "offset")
    )
    assert {str(pk): offset for pk, offset in stored.items()} == {
        o.upload_id: o.planned.size for o in report.outcomes
    }
    assert "| 50 | 50 | 50 |" in markdown_table(report)
    assert "Traceback" not in server.log()


PARALLEL_UPLOADS = 16
SENDERS = 4


def test_concurrent_parallel_uploads_of_mixed_sizes_complete_with_the_right_bytes(
    gunicorn: Any, media_root: Path
) -> None:
    server = gunicorn(workers=4, settings={"CHUNKED_GRAPHQL_USER_RESTRICTED": False})
    planned = plan(PARALLEL_UPLOADS, 256 * KIB, 2 * MIB, [64 * KIB, 128 * KIB, 256 * KIB], seed=8)
    assert len({p.size for p in planned}) == PARALLEL_UPLOADS
    assert {p.chunk_size for p in planned} == {64 * KIB, 128 * KIB, 256 * KIB}
    assert all(p.size > p.chunk_size for p in planned)  # every upload has chunks side by side

    report = run_load(
        server.url, media_root, planned, concurrency=PARALLEL_UPLOADS, parallel=SENDERS
    )

    assert report.errors == [], "\n".join(report.errors) + "\n" + server.log()
    assert report.completed == report.verified == PARALLEL_UPLOADS
    assert all(o.completion_latency is not None for o in report.outcomes)
    assert all(o.most_in_flight > 1 for o in report.outcomes), [
        o.most_in_flight for o in report.outcomes
    ]
    chunk_count = sum(-(-p.size // p.chunk_size) for p in planned)
    assert len(report.chunk_latencies()) == chunk_count
    stored = ChunkedUpload.objects.filter(status=ChunkedUpload.COMPLETE, parallel=True)
    assert {
        str(pk): (offset, chunk_size)
        for pk, offset, chunk_size in stored.values_list("id", "offset", "chunk_size")
    } == {o.upload_id: (o.planned.size, o.planned.chunk_size) for o in report.outcomes}
    assert f"| {PARALLEL_UPLOADS} | {PARALLEL_UPLOADS} | {PARALLEL_UPLOADS} |" in markdown_table(
        report
    )
    assert "Traceback" not in server.log()


def test_refused_uploads_are_counted_as_errors(gunicorn: Any, media_root: Path) -> None:
    server = gunicorn(workers=2)  # USER_RESTRICTED: anonymous uploads are refused
    planned = plan(4, 64 * KIB, 256 * KIB, [64 * KIB], seed=7)

    report = run_load(server.url, media_root, planned, concurrency=4)

    assert report.completed == report.verified == 0
    assert len(report.errors) == 4
    assert all("AUTHENTICATION_REQUIRED" in error for error in report.errors)
    assert markdown_table(report).endswith("| 4 |")


def test_a_stored_file_that_differs_from_what_was_sent_is_an_error(
    gunicorn: Any, media_root: Path
) -> None:
    server = gunicorn(workers=2, settings={"CHUNKED_GRAPHQL_USER_RESTRICTED": False})
    report = run_load(server.url, media_root, plan(2, 64 * KIB, 128 * KIB, [64 * KIB]), 2)
    assert report.errors == []
    outcome = report.outcomes[0]
    stored = next(media_root.rglob(f"{outcome.upload_id}.*"))
    content = bytearray(stored.read_bytes())
    content[-1] ^= 0xFF
    stored.write_bytes(bytes(content))

    outcome.verified = False
    verify(outcome, media_root)

    assert not outcome.verified
    assert outcome.error is not None and "differ" in outcome.error


def load_script(*options: str) -> subprocess.CompletedProcess[str]:
    """``python -m bench.load`` with ``options``, which must succeed."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def test_load_script_starts_its_own_server_and_reports_a_table() -> None:
    completed = load_script(
        "--uploads", "8", "--concurrency", "8", "--workers", "2",
        "--min-size", "64K", "--max-size", "512K", "--chunk-sizes", "64K", "128K",
    )  # fmt: skip
    assert "| 8 | 8 | 8 |" in completed.stdout
    assert completed.stdout.rstrip().endswith("| 0 |")  # the errors column
    assert "gunicorn with 2 sync workers, SQLite" in completed.stdout


def test_load_script_sends_parallel_uploads_with_parallel() -> None:
    completed = load_script(
        "--uploads", "6", "--concurrency", "6", "--workers", "2", "--parallel", "3",
        "--min-size", "256K", "--max-size", "1M", "--chunk-sizes", "64K", "128K",
    )  # fmt: skip
    sent = re.search(
        r"each a parallel upload sent by 3 threads \(at most (\d) chunks", completed.stdout
    )
    assert sent is not None, completed.stdout
    assert int(sent[1]) in (2, 3)
    assert "| 6 | 6 | 6 |" in completed.stdout
    assert completed.stdout.rstrip().endswith("| 0 |")  # the errors column

"""Several app servers behind a load balancer: two gunicorn processes on different ports share one
database (the suite's: SQLite, or PostgreSQL with DATABASE_URL) and one storage (a local
directory, then moto's S3 server). Chunks of one upload alternate between them, duplicates race
across them, and the stored file is checked byte for byte. No sticky sessions: neither server
keeps anything in memory that the other would need.

Parallel uploads too: chunks sent at once through both servers, and copies of one range raced
across them, over the shared directory (the file system's range locks hold across processes,
so across app servers sharing the directory)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import chunk_checksum
from tests.support.http_api import Http, content_range
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024
MIB = 1024 * KIB


@pytest.fixture(params=["filesystem", "s3"])
def servers(request: Any, gunicorn: Any) -> tuple[Any, Any]:
    """Two servers sharing the database and a storage: the media root, or one S3 bucket."""
    settings = request.getfixturevalue("s3").settings if request.param == "s3" else {}
    return gunicorn(workers=2, settings=settings), gunicorn(workers=2, settings=settings)


@pytest.fixture
def callers(servers: tuple[Any, Any], user: Any) -> tuple[Http, Http]:
    """The user's caller of each server, with a bearer token."""
    return Http(servers[0], user), Http(servers[1], user)


def send_chunk(
    http: Http, data: bytes, start: int, total: int, upload_id: str | None = None
) -> dict[str, Any]:
    return http.chunk(data, content_range(start, len(data), total), upload_id, "shared.bin")


def complete(http: Http, upload_id: str, data: bytes) -> dict[str, Any]:
    return http.complete(upload_id, hashlib.md5(data).hexdigest())


def at_once(callers: Any, call: Any) -> list[dict[str, Any]]:
    """``call(caller)`` for every server's caller at the same moment, from threads; the
    results."""
    barrier = threading.Barrier(len(callers))
    outcomes: list[dict[str, Any]] = []

    def run(http: Http) -> None:
        barrier.wait()
        outcomes.append(call(http))

    threads = [threading.Thread(target=run, args=(http,)) for http in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == len(callers)
    return outcomes


def test_alternate_chunks_to_two_servers_store_the_file(callers):
    data = os.urandom(6 * 1024 * KIB + 12_345)
    chunk = 700 * KIB
    result = send_chunk(callers[0], data[:chunk], 0, len(data))
    upload_id, turn = result["id"], 1
    while result["offset"] < len(data):
        start = result["offset"]
        result = send_chunk(
            callers[turn % 2], data[start : start + chunk], start, len(data), upload_id
        )
        assert result["__typename"] == "ChunkedUpload", result
        turn += 1

    completed = complete(callers[turn % 2], upload_id, data)

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(upload_id) == data


def test_duplicate_chunks_raced_across_servers_are_stored_once(callers):
    data = os.urandom(2 * 1024 * KIB)
    chunk = 256 * KIB
    upload_id = send_chunk(callers[0], data[:chunk], 0, len(data))["id"]

    for start in range(chunk, len(data), chunk):
        piece = data[start : start + chunk]
        outcomes = at_once(
            callers,
            lambda http, piece=piece, start=start: send_chunk(
                http, piece, start, len(data), upload_id
            ),
        )

        assert sorted(o["__typename"] for o in outcomes) == ["ChunkedUpload", "OffsetMismatch"]
        assert ChunkedUpload.objects.get(pk=upload_id).offset == start + len(piece)

    assert complete(callers[1], upload_id, data)["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data


def test_completions_raced_across_servers_complete_once(callers):
    data = os.urandom(300 * KIB)
    upload_id = send_chunk(callers[0], data, 0, len(data))["id"]
    outcomes = at_once(callers, lambda http: complete(http, upload_id, data))

    assert sorted(o["__typename"] for o in outcomes) == ["ChunkedUpload", "UploadAlreadyComplete"]
    assert stored_bytes(upload_id) == data


# Parallel uploads ------------------------------------------------------------------------------


@pytest.fixture
def disk_callers(gunicorn: Any, user: Any) -> tuple[Http, Http]:
    """The user's caller of each of two servers sharing the database and the media root."""
    return Http(gunicorn(workers=2), user), Http(gunicorn(workers=2), user)


def create_parallel(http: Http, total: int, chunk: int) -> str:
    result = http.create(total, parallel=True, chunk_size=chunk, filename="shared.bin")
    assert result["__typename"] == "ChunkedUpload", result
    return str(result["id"])


def each_at_once(calls: list[Callable[[], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every call at the same moment, from threads; their results in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls, timeout=120))


def send_copy(http: Http, piece: bytes, start: int, total: int, upload_id: str) -> dict[str, Any]:
    """``piece`` as the chunk at ``start``, with its chunkChecksum."""
    return http.chunk(
        piece,
        content_range(start, len(piece), total),
        upload_id,
        chunk_checksum=chunk_checksum(piece),
    )


def test_parallel_chunks_spread_over_two_servers_complete_byte_exact(disk_callers):
    data = os.urandom(6 * MIB + 12_345)
    chunk = 512 * KIB
    upload_id = create_parallel(disk_callers[0], len(data), chunk)
    starts = list(range(0, len(data), chunk))

    def sender(number: int) -> dict[str, Any]:
        """Every fourth chunk, ascending, through one server or the other."""
        http = disk_callers[number % 2]
        for start in starts[number::4]:
            result = http.send_range(upload_id, data, start, chunk)
            assert result["__typename"] == "ChunkedUpload", result
        return result

    each_at_once([lambda number=number: sender(number) for number in range(4)])
    completed = complete(disk_callers[1], upload_id, data)

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(upload_id) == data


def test_copies_of_one_parallel_range_raced_across_servers_are_stored_once(disk_callers):
    data = os.urandom(2 * MIB)
    chunk = 256 * KIB
    upload_id = create_parallel(disk_callers[0], len(data), chunk)
    expected = bytearray(data)

    # Descending: every chunk but the first arrives ahead of the prefix.
    for start in reversed(range(0, len(data), chunk)):
        pieces = [data[start : start + chunk], os.urandom(chunk)]  # one for each server
        outcomes = each_at_once(
            [
                partial(send_copy, http, piece, start, len(data), upload_id)
                for http, piece in zip(disk_callers, pieces, strict=True)
            ]
        )

        typenames = [outcome["__typename"] for outcome in outcomes]
        assert sorted(typenames) == ["ChunkChecksumMismatch", "ChunkedUpload"], outcomes
        kept = pieces[typenames.index("ChunkedUpload")]
        expected[start : start + chunk] = kept
        upload = ChunkedUpload.objects.get(pk=upload_id)
        assert upload.chunk_checksums[str(start)] == chunk_checksum(kept)
        with upload.file.open("rb") as stored:
            stored.seek(start)
            assert stored.read(chunk) == kept

    assert complete(disk_callers[1], upload_id, bytes(expected))["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == bytes(expected)

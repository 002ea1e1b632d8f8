"""Several app servers behind a load balancer: two gunicorn processes on different ports share one
database (the suite's: SQLite, or PostgreSQL with DATABASE_URL) and one storage (a local
directory, then moto's S3 server). Chunks of one upload alternate between them, duplicates race
across them, and the stored file is checked byte for byte. No sticky sessions: neither server
keeps anything in memory that the other would need."""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.http_api import Http, content_range
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024


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

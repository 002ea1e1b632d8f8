"""Several app servers behind a load balancer: two gunicorn processes on different ports share one
database (the suite's: SQLite, or PostgreSQL with DATABASE_URL) and one storage (a local
directory, then moto's S3 server). Chunks of one upload alternate between them, duplicates race
across them, and the stored file is checked byte for byte. No sticky sessions: neither server
keeps anything in memory that the other would need."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any

import pytest
import requests

from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024

UPLOAD_CHUNK = (
    "mutation($id: ID, $file: Upload, $range: String, $name: String) {"
    " uploadChunk(uploadId: $id, file: $file, contentRange: $range, filename: $name) {"
    " __typename ... on ChunkedUpload { id offset } ... on UploadError { code message } } }"
)
COMPLETE = (
    "mutation($id: ID, $sum: String) { completeUpload(uploadId: $id, checksum: $sum) {"
    " __typename ... on ChunkedUpload { status } ... on UploadError { code } } }"
)


@pytest.fixture(params=["filesystem", "s3"])
def servers(request: Any, gunicorn: Any) -> tuple[Any, Any]:
    """Two servers sharing the database and a storage: the media root, or one S3 bucket."""
    settings = request.getfixturevalue("s3").settings if request.param == "s3" else {}
    return gunicorn(workers=2, settings=settings), gunicorn(workers=2, settings=settings)


@pytest.fixture
def headers(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user)}"}


def send_chunk(
    server: Any,
    headers: dict[str, str],
    data: bytes,
    start: int,
    total: int,
    upload_id: str | None = None,
) -> dict[str, Any]:
    variables = {
        "id": upload_id,
        "range": f"bytes {start}-{start + len(data) - 1}/{total}",
        "name": "shared.bin",
        "file": None,
    }
    response = requests.post(
        server.graphql_url,
        headers=headers,
        data={
            "operations": json.dumps({"query": UPLOAD_CHUNK, "variables": variables}),
            "map": '{"0": ["variables.file"]}',
        },
        files={"0": ("chunk", data, "application/octet-stream")},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["uploadChunk"]
    return result


def complete(server: Any, headers: dict[str, str], upload_id: str, data: bytes) -> dict[str, Any]:
    response = requests.post(
        server.graphql_url,
        headers=headers,
        json={
            "query": COMPLETE,
            "variables": {"id": upload_id, "sum": hashlib.md5(data).hexdigest()},
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["data"]["completeUpload"]
    return result


def at_once(servers: Any, call: Any) -> list[dict[str, Any]]:
    """``call(server)`` for every server at the same moment, from threads; the results."""
    barrier = threading.Barrier(len(servers))
    outcomes: list[dict[str, Any]] = []

    def run(server: Any) -> None:
        barrier.wait()
        outcomes.append(call(server))

    threads = [threading.Thread(target=run, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == len(servers)
    return outcomes


def stored(upload_id: str) -> bytes:
    with ChunkedUpload.objects.get(pk=upload_id).file.open("rb") as file:
        content: bytes = file.read()
        return content


def test_alternate_chunks_to_two_servers_store_the_file(servers, headers):
    data = os.urandom(6 * 1024 * KIB + 12_345)
    chunk = 700 * KIB
    result = send_chunk(servers[0], headers, data[:chunk], 0, len(data))
    upload_id, turn = result["id"], 1
    while result["offset"] < len(data):
        start = result["offset"]
        result = send_chunk(
            servers[turn % 2], headers, data[start : start + chunk], start, len(data), upload_id
        )
        assert result["__typename"] == "ChunkedUpload", result
        turn += 1

    completed = complete(servers[turn % 2], headers, upload_id, data)

    assert completed["status"] == "COMPLETE", completed
    assert stored(upload_id) == data


def test_duplicate_chunks_raced_across_servers_are_stored_once(servers, headers):
    data = os.urandom(2 * 1024 * KIB)
    chunk = 256 * KIB
    upload_id = send_chunk(servers[0], headers, data[:chunk], 0, len(data))["id"]

    for start in range(chunk, len(data), chunk):
        piece = data[start : start + chunk]
        outcomes = at_once(
            servers,
            lambda server, piece=piece, start=start: send_chunk(
                server, headers, piece, start, len(data), upload_id
            ),
        )

        assert sorted(o["__typename"] for o in outcomes) == ["ChunkedUpload", "OffsetMismatch"]
        assert ChunkedUpload.objects.get(pk=upload_id).offset == start + len(piece)

    assert complete(servers[1], headers, upload_id, data)["status"] == "COMPLETE"
    assert stored(upload_id) == data


def test_completions_raced_across_servers_complete_once(servers, headers):
    data = os.urandom(300 * KIB)
    upload_id = send_chunk(servers[0], headers, data, 0, len(data))["id"]
    outcomes = at_once(servers, lambda server: complete(server, headers, upload_id, data))

    assert sorted(o["__typename"] for o in outcomes) == ["ChunkedUpload", "UploadAlreadyComplete"]
    assert stored(upload_id) == data

"""A gunicorn worker killed with SIGKILL at each stage of an upload loses nothing: the client
asks for the offset (a parallel upload's missing ranges), resends from there, and the upload
completes with the right bytes.

The server runs ``tests.support.faults``, which stops the worker dead at the stage under test;
the test then kills it, as the kernel's OOM killer or a crashed machine would, and gunicorn
starts a new worker in its place.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone

from chunked_graphql.models import ChunkedUpload
from tests.support.http_api import Http, content_range
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024
CHUNK = 512 * KIB


class Client:
    """A script's view of the server: chunks, completion, and the offset query to resume."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def chunk(self, data: bytes, start: int, total: int, upload_id: str | None) -> Any:
        response = self.http.send_chunk(
            data, content_range(start, len(data), total), upload_id, filename="crash.bin"
        )
        response.raise_for_status()
        return response.json()["data"]["uploadChunk"]

    def complete(self, upload_id: str, data: bytes) -> Any:
        response = self.http.send_complete(upload_id, hashlib.md5(data).hexdigest())
        response.raise_for_status()
        return response.json()["data"]["completeUpload"]

    def state(self, upload_id: str) -> Any:
        return self.http.send_state(upload_id).json()["data"]["chunkedUpload"]

    def send_from(self, upload_id: str, data: bytes, offset: int) -> None:
        while offset < len(data):
            result = self.chunk(data[offset : offset + CHUNK], offset, len(data), upload_id)
            assert result["__typename"] == "ChunkedUpload", result
            offset = result["offset"]

    # Parallel uploads, in chunks of CHUNK bytes.

    def create(self, data: bytes) -> str:
        result = self.http.create(len(data), parallel=True, chunk_size=CHUNK, filename="crash.bin")
        assert result["__typename"] == "ChunkedUpload", result
        return str(result["id"])

    def part(self, upload_id: str, data: bytes, start: int) -> Any:
        result = self.http.send_range(upload_id, data, start, CHUNK)
        assert result["__typename"] == "ChunkedUpload", result
        return result

    def missing(self, upload_id: str) -> Any:
        upload = self.http.get(upload_id)
        return upload["offset"], [(gap["start"], gap["end"]) for gap in upload["missingRanges"]]

    def send_missing(self, upload_id: str, data: bytes) -> None:
        """Send every chunk the upload says is missing, the last first."""
        _, gaps = self.missing(upload_id)
        for low, high in reversed(gaps):
            for start in reversed(range(low, high + 1, CHUNK)):
                self.part(upload_id, data, start)


def crash_during(action: Any, marker: Path, server: Any) -> None:
    """Run ``action`` (a request the server will stop in), kill the worker that stopped, and
    check that the client saw the connection die rather than an answer."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(action())
        except requests.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, server.log()
        assert thread.is_alive(), outcome
        time.sleep(0.02)
    time.sleep(0.05)  # the pid is written before the worker sleeps
    os.kill(int(marker.read_text()), signal.SIGKILL)
    thread.join(timeout=60)
    assert outcome and isinstance(outcome[0], requests.RequestException), outcome
    server.wait_for_workers(1)


@pytest.fixture
def crashing_server(gunicorn: Any, tmp_path: Path, user: Any, request: Any) -> Any:
    stage, skip = request.param
    marker = tmp_path / "stopped.pid"
    server = gunicorn(
        workers=1,
        app="tests.support.faults:application",
        env={
            "CHUNKED_GRAPHQL_FAULT_STAGE": stage,
            "CHUNKED_GRAPHQL_FAULT_MARKER": str(marker),
            "CHUNKED_GRAPHQL_FAULT_SKIP": str(skip),
            # A parallel upload's hashing lease held by a killed worker lapses after 2 s
            # (rather than 30), well within the time a completion waits for it.
            "CHUNKED_GRAPHQL_FAULT_LEASE": "2",
        },
    )
    return server, marker, Client(Http(server, user))


# The first chunk passes the stage once (skip 1); the second is where the worker dies.
@pytest.mark.parametrize(
    "crashing_server",
    [("receiving", 1), ("written", 0)],
    ids=["while-receiving-a-chunk", "after-the-write-before-the-commit"],
    indirect=True,
)
def test_upload_resumes_after_the_worker_is_killed_mid_chunk(crashing_server):
    server, marker, client = crashing_server
    data = os.urandom(5 * CHUNK + 1234)
    # "written" stops at the commit of a chunk that continues an upload, so the first chunk
    # (which creates the upload) passes it either way.
    upload_id = client.chunk(data[:CHUNK], 0, len(data), None)["id"]

    crash_during(
        lambda: client.chunk(data[CHUNK : 2 * CHUNK], CHUNK, len(data), upload_id), marker, server
    )

    state = client.state(upload_id)
    assert state == {"offset": CHUNK, "status": "UPLOADING"}
    client.send_from(upload_id, data, state["offset"])
    assert client.complete(upload_id, data)["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data


@pytest.mark.parametrize(
    "crashing_server", [("completing", 0)], ids=["during-completion"], indirect=True
)
def test_upload_completes_after_the_worker_is_killed_during_completion(crashing_server):
    server, marker, client = crashing_server
    data = os.urandom(3 * CHUNK + 99)
    upload_id = client.chunk(data[:CHUNK], 0, len(data), None)["id"]
    client.send_from(upload_id, data, CHUNK)

    crash_during(lambda: client.complete(upload_id, data), marker, server)

    assert client.state(upload_id) == {"offset": len(data), "status": "UPLOADING"}
    assert client.complete(upload_id, data)["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data


# Parallel uploads ------------------------------------------------------------------------------


# An ahead chunk and the first pass the stage (skip 2); the second chunk, which the prefix has
# reached and which is hashed as it arrives, is where the worker dies.
@pytest.mark.parametrize(
    "crashing_server",
    [("receiving", 2), ("range-written", 2)],
    ids=["while-receiving-a-chunk", "after-the-write-before-the-record"],
    indirect=True,
)
def test_parallel_upload_resumes_after_the_worker_is_killed_mid_chunk(crashing_server):
    server, marker, client = crashing_server
    data = os.urandom(4 * CHUNK + 1234)
    upload_id = client.create(data)
    client.part(upload_id, data, 3 * CHUNK)
    client.part(upload_id, data, 0)
    # The chunk the worker dies with holds other bytes than the one resent: what it wrote must
    # not be kept.
    other = data[:CHUNK] + os.urandom(CHUNK) + data[2 * CHUNK :]

    crash_during(lambda: client.part(upload_id, other, CHUNK), marker, server)

    assert client.missing(upload_id) == (
        CHUNK,
        [(CHUNK, 3 * CHUNK - 1), (4 * CHUNK, len(data) - 1)],
    )
    client.send_missing(upload_id, data)
    assert client.complete(upload_id, data)["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data


@pytest.mark.parametrize(
    "crashing_server", [("completing", 0)], ids=["during-completion"], indirect=True
)
def test_parallel_upload_completes_after_the_worker_is_killed_during_completion(crashing_server):
    server, marker, client = crashing_server
    data = os.urandom(3 * CHUNK + 99)
    upload_id = client.create(data)
    for start in (2 * CHUNK, 3 * CHUNK, CHUNK, 0):
        client.part(upload_id, data, start)

    crash_during(lambda: client.complete(upload_id, data), marker, server)

    assert client.state(upload_id) == {"offset": len(data), "status": "UPLOADING"}
    assert client.complete(upload_id, data)["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data


@pytest.mark.parametrize(
    "crashing_server",
    [("hashing", 0)],
    ids=["while-hashing-chunks-that-arrived-ahead"],
    indirect=True,
)
def test_parallel_upload_completes_after_the_worker_holding_the_hashing_lease_is_killed(
    crashing_server,
):
    server, marker, client = crashing_server
    data = os.urandom(4 * CHUNK + 1234)
    upload_id = client.create(data)
    client.part(upload_id, data, CHUNK)
    client.part(upload_id, data, 2 * CHUNK)

    # The first chunk is stored; the worker then takes the lease to hash the two after it,
    # and dies holding it.
    crash_during(lambda: client.part(upload_id, data, 0), marker, server)

    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert (upload.offset, upload.hashed_offset) == (3 * CHUNK, CHUNK)
    assert upload.hashing_until is not None and upload.hashing_until > timezone.now()
    assert client.missing(upload_id) == (3 * CHUNK, [(3 * CHUNK, len(data) - 1)])
    client.send_missing(upload_id, data)
    # Completion waits for the dead worker's lease to lapse, then hashes what it left.
    assert client.complete(upload_id, data)["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert (upload.hashed_offset, upload.hashing_until) == (len(data), None)

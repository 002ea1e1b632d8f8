"""Hostile input over real HTTP to gunicorn: malformed multipart bodies, a body cut off by a
dropped connection, a chunk over MAX_CHUNK_SIZE and an upload that expires between chunks. The
answer is a typed error or HTTP 400 with a JSON body, and a refused request changes nothing: no
row, no stored byte, the offset unchanged.

The property-based tests of the same promise, through Django's test client, are
tests/api/test_hostile_input.py.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import FILE_MAP, UPLOAD_CHUNK, md5
from tests.support.http_api import Http
from tests.support.uploads import (
    DATA,
    age,
    assert_typed_error,
    assert_unchanged,
    files_under,
    stored_bytes,
    stored_offset,
    stored_size,
)

pytestmark = pytest.mark.django_db


KIB = 1024
MIB = 1024 * KIB
MAX_TOTAL = 2**63 - 1
# Over gunicorn ---------------------------------------------------------------------------------


# Malformed multipart bodies ---------------------------------------------------------------------

BOUNDARY = "hostile-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
CLOSING = f"--{BOUNDARY}--\r\n".encode()
HUGE = 3 * MIB  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
MANY = 300  # over Django's DATA_UPLOAD_MAX_NUMBER_FILES (100)


def part(name: str, value: bytes | str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    extra = ""
    if filename is not None:
        disposition += f'; filename="{filename}"'
        extra = "Content-Type: application/octet-stream\r\n"
    content = value.encode() if isinstance(value, str) else value
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n".encode() + (
        content + b"\r\n"
    )


def operations(variables: dict[str, Any], **changes: Any) -> str:
    return json.dumps({"query": UPLOAD_CHUNK, "variables": {**variables, "file": None, **changes}})


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + CLOSING


def well_formed(variables: dict[str, Any], chunk: bytes) -> bytes:
    return body(
        part("operations", operations(variables)), part("map", FILE_MAP), part("0", chunk, "c")
    )


def cut_inside_the_chunk(variables: dict[str, Any], chunk: bytes) -> bytes:
    complete = well_formed(variables, chunk)
    return complete[: complete.index(chunk) + len(chunk) // 2]


def extra_files(count: int) -> list[bytes]:
    return [part(f"extra{i}", b"x", f"extra{i}.bin") for i in range(count)]


# Each builds (body, Content-Type) for an uploadChunk request carrying ``chunk`` with
# ``variables``; none of them is a request the endpoint may act on.
Malformed = Callable[[dict[str, Any], bytes], tuple[bytes, str]]
MALFORMED: dict[str, Malformed] = {
    "cut-inside-operations": lambda v, c: (well_formed(v, c)[:60], MULTIPART),
    "cut-inside-the-chunk": lambda v, c: (cut_inside_the_chunk(v, c), MULTIPART),
    "no-closing-boundary": lambda v, c: (well_formed(v, c)[: -len(CLOSING)], MULTIPART),
    "wrong-boundary": lambda v, c: (
        well_formed(v, c),
        "multipart/form-data; boundary=another-boundary",
    ),
    "no-boundary": lambda v, c: (well_formed(v, c), "multipart/form-data"),
    "not-multipart-at-all": lambda v, c: (b"\x00\xff" * 100 + c, MULTIPART),
    "part-without-a-name": lambda v, c: (
        body(
            part("operations", operations(v)),
            part("map", FILE_MAP),
            f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\n".encode() + c + b"\r\n",
        ),
        MULTIPART,
    ),
    "operations-not-json": lambda v, c: (
        body(part("operations", "{nope"), part("map", FILE_MAP), part("0", c, "c")),
        MULTIPART,
    ),
    "operations-not-an-object": lambda v, c: (
        body(part("operations", "[1, 2]"), part("map", FILE_MAP), part("0", c, "c")),
        MULTIPART,
    ),
    "map-not-json": lambda v, c: (
        body(part("operations", operations(v)), part("map", "{0:"), part("0", c, "c")),
        MULTIPART,
    ),
    "map-naming-a-part-not-sent": lambda v, c: (
        body(
            part("operations", operations(v)),
            part("map", '{"1": ["variables.file"]}'),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
    "map-path-leading-nowhere": lambda v, c: (
        body(
            part("operations", operations(v)),
            part("map", '{"0": ["variables.nothing.here"]}'),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
    "map-path-to-a-value-that-is-not-null": lambda v, c: (
        body(
            part("operations", operations(v)),
            part("map", '{"0": ["variables.contentRange"]}'),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
    "file-for-the-content-range-argument": lambda v, c: (
        body(
            part("operations", operations(v, contentRange=None)),
            part("map", '{"0": ["variables.contentRange"]}'),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
    "file-for-the-upload-id-argument": lambda v, c: (
        body(
            part("operations", operations(v, uploadId=None)),
            part("map", '{"0": ["variables.uploadId"]}'),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
    "hundreds-of-files-after-the-chunk": lambda v, c: (
        body(
            part("operations", operations(v)),
            part("map", FILE_MAP),
            part("0", c, "c"),
            *extra_files(MANY),
        ),
        MULTIPART,
    ),
    "hundreds-of-files-before-the-map": lambda v, c: (
        body(
            part("operations", operations(v)),
            *extra_files(MANY),
            part("map", FILE_MAP),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
    "huge-field-before-the-chunk": lambda v, c: (
        body(
            part("operations", operations(v)),
            part("map", FILE_MAP),
            part("padding", "x" * HUGE),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
    "huge-field-after-the-chunk": lambda v, c: (
        body(
            part("operations", operations(v)),
            part("map", FILE_MAP),
            part("0", c, "c"),
            part("padding", "x" * HUGE),
        ),
        MULTIPART,
    ),
    "huge-operations": lambda v, c: (
        body(
            part("operations", operations(v, filename="x" * HUGE)),
            part("map", FILE_MAP),
            part("0", c, "c"),
        ),
        MULTIPART,
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_multipart_body_over_gunicorn_is_a_json_400_and_stores_nothing(
    gunicorn: Any, user: Any, media_root: Path, case: str
) -> None:
    server = gunicorn(workers=1)
    web = Http(server, user)
    started = web.chunk(DATA[:10], "bytes 0-9/20")
    build = MALFORMED[case]
    attempts = {
        "new upload": build({"contentRange": "bytes 0-9/20", "filename": "n.bin"}, DATA[:10]),
        "next chunk": build(
            {"uploadId": started["id"], "contentRange": "bytes 10-19/20"}, DATA[10:]
        ),
    }

    for attempt, (payload, content_type) in attempts.items():
        response = web.raw(data=payload, headers={"Content-Type": content_type})

        assert response.status_code == 400, (attempt, response.text)
        assert response.headers["Content-Type"] == "application/json", attempt
        assert response.json()["errors"], attempt
    assert_unchanged(started["id"], 10, media_root)
    assert "Traceback" not in server.log()


def send_half_and_go_away(server: Any, web: Http, payload: bytes, sent: int) -> bytes:
    """POST the first ``sent`` bytes of ``payload`` with the whole payload's Content-Length,
    close the sending side as a client that goes away would, and return the server's answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(
            (
                "POST /graphql/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: {web.headers['Authorization']}\r\n"
                f"Content-Type: {MULTIPART}\r\nContent-Length: {len(payload)}\r\n\r\n"
            ).encode()
            + payload[:sent]
        )
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while received := conn.recv(65536):
            answer += received
    return answer


@pytest.mark.django_db(transaction=True)
def test_chunk_cut_off_by_a_dropped_connection_over_gunicorn_stores_nothing(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    server = gunicorn(workers=1)
    web = Http(server, user)
    total = 10 + MIB
    chunk = bytes(MIB)
    started = web.chunk(DATA[:10], f"bytes 0-9/{total}")
    payload = well_formed(
        {"uploadId": started["id"], "contentRange": f"bytes 10-{total - 1}/{total}"}, chunk
    )
    answer = send_half_and_go_away(server, web, payload, payload.index(chunk) + len(chunk) // 2)

    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"application/json" in answer.split(b"\r\n\r\n")[0]
    assert stored_offset(started["id"]) == 10
    assert stored_size(started["id"]) == 10
    assert files_under(media_root) == [ChunkedUpload.objects.get(pk=started["id"]).file.name]
    assert "Traceback" not in server.log()


@pytest.mark.django_db(transaction=True)
def test_parallel_chunk_cut_off_by_a_dropped_connection_over_gunicorn_stores_nothing(
    gunicorn: Any, user: Any
) -> None:
    server = gunicorn(workers=1)
    web = Http(server, user)
    data = os.urandom(2 * MIB)
    created = web.create(len(data), parallel=True, chunk_size=MIB)
    upload_id = created["id"]
    assert web.send_range(upload_id, data, MIB, MIB)["__typename"] == "ChunkedUpload"
    chunk = data[:MIB]  # the first chunk, which is hashed as it arrives
    payload = well_formed(
        {"uploadId": upload_id, "contentRange": f"bytes 0-{MIB - 1}/{len(data)}"}, chunk
    )
    answer = send_half_and_go_away(server, web, payload, payload.index(chunk) + len(chunk) // 2)

    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert (upload.offset, upload.stored_ranges, upload.hashed_offset) == (
        0,
        [[MIB, 2 * MIB - 1]],
        0,
    )
    assert "Traceback" not in server.log()
    assert web.send_range(upload_id, data, 0, MIB)["offset"] == len(data)
    assert web.complete(upload_id, md5(data))["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data


# MAX_CHUNK_SIZE ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_chunk_over_max_chunk_size_over_gunicorn_is_refused_before_a_byte_is_written(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    limit = 64 * KIB
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_CHUNK_SIZE": limit})
    web = Http(server, user)
    total = 10 + MIB
    started = web.chunk(DATA[:10], f"bytes 0-9/{total}")
    chunk = bytes(MIB)
    payload = well_formed(
        {"uploadId": started["id"], "contentRange": f"bytes 10-{total - 1}/{total}"}, chunk
    )
    # Everything up to half of the chunk, then a pause: a server that wrote the chunk as it
    # arrived would have stored those 512 KiB by now.
    first = payload.index(chunk) + len(chunk) // 2

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest("POST", "/graphql/")
        for name, value in {
            **web.headers, "Content-Type": MULTIPART, "Content-Length": str(len(payload))
        }.items():  # fmt: skip
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(payload[:first])
        time.sleep(1.0)
        size_while_sending = stored_size(started["id"])
        conn.send(payload[first:])
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()

    assert size_while_sending == 10
    result = answer["data"]["uploadChunk"]
    assert_typed_error(result, "ChunkTooLarge")
    assert stored_offset(started["id"]) == 10
    assert stored_size(started["id"]) == 10


@pytest.mark.django_db(transaction=True)
def test_first_chunk_over_max_chunk_size_over_gunicorn_creates_nothing(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_CHUNK_SIZE": 64 * KIB})
    web = Http(server, user)

    result = web.chunk(bytes(MIB), f"bytes 0-{MIB - 1}/{MIB}")

    assert_typed_error(result, "ChunkTooLarge")
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


# Expiry between chunks ---------------------------------------------------------------------------

EXPIRES_SOON = {"CHUNKED_GRAPHQL_EXPIRATION_DELTA": {"__timedelta__": 3}}


def wait_for_size_above(upload_id: str, size: int, timeout: float = 1.0) -> bool:
    """Whether the upload's stored file grows beyond ``size`` bytes within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stored_size(upload_id) > size:
            return True
        time.sleep(0.01)
    return False


def sleep_until_past(expires: str) -> None:
    remaining = datetime.fromisoformat(expires).timestamp() - time.time()
    time.sleep(max(remaining, 0) + 0.3)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_upload_that_expires_between_chunks_over_gunicorn_refuses_the_next_chunk(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    server = gunicorn(workers=1, settings=EXPIRES_SOON)
    web = Http(server, user)
    started = web.chunk(DATA[:10], "bytes 0-9/20")
    sleep_until_past(started["expires"])

    chunk = web.chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    completion = web.complete(started["id"], md5(DATA))

    assert_typed_error(chunk, "UploadExpired")
    assert_typed_error(completion, "UploadExpired")
    assert_unchanged(started["id"], 10, media_root)
    assert ChunkedUpload.objects.get(pk=started["id"]).status == ChunkedUpload.UPLOADING


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_chunk_still_arriving_when_its_upload_expires_over_gunicorn_is_not_kept(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    server = gunicorn(workers=1, settings=EXPIRES_SOON)
    web = Http(server, user)
    # The server reads the body 1 MiB at a time: half the chunk is then a couple of blocks,
    # written while the rest is still to come.
    total = 10 + 4 * MIB
    started = web.chunk(DATA[:10], f"bytes 0-9/{total}")
    chunk = bytes(4 * MIB)
    payload = well_formed(
        {"uploadId": started["id"], "contentRange": f"bytes 10-{total - 1}/{total}"}, chunk
    )
    first = payload.index(chunk) + len(chunk) // 2

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest("POST", "/graphql/")
        for name, value in {
            **web.headers, "Content-Type": MULTIPART, "Content-Length": str(len(payload))
        }.items():  # fmt: skip
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(payload[:first])  # begun before the upload expires...
        written_before_expiry = wait_for_size_above(started["id"], 10)
        sleep_until_past(started["expires"])
        conn.send(payload[first:])  # ...and finished after
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()

    assert written_before_expiry  # the chunk really was on its way to the disk
    assert_typed_error(answer["data"]["uploadChunk"], "UploadExpired")
    assert stored_offset(started["id"]) == 10
    assert stored_size(started["id"]) == 10


# A parallel upload expiring: the row is aged past its expiry by the test, so nobody waits.
PARALLEL_CHUNK = 64 * KIB  # the smallest a parallel upload may use on the file system


def parallel_upload(web: Http, total: int, chunk: int = PARALLEL_CHUNK) -> str:
    created = web.create(total, parallel=True, chunk_size=chunk)
    assert created["__typename"] == "ChunkedUpload", created
    return str(created["id"])


@pytest.mark.django_db(transaction=True)
def test_parallel_chunk_after_its_upload_expired_over_gunicorn_is_refused(
    gunicorn: Any, user: Any
) -> None:
    web = Http(gunicorn(workers=1), user)
    data = os.urandom(2 * PARALLEL_CHUNK)
    upload_id = parallel_upload(web, len(data))
    assert web.send_range(upload_id, data, PARALLEL_CHUNK, PARALLEL_CHUNK)["offset"] == 0
    age(upload_id)

    first = web.send_range(upload_id, data, 0, PARALLEL_CHUNK)
    again = web.send_range(upload_id, data, PARALLEL_CHUNK, PARALLEL_CHUNK)  # stored already
    completion = web.complete(upload_id, md5(data))

    for answer in (first, again, completion):
        assert_typed_error(answer, "UploadExpired")
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert (upload.offset, upload.stored_ranges) == (0, [[PARALLEL_CHUNK, len(data) - 1]])
    assert (upload.hashed_offset, upload.status) == (0, ChunkedUpload.UPLOADING)


@pytest.mark.django_db(transaction=True)
def test_parallel_chunk_still_arriving_when_its_upload_expires_over_gunicorn_is_not_kept(
    gunicorn: Any, user: Any
) -> None:
    server = gunicorn(workers=1)
    web = Http(server, user)
    # Several of the server's 1 MiB reads: half of the chunk is written before the rest comes.
    size = 4 * MIB
    total = 2 * size
    upload_id = parallel_upload(web, total, size)
    chunk = bytes(size)
    payload = well_formed(
        {"uploadId": upload_id, "contentRange": f"bytes 0-{size - 1}/{total}"}, chunk
    )
    first = payload.index(chunk) + len(chunk) // 2

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest("POST", "/graphql/")
        for name, value in {
            **web.headers, "Content-Type": MULTIPART, "Content-Length": str(len(payload))
        }.items():  # fmt: skip
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(payload[:first])  # begun before the upload expires...
        written_before_expiry = wait_for_size_above(upload_id, 0)
        age(upload_id)
        conn.send(payload[first:])  # ...and finished after
        answer = json.loads(conn.getresponse().read())
    finally:
        conn.close()

    assert written_before_expiry  # the chunk really was on its way to the disk
    assert_typed_error(answer["data"]["uploadChunk"], "UploadExpired")
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert (upload.offset, upload.stored_ranges, upload.hashed_offset) == (0, [], 0)
    assert web.get(upload_id)["missingRanges"] == [{"start": 0, "end": total - 1}]

"""The client side: one upload through each system, as a real client sends it.

All the clients behave the same way, so that only the server differs: ``requests`` sessions,
chunks read from the source file once, in order, md5 computed as they are read (a client has to
send the checksum at the end, and hashing while sending is what a client does), and each chunk
sent as a multipart POST/PUT with one file part. The serial clients send a chunk, wait for its
answer, then send the next.

- ``ours``: the example site's GraphQL endpoint, ``uploadChunk`` mutations carrying the file part
  (GraphQL multipart request spec), then ``completeUpload`` with the md5.
- ``ours_parallel``: ``createUpload`` (parallel, with the chunk size), then ``parallel`` sender
  threads, each with its own session, taking the chunks in ascending order as the reader hands
  them out (each sender's chunks ascend, so the server hashes the gap-free prefix as it grows),
  then ``completeUpload`` with the md5 once every chunk was answered.
- Both of ours can send a ``chunkChecksum`` with every chunk (``chunk_checksum="sha256"``),
  computed by the sender.
- ``ours_library``: the project's own client, ``chunked_graphql.client.ChunkedUploader`` with
  ``parallel`` senders (1: serial), as an application would use it: it asks for
  ``uploadLimits`` first, sends a sha256 ``chunkChecksum`` with every chunk, and hashes the
  file in order as its senders read it.
- ``drf``: drf-chunked-upload's REST API as its README describes it: PUT each chunk with a
  ``Content-Range`` header (the first to the list URL, the others to the URL it returns), then
  POST the md5 to that URL.
- ``floor``: the same chunks as multipart POSTs to an app that only drains the body.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import requests

from bench.servers import REQUEST_TIMEOUT

UPLOAD_CHUNK = (
    "mutation($id: ID, $file: Upload, $range: String, $name: String) {"
    " uploadChunk(uploadId: $id, file: $file, contentRange: $range, filename: $name) {"
    " __typename ... on ChunkedUpload { id offset } ... on UploadError { code message } } }"
)
# The same with the chunk's own checksum (a server without chunkChecksum refuses the query).
UPLOAD_CHUNK_CHECKED = (
    "mutation($id: ID, $file: Upload, $range: String, $name: String, $chunkSum: String) {"
    " uploadChunk(uploadId: $id, file: $file, contentRange: $range, filename: $name,"
    " chunkChecksum: $chunkSum) {"
    " __typename ... on ChunkedUpload { id offset } ... on UploadError { code message } } }"
)
CREATE = (
    "mutation($name: String!, $size: BigInt!, $chunkSize: BigInt) {"
    " createUpload(filename: $name, totalSize: $size, parallel: true, chunkSize: $chunkSize) {"
    " __typename ... on ChunkedUpload { id chunkSize } ... on UploadError { code message } } }"
)
COMPLETE = (
    "mutation($id: ID, $sum: String) { completeUpload(uploadId: $id, checksum: $sum) {"
    " __typename ... on ChunkedUpload { status } ... on UploadError { code message } } }"
)


class UploadFailed(RuntimeError):
    """The server answered an upload request with an error."""


@dataclass
class Upload:
    """What one upload took, and what the client knows about the result."""

    sending_s: float
    completing_s: float | None  # None for the floor, which has no completion
    md5: str | None  # None: the client did not say (the benchmark hashes the source itself)
    upload_id: str | None  # None for the floor, which stores nothing


def chunks(source: BinaryIO, size: int, chunk_size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of each chunk of the first ``size`` bytes of ``source``."""
    offset = 0
    while offset < size:
        chunk = source.read(min(chunk_size, size - offset))
        if not chunk:
            raise RuntimeError(f"source ended at {offset} of {size} bytes")
        yield offset, chunk
        offset += len(chunk)


def content_range(offset: int, chunk: bytes, size: int) -> str:
    return f"bytes {offset}-{offset + len(chunk) - 1}/{size}"


def _json(response: requests.Response) -> Any:
    if response.status_code != 200:
        raise UploadFailed(f"HTTP {response.status_code}: {response.text[:2000]}")
    return response.json()


def _graphql(
    session: requests.Session, url: str, query: str, variables: dict[str, Any], chunk: bytes | None
) -> dict[str, Any]:
    if chunk is None:
        response = session.post(
            url, json={"query": query, "variables": variables}, timeout=REQUEST_TIMEOUT
        )
    else:
        operations = json.dumps({"query": query, "variables": {**variables, "file": None}})
        response = session.post(
            url,
            data={"operations": operations, "map": '{"0": ["variables.file"]}'},
            files={"0": ("chunk", chunk, "application/octet-stream")},
            timeout=REQUEST_TIMEOUT,
        )
    body = _json(response)
    if body.get("errors"):
        raise UploadFailed(str(body["errors"]))
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


CHUNK_CHECKSUMS = ("crc32c", "sha256", "md5")


def chunk_digest(algorithm: str | None, chunk: bytes) -> str | None:
    """``"<algorithm>:<hex>"`` of one chunk, as ``chunkChecksum`` takes it (crc32c: the
    Castagnoli CRC as 8 big-endian hex digits)."""
    if algorithm is None:
        return None
    if algorithm == "crc32c":
        import google_crc32c  # a dependency of the app, so installed wherever it is

        return f"crc32c:{google_crc32c.value(chunk):08x}"
    return f"{algorithm}:{hashlib.new(algorithm, chunk).hexdigest()}"


def send_ours_chunk(
    session: requests.Session,
    url: str,
    upload_id: str | None,
    offset: int,
    chunk: bytes,
    size: int,
    name: str,
    chunk_checksum: str | None,
) -> dict[str, Any]:
    """One ``uploadChunk``; returns the upload, or raises ``UploadFailed``."""
    variables: dict[str, Any] = {
        "id": upload_id,
        "range": content_range(offset, chunk, size),
        "name": name,
    }
    query = UPLOAD_CHUNK
    if chunk_checksum is not None:
        variables["chunkSum"] = chunk_digest(chunk_checksum, chunk)
        query = UPLOAD_CHUNK_CHECKED
    result = _graphql(session, url, query, variables, chunk)
    if result["__typename"] != "ChunkedUpload":
        raise UploadFailed(f"chunk at {offset}: {result}")
    return result


def upload_ours(
    base_url: str, path: Path, size: int, chunk_size: int, chunk_checksum: str | None = None
) -> Upload:
    url = f"{base_url}/graphql/"
    digest = hashlib.md5()
    upload_id = None
    with requests.Session() as session, path.open("rb") as source:
        started = time.perf_counter()
        for offset, chunk in chunks(source, size, chunk_size):
            digest.update(chunk)
            result = send_ours_chunk(
                session, url, upload_id, offset, chunk, size, path.name, chunk_checksum
            )
            upload_id = result["id"]
        sent = time.perf_counter()
        variables = {"id": upload_id, "sum": digest.hexdigest()}
        result = _graphql(session, url, COMPLETE, variables, None)
        completed = time.perf_counter()
    if result.get("status") != "COMPLETE":
        raise UploadFailed(str(result))
    return Upload(sent - started, completed - sent, digest.hexdigest(), upload_id)


def upload_ours_parallel(
    base_url: str,
    path: Path,
    size: int,
    chunk_size: int,
    parallel: int = 4,
    chunk_checksum: str | None = None,
) -> Upload:
    """``createUpload``, then ``parallel`` senders taking the chunks in ascending order."""
    url = f"{base_url}/graphql/"
    digest = hashlib.md5()
    # The reader stays at most one chunk per sender ahead of them: memory is bounded, and the
    # order in which chunks are handed out is the file's.
    handed: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=parallel)
    failed = threading.Event()
    errors: list[BaseException] = []

    def sender(upload_id: str) -> None:
        with requests.Session() as session:
            while (item := handed.get()) is not None:
                if failed.is_set():
                    continue  # drain, so the reader is never left blocked
                offset, chunk = item
                try:
                    send_ours_chunk(
                        session, url, upload_id, offset, chunk, size, path.name, chunk_checksum
                    )
                except BaseException as error:
                    errors.append(error)
                    failed.set()

    with requests.Session() as session, path.open("rb") as source:
        started = time.perf_counter()
        created = _graphql(
            session, url, CREATE, {"name": path.name, "size": size, "chunkSize": chunk_size}, None
        )
        if created["__typename"] != "ChunkedUpload":
            raise UploadFailed(f"createUpload: {created}")
        upload_id = created["id"]
        senders = [
            threading.Thread(target=sender, args=(upload_id,), name=f"sender-{i}")
            for i in range(parallel)
        ]
        for thread in senders:
            thread.start()
        try:
            for offset, chunk in chunks(source, size, chunk_size):
                if failed.is_set():
                    break
                digest.update(chunk)
                handed.put((offset, chunk))
        finally:
            for _ in senders:
                handed.put(None)
            for thread in senders:
                thread.join()
        if errors:
            error = errors[0]
            if isinstance(error, UploadFailed | requests.RequestException):
                raise UploadFailed(str(error)) from error
            raise error
        sent = time.perf_counter()
        variables = {"id": upload_id, "sum": digest.hexdigest()}
        result = _graphql(session, url, COMPLETE, variables, None)
        completed = time.perf_counter()
    if result.get("status") != "COMPLETE":
        raise UploadFailed(str(result))
    return Upload(sent - started, completed - sent, digest.hexdigest(), upload_id)


def upload_ours_library(
    base_url: str, path: Path, size: int, chunk_size: int, parallel: int = 4
) -> Upload:
    """One upload with ``chunked_graphql.client`` (``parallel=1``: serial), its
    ``completeUpload`` timed apart."""
    from chunked_graphql.client import ChunkedUploader, NoAuth, ResumeStore, UploadInfo

    class Timed(ChunkedUploader):
        completing_s = 0.0

        def complete(self, upload_id: str, checksum: str) -> UploadInfo:
            started = time.perf_counter()
            try:
                return super().complete(upload_id, checksum)
            finally:
                self.completing_s = time.perf_counter() - started

    uploader = Timed(
        f"{base_url}/graphql/",
        NoAuth(),
        chunk_size=chunk_size,
        parallel=parallel,
        resume=False,
        store=ResumeStore(path.with_name("resume-store.json")),
        timeout=REQUEST_TIMEOUT,
    )
    started = time.perf_counter()
    try:
        result = uploader.upload(path)
    except Exception as error:  # the client's own errors, each with a one-line message
        raise UploadFailed(f"{type(error).__name__}: {error}") from error
    finally:
        uploader.transport.close()
    total = time.perf_counter() - started
    if not result.complete:
        raise UploadFailed(f"the client returned an upload that is not complete: {result}")
    return Upload(total - uploader.completing_s, uploader.completing_s, None, result.id)


def upload_drf(base_url: str, path: Path, size: int, chunk_size: int) -> Upload:
    url = f"{base_url}/uploads/"
    digest = hashlib.md5()
    upload_id = None
    with requests.Session() as session, path.open("rb") as source:
        started = time.perf_counter()
        for offset, chunk in chunks(source, size, chunk_size):
            digest.update(chunk)
            response = session.put(
                url,
                headers={"Content-Range": content_range(offset, chunk, size)},
                data={"filename": path.name},
                files={"file": ("chunk", chunk, "application/octet-stream")},
                timeout=REQUEST_TIMEOUT,
            )
            body = _json(response)
            # Every later chunk goes to the upload's own URL, as its README says.
            url, upload_id = body["url"], body["id"]
        sent = time.perf_counter()
        response = session.post(url, data={"md5": digest.hexdigest()}, timeout=REQUEST_TIMEOUT)
        completed = time.perf_counter()
        body = _json(response)
    if body.get("status") != 2:  # its AbstractChunkedUpload.COMPLETE
        raise UploadFailed(str(body))
    return Upload(sent - started, completed - sent, digest.hexdigest(), upload_id)


def upload_floor(base_url: str, path: Path, size: int, chunk_size: int) -> Upload:
    url = f"{base_url}/"
    digest = hashlib.md5()
    with requests.Session() as session, path.open("rb") as source:
        started = time.perf_counter()
        for _offset, chunk in chunks(source, size, chunk_size):
            digest.update(chunk)
            response = session.post(
                url,
                files={"0": ("chunk", chunk, "application/octet-stream")},
                timeout=REQUEST_TIMEOUT,
            )
            # The multipart body is a little larger than the chunk; all of it must have arrived.
            if _json(response)["received"] < len(chunk):
                raise UploadFailed(f"the floor app received less than the chunk: {response.text}")
        sent = time.perf_counter()
    return Upload(sent - started, None, digest.hexdigest(), None)


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as stream:
        while block := stream.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()

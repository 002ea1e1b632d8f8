"""The client side: one upload through each system, as a real client sends it.

All three clients behave the same way, so that only the server differs: a single serial
``requests`` session, chunks read from the source file one at a time, md5 computed as the chunks
go out (a client has to send the checksum at the end, and hashing while sending is what a client
does), and each chunk sent as a multipart POST/PUT with one file part.

- ``ours``: the example site's GraphQL endpoint, ``uploadChunk`` mutations carrying the file part
  (GraphQL multipart request spec), then ``completeUpload`` with the md5.
- ``drf``: drf-chunked-upload's REST API as its README describes it: PUT each chunk with a
  ``Content-Range`` header (the first to the list URL, the others to the URL it returns), then
  POST the md5 to that URL.
- ``floor``: the same chunks as multipart POSTs to an app that only drains the body.
"""

from __future__ import annotations

import hashlib
import json
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
    md5: str
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


def upload_ours(base_url: str, path: Path, size: int, chunk_size: int) -> Upload:
    url = f"{base_url}/graphql/"
    digest = hashlib.md5()
    upload_id = None
    with requests.Session() as session, path.open("rb") as source:
        started = time.perf_counter()
        for offset, chunk in chunks(source, size, chunk_size):
            digest.update(chunk)
            variables = {
                "id": upload_id,
                "range": content_range(offset, chunk, size),
                "name": path.name,
            }
            result = _graphql(session, url, UPLOAD_CHUNK, variables, chunk)
            if result["__typename"] != "ChunkedUpload":
                raise UploadFailed(str(result))
            upload_id = result["id"]
        sent = time.perf_counter()
        variables = {"id": upload_id, "sum": digest.hexdigest()}
        result = _graphql(session, url, COMPLETE, variables, None)
        completed = time.perf_counter()
    if result.get("status") != "COMPLETE":
        raise UploadFailed(str(result))
    return Upload(sent - started, completed - sent, digest.hexdigest(), upload_id)


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

"""The client process of the per-chunk profile (``bench/profile_chunk.py``): the requests the
benchmark's client sends for each chunk, one connection each, serially.

    python -P bench/profile_client.py PORT REQUESTS CHUNK_SIZE CHUNKS_PER_UPLOAD

Started by path by the measuring process (``bench/profile_worker.py``); it needs nothing but the
standard library.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from typing import Any

UPLOAD_CHUNK = (
    "mutation($id: ID, $file: Upload, $range: String, $name: String) {"
    " uploadChunk(uploadId: $id, file: $file, contentRange: $range, filename: $name) {"
    " __typename ... on ChunkedUpload { id offset } ... on UploadError { code message } } }"
)


def multipart_request(
    upload_id: str | None, offset: int, chunk: bytes, total: int, cookies: dict[str, str]
) -> list[bytes]:
    """The raw HTTP request, in pieces, that the benchmark's client (a ``requests`` session,
    which sends back the cookies it was given) sends for one chunk."""
    boundary = uuid.uuid4().hex
    variables = {
        "id": upload_id,
        "range": f"bytes {offset}-{offset + len(chunk) - 1}/{total}",
        "name": "profile.bin",
        "file": None,
    }
    operations = json.dumps({"query": UPLOAD_CHUNK, "variables": variables})
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f"{operations}\r\n".encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.file"]}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="chunk"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode(),
        chunk,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    length = sum(len(part) for part in parts)
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    head = (
        "POST /graphql/ HTTP/1.1\r\n"
        "Host: 127.0.0.1:8000\r\n"
        "User-Agent: python-requests/2.34.2\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        "Accept: */*\r\n"
        "Connection: keep-alive\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + f"Content-Length: {length}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
    ).encode()
    # The chunk itself is sent as it is: the worker's process allocates nothing for it, as a
    # worker serving a client elsewhere would not.
    return [head + b"".join(parts[:3]), chunk, parts[4]]


def answer(received: bytes, cookies: dict[str, str]) -> dict[str, Any]:
    """The ``uploadChunk`` result of an HTTP answer; the cookies it sets go into ``cookies``."""
    head, _, body = received.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the chunk was refused: {received[:2000]!r}")
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie":
            cookie, _, _ = value.strip().partition(";")
            key, _, cookie_value = cookie.partition("=")
            cookies[key] = cookie_value
    data = json.loads(body)
    if data.get("errors"):
        raise RuntimeError(f"the chunk failed: {data['errors']}")
    result: dict[str, Any] = data["data"]["uploadChunk"]
    if result["__typename"] != "ChunkedUpload":
        raise RuntimeError(f"the chunk was refused: {result}")
    return result


def client(port: int, requests: int, chunk_size: int, chunks_per_upload: int) -> None:
    """The client, in a process of its own: ``requests`` chunk requests, one connection each,
    serially, each sent as soon as the previous answer has arrived."""
    chunk = os.urandom(chunk_size)
    total = chunk_size * chunks_per_upload
    upload_id: str | None = None
    offset = 0
    cookies: dict[str, str] = {}
    for _ in range(requests):
        if offset >= total:
            upload_id, offset = None, 0
        with socket.create_connection(("127.0.0.1", port)) as sock:
            for piece in multipart_request(upload_id, offset, chunk, total, cookies):
                sock.sendall(piece)
            received = []
            while data := sock.recv(65536):
                received.append(data)
        result = answer(b"".join(received), cookies)
        upload_id, offset = result["id"], result["offset"]


if __name__ == "__main__":
    port, requests, chunk_size, chunks_per_upload = map(int, sys.argv[1:])
    client(port, requests, chunk_size, chunks_per_upload)

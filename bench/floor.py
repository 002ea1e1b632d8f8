"""The floor: a bare WSGI app that reads the request body in 1 MiB blocks and throws it away.

It runs under the same gunicorn set-up as the two upload apps and receives the same multipart
chunks, so its throughput is what the client, loopback and gunicorn allow before any framework,
parsing or storage: no upload app can beat it. It answers with the number of bytes it read, so
the client can check that the whole body arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BLOCK = 1024 * 1024


def application(
    environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    received = 0
    while remaining > 0:
        block = stream.read(min(BLOCK, remaining))
        if not block:
            break
        received += len(block)
        remaining -= len(block)
    body = b'{"received": %d}' % received
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]

"""A real HTTP proxy in front of a test server that fails chosen requests, the way networks do.

Each POST is numbered from 0; ``failures`` maps a number to what happens to that request:

- ``"drop"``: the connection is closed before the request reaches the server (nothing stored);
- ``"lose-answer"``: the request reaches the server, which acts on it, but the answer is lost;
- ``"503"``: the proxy answers 503 Service Unavailable without forwarding;
- ``"hang"``: no answer until the proxy is closed (a server that stopped responding);
- ``"corrupt"``: the first byte of the request's file part is changed on the way (the damage a
  per-chunk checksum is there to catch).

Every other request is forwarded as is. Used to show that the client retries, and that a retried
chunk that had already arrived does not corrupt the upload.

The proxy also counts what it forwards: ``content_ranges`` holds the ``contentRange`` of each
chunk request that reached the server, as ``(start, end)``, and ``most_in_flight`` the most
requests it was handling at once.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class FlakyProxy:
    def __init__(self, upstream: str, failures: dict[int, str]) -> None:
        self.upstream = upstream.rstrip("/")
        self.failures = dict(failures)
        self.posts = 0
        self.lock = threading.Lock()
        self.hanging = threading.Event()
        self.content_ranges: list[tuple[int, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    number = proxy.posts
                    proxy.posts += 1
                    proxy.in_flight += 1
                    proxy.most_in_flight = max(proxy.most_in_flight, proxy.in_flight)
                try:
                    self._post(number, body)
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1

            def _post(self, number: int, body: bytes) -> None:
                action = proxy.failures.get(number)
                if action == "drop":
                    self.close_connection = True
                    return
                if action == "hang":
                    proxy.hanging.set()
                    proxy.released.wait(60)
                    self.close_connection = True
                    return
                if action == "503":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if action == "corrupt":
                    body = _corrupted(body)
                chunk = _content_range(body)
                if chunk is not None:
                    with proxy.lock:
                        proxy.content_ranges.append(chunk)
                self._forward(body, lose_answer=action == "lose-answer")

            def _forward(self, body: bytes | None, lose_answer: bool = False) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = requests.request(
                    self.command,
                    proxy.upstream + self.path,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=60,
                )
                if lose_answer:
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_BY_HOP | {"content-encoding"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        return Handler


def _operations(body: bytes) -> dict[str, Any] | None:
    """The ``operations`` JSON of a multipart GraphQL request, or a JSON body's."""
    if body.startswith(b"{"):
        text = body
    else:
        match = re.search(rb'name="operations"[^\r]*\r\n(?:[^\r]+\r\n)*\r\n(.*?)\r\n--', body, re.S)
        if match is None:
            return None
        text = match[1]
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _content_range(body: bytes) -> tuple[int, int] | None:
    operations = _operations(body)
    variables = (operations or {}).get("variables") or {}
    match = re.fullmatch(r"bytes (\d+)-(\d+)/\d+", str(variables.get("contentRange") or ""))
    return (int(match[1]), int(match[2])) if match else None


def _corrupted(body: bytes) -> bytes:
    """``body`` with the first byte of its file part (the part named ``0``) changed."""
    part = body.index(b'name="0"')
    start = body.index(b"\r\n\r\n", part) + 4
    return body[:start] + bytes([body[start] ^ 0xFF]) + body[start + 1 :]

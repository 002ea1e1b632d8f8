"""A real server's GraphQL endpoint as one caller, over real HTTP with ``requests``: the queries
and mutations of the API, each answer checked to be free of GraphQL errors, and the same requests
returning the raw response for tests that look at status codes, GraphQL errors or what a dying
connection does. Every test that talks to a real server (gunicorn, pytest-django's live server)
goes through :class:`Http`; the operations' texts are those of ``tests.support.graphql_client``.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from example_site.auth import make_token
from tests.support.graphql_client import (
    CANCEL_UPLOAD,
    COMPLETE_UPLOAD,
    CREATE_UPLOAD,
    FILE_MAP,
    GET_UPLOAD,
    LIST_UPLOADS,
    UPLOAD_CHUNK,
    UPLOAD_STATE,
)
from tests.support.graphql_client import chunk_checksum as checksum_of
from tests.support.servers import GunicornServer


def content_range(start: int, length: int, total: int) -> str:
    """The ``contentRange`` of ``length`` bytes from ``start`` of a ``total``-byte file."""
    return f"bytes {start}-{start + length - 1}/{total}"


class Http:
    """The GraphQL endpoint of a server as one caller: a user's bearer token, or nobody
    (``user=None``); ``url`` for an endpoint other than the gunicorn server's (a live server, an
    upload's own url, a proxy), ``headers`` and ``cookies`` for a browser's session and CSRF
    token or a foreign ``Origin``, ``timeout`` in seconds for each request."""

    def __init__(
        self,
        server: GunicornServer | None = None,
        user: Any = None,
        *,
        url: str | None = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
        timeout: float | None = 60,
    ) -> None:
        self.server = server
        if url is None:
            assert server is not None, "Http needs a server or a url"
            url = server.graphql_url
        self.url = url
        self.headers = {} if user is None else {"Authorization": f"Bearer {make_token(user)}"}
        self.headers.update(headers or {})
        self.cookies = dict(cookies or {})
        self.timeout = timeout

    # Raw responses ----------------------------------------------------------------------------

    def raw(
        self, url: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """POST whatever ``kwargs`` say (``data``, ``files``, ``json``, ``timeout``) with this
        caller's headers and cookies; the response as it came."""
        kwargs.setdefault("timeout", self.timeout)
        return requests.post(
            url or self.url,
            headers={**self.headers, **(headers or {})},
            cookies=self.cookies,
            **kwargs,
        )

    def raw_get(
        self, url: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """GET with this caller's headers and cookies (``params`` for a query in the URL)."""
        kwargs.setdefault("timeout", self.timeout)
        return requests.get(
            url or self.url,
            headers={**self.headers, **(headers or {})},
            cookies=self.cookies,
            **kwargs,
        )

    def send(
        self,
        query: str,
        variables: dict[str, Any],
        file: bytes | None = None,
        url: str | None = None,
        part_filename: str = "chunk",
    ) -> requests.Response:
        """POST an operation: a JSON body, or with ``file`` a multipart request whose one file
        part (named ``part_filename``) is ``variables.file``. The response as it came."""
        if file is None:
            return self.raw(url, json={"query": query, "variables": variables})
        operations = json.dumps({"query": query, "variables": {**variables, "file": None}})
        return self.raw(
            url,
            data={"operations": operations, "map": FILE_MAP},
            files={"0": (part_filename, file, "application/octet-stream")},
        )

    def send_files(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, tuple[str, bytes, str]],
        url: str | None = None,
    ) -> requests.Response:
        """POST a multipart request with one file part per entry of ``files``: a variable's
        name to the part's ``(filename, bytes, content type)``, in that order. The response as
        it came."""
        placeholders = dict.fromkeys(files)
        operations = json.dumps({"query": query, "variables": {**variables, **placeholders}})
        files_map = {str(i): [f"variables.{name}"] for i, name in enumerate(files)}
        return self.raw(
            url,
            data={"operations": operations, "map": json.dumps(files_map)},
            files={str(i): part for i, part in enumerate(files.values())},
        )

    def send_chunk(
        self,
        data: bytes,
        content_range: str,
        upload_id: str | None = None,
        filename: str | None = "f.bin",
        url: str | None = None,
        chunk_checksum: str | None = None,
    ) -> requests.Response:
        variables = {
            "uploadId": upload_id,
            "contentRange": content_range,
            "filename": filename,
            "chunkChecksum": chunk_checksum,
        }
        return self.send(UPLOAD_CHUNK, variables, file=data, url=url)

    def send_create(
        self,
        total_size: int,
        *,
        parallel: bool | None = None,
        chunk_size: int | None = None,
        filename: str = "f.bin",
    ) -> requests.Response:
        variables = {
            "filename": filename,
            "totalSize": total_size,
            "parallel": parallel,
            "chunkSize": chunk_size,
        }
        return self.send(CREATE_UPLOAD, variables)

    def send_complete(
        self, upload_id: str | None, checksum: str, url: str | None = None
    ) -> requests.Response:
        return self.send(COMPLETE_UPLOAD, {"uploadId": upload_id, "checksum": checksum}, url=url)

    def send_cancel(self, upload_id: str) -> requests.Response:
        return self.send(CANCEL_UPLOAD, {"uploadId": upload_id})

    def send_state(self, upload_id: str) -> requests.Response:
        return self.send(UPLOAD_STATE, {"id": upload_id})

    # Answers free of GraphQL errors ----------------------------------------------------------

    def post(
        self,
        query: str,
        variables: dict[str, Any],
        file: bytes | None = None,
        url: str | None = None,
    ) -> dict[str, Any]:
        """The ``data`` of an operation that must be answered without GraphQL errors."""
        return self.data(self.send(query, variables, file=file, url=url))

    def post_files(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, tuple[str, bytes, str]],
        url: str | None = None,
    ) -> dict[str, Any]:
        """The ``data`` of a multipart request with several files (see ``send_files``), which
        must be answered without GraphQL errors."""
        return self.data(self.send_files(query, variables, files, url=url))

    @staticmethod
    def data(response: requests.Response) -> dict[str, Any]:
        """The ``data`` of a response that must be HTTP 200 without GraphQL errors."""
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def chunk(
        self,
        data: bytes,
        content_range: str,
        upload_id: str | None = None,
        filename: str | None = "f.bin",
        url: str | None = None,
        chunk_checksum: str | None = None,
    ) -> dict[str, Any]:
        response = self.send_chunk(data, content_range, upload_id, filename, url, chunk_checksum)
        return self.data(response)["uploadChunk"]

    def create(
        self,
        total_size: int,
        *,
        parallel: bool | None = None,
        chunk_size: int | None = None,
        filename: str = "f.bin",
    ) -> dict[str, Any]:
        response = self.send_create(
            total_size, parallel=parallel, chunk_size=chunk_size, filename=filename
        )
        return self.data(response)["createUpload"]

    def send_range(
        self,
        upload_id: str,
        data: bytes,
        start: int,
        size: int,
        *,
        checksummed: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send the ``size`` bytes of ``data`` from ``start`` as one chunk of ``upload_id``,
        with their ``chunkChecksum`` unless ``checksummed`` is false; the answer (as
        ``GraphQLClient.send_range``)."""
        piece = data[start : start + size]
        return self.chunk(
            piece,
            content_range(start, len(piece), len(data)),
            upload_id,
            chunk_checksum=checksum_of(piece) if checksummed else None,
            **kwargs,
        )

    def complete(
        self, upload_id: str | None, checksum: str, url: str | None = None
    ) -> dict[str, Any]:
        return self.data(self.send_complete(upload_id, checksum, url=url))["completeUpload"]

    def cancel(self, upload_id: str) -> dict[str, Any]:
        return self.data(self.send_cancel(upload_id))["cancelUpload"]

    def get(self, upload_id: str, url: str | None = None) -> Any:
        return self.post(GET_UPLOAD, {"id": upload_id}, url=url)["chunkedUpload"]

    def list(self, status: str | None = None) -> Any:
        return self.post(LIST_UPLOADS, {"status": status})["chunkedUploads"]

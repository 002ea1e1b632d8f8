"""A gunicorn server's GraphQL endpoint as one caller, over real HTTP with ``requests``: the
queries and mutations of the API, each answer checked to be free of GraphQL errors."""

from __future__ import annotations

import json
from typing import Any

import requests

from example_site.auth import make_token
from tests.graphql_client import (
    CANCEL_UPLOAD,
    COMPLETE_UPLOAD,
    GET_UPLOAD,
    LIST_UPLOADS,
    UPLOAD_CHUNK,
)
from tests.servers import GunicornServer


class Http:
    """The GraphQL endpoint of a gunicorn server as one caller: a user's bearer token, or
    nobody (``user=None``)."""

    def __init__(self, server: GunicornServer, user: Any) -> None:
        self.server = server
        self.headers = {} if user is None else {"Authorization": f"Bearer {make_token(user)}"}

    def post(
        self,
        query: str,
        variables: dict[str, Any],
        file: bytes | None = None,
        url: str | None = None,
    ) -> dict[str, Any]:
        """The ``data`` of an operation that must be answered without GraphQL errors."""
        url = url or self.server.graphql_url
        if file is None:
            response = requests.post(
                url, json={"query": query, "variables": variables}, headers=self.headers,
                timeout=60,
            )  # fmt: skip
        else:
            response = requests.post(
                url,
                data={
                    "operations": json.dumps(
                        {"query": query, "variables": {**variables, "file": None}}
                    ),
                    "map": '{"0": ["variables.file"]}',
                },
                files={"0": ("chunk", file, "application/octet-stream")},
                headers=self.headers,
                timeout=60,
            )
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
    ) -> dict[str, Any]:
        variables = {"uploadId": upload_id, "contentRange": content_range, "filename": filename}
        return self.post(UPLOAD_CHUNK, variables, file=data, url=url)["uploadChunk"]

    def complete(
        self, upload_id: str | None, checksum: str, url: str | None = None
    ) -> dict[str, Any]:
        variables = {"uploadId": upload_id, "checksum": checksum}
        return self.post(COMPLETE_UPLOAD, variables, url=url)["completeUpload"]

    def cancel(self, upload_id: str) -> dict[str, Any]:
        return self.post(CANCEL_UPLOAD, {"uploadId": upload_id})["cancelUpload"]

    def get(self, upload_id: str, url: str | None = None) -> Any:
        return self.post(GET_UPLOAD, {"id": upload_id}, url=url)["chunkedUpload"]

    def list(self, status: str | None = None) -> Any:
        return self.post(LIST_UPLOADS, {"status": status})["chunkedUploads"]

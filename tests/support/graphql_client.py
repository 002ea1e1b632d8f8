"""A small GraphQL client over Django's test client, speaking the multipart request spec.

Tests use it to drive the endpoint the way real clients do: JSON bodies for plain operations,
``operations`` + ``map`` + file parts for uploads.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase

UPLOAD_FIELDS = """
    __typename id url filename offset totalSize expires status createdAt completedAt
    checksumAlgorithm responseData parallel chunkSize missingRanges { start end } expired
"""

ERROR_FIELDS = "... on UploadError { code message httpStatus }"

UPLOAD_CHUNK = f"""
mutation UploadChunk($uploadId: ID, $file: Upload, $contentRange: String, $filename: String,
                     $chunkChecksum: String) {{
    uploadChunk(uploadId: $uploadId, file: $file, contentRange: $contentRange,
                filename: $filename, chunkChecksum: $chunkChecksum) {{
        __typename
        ... on ChunkedUpload {{ {UPLOAD_FIELDS} }}
        {ERROR_FIELDS}
        ... on MaxBytesExceeded {{ maxBytes }}
        ... on OffsetMismatch {{ expectedOffset providedOffset }}
        ... on QuotaExceeded {{ quota limit }}
    }}
}}
"""

CREATE_UPLOAD = f"""
mutation CreateUpload($filename: String!, $totalSize: BigInt!, $parallel: Boolean,
                      $chunkSize: BigInt) {{
    createUpload(filename: $filename, totalSize: $totalSize, parallel: $parallel,
                 chunkSize: $chunkSize) {{
        __typename
        ... on ChunkedUpload {{ {UPLOAD_FIELDS} }}
        {ERROR_FIELDS}
        ... on MaxBytesExceeded {{ maxBytes }}
        ... on InvalidChunkSize {{ minChunkSize maxChunkSize }}
        ... on QuotaExceeded {{ quota limit }}
    }}
}}
"""

UPLOAD_LIMITS = """
query { uploadLimits {
    maxBytes maxChunkSize minParallelChunkSize maxParts expiresIn checksumAlgorithm
    chunkChecksumAlgorithms maxIncompleteUploads maxIncompleteBytes maxPageSize
} }
"""

COMPLETE_UPLOAD = f"""
mutation CompleteUpload($uploadId: ID, $checksum: String, $file: Upload, $filename: String) {{
    completeUpload(uploadId: $uploadId, checksum: $checksum, file: $file,
                   filename: $filename) {{
        __typename
        ... on ChunkedUpload {{ {UPLOAD_FIELDS} }}
        {ERROR_FIELDS}
        ... on MaxBytesExceeded {{ maxBytes }}
        ... on MissingChecksum {{ algorithm }}
        ... on UploadIncomplete {{ offset expectedSize missingRanges {{ start end }} }}
    }}
}}
"""

CANCEL_UPLOAD = """
mutation CancelUpload($uploadId: ID!) {
    cancelUpload(uploadId: $uploadId) {
        __typename
        ... on CancelledUpload { id }
        ... on UploadError { code message httpStatus }
    }
}
"""

GET_UPLOAD = f"""
query GetUpload($id: ID!) {{ chunkedUpload(id: $id) {{ {UPLOAD_FIELDS} }} }}
"""

# Where an upload stands, all a client needs to resume it.
UPLOAD_STATE = """
query UploadState($id: ID!) { chunkedUpload(id: $id) { offset status } }
"""

LIST_UPLOADS = f"""
query ListUploads($status: ChunkedUploadStatus) {{
    chunkedUploads(status: $status) {{ {UPLOAD_FIELDS} }}
}}
"""

# The multipart request spec's map for an operation's one file, at ``variables.file``.
FILE_MAP = '{"0": ["variables.file"]}'

_UNSET: Any = object()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_checksum(data: bytes) -> str:
    """The chunkChecksum of ``data`` as clients send it."""
    return "sha256:" + sha256(data)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class GraphQLClient:
    """Posts GraphQL operations to the endpoint through a Django test ``Client``.

    A test runs inside one transaction that never commits, so ``on_commit`` callbacks (such as
    deleting the bytes of a cancelled upload) would never run. Like a real server, where each
    request commits when it ends, the client runs the callbacks a request registered when it
    returns; set ``run_on_commit = False`` to look at the state before the commit.
    """

    def __init__(self, client: Client | None = None, url: str = "/graphql/") -> None:
        self.client = client or Client()
        self.url = url
        self.run_on_commit = True

    def post(self, *args: Any, **kwargs: Any) -> Any:
        """``_post`` as one committed request (see the class docstring)."""
        with TestCase.captureOnCommitCallbacks(execute=self.run_on_commit):
            return self._post(*args, **kwargs)

    def _post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        files: dict[str, bytes | Any] | None = None,
        url: str | None = None,
    ) -> Any:
        """POST an operation; with ``files`` as a multipart request whose map puts each file at
        ``variables.<name>``. Returns the Django response."""
        url = url or self.url
        variables = dict(variables or {})
        if not files:
            return self.client.post(
                url, {"query": query, "variables": variables}, content_type="application/json"
            )
        parts: dict[str, Any] = {}
        files_map: dict[str, list[str]] = {}
        for index, (name, content) in enumerate(files.items()):
            variables[name] = None
            files_map[str(index)] = [f"variables.{name}"]
            parts[str(index)] = (
                SimpleUploadedFile(f"{name}.bin", content)
                if isinstance(content, bytes)
                else content
            )
        operations = json.dumps({"query": query, "variables": variables})
        return self.client.post(
            url, {"operations": operations, "map": json.dumps(files_map), **parts}
        )

    def execute(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run an operation that must succeed at the GraphQL level; return its ``data``."""
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    # The contract's operations ---------------------------------------------------------------

    def upload_chunk(
        self,
        chunk: bytes | None,
        content_range: str | None,
        upload_id: str | None = None,
        filename: str | None = "file.bin",
        url: str | None = None,
        chunk_checksum: str | None = None,
    ) -> dict[str, Any]:
        variables = {
            "uploadId": upload_id,
            "contentRange": content_range,
            "filename": filename,
            "chunkChecksum": chunk_checksum,
        }
        files = {"file": chunk} if chunk is not None else None
        return self.execute(UPLOAD_CHUNK, variables, files=files, url=url)["uploadChunk"]

    def create(
        self,
        total_size: int,
        *,
        parallel: bool | None = None,
        chunk_size: int | None = None,
        filename: str = "file.bin",
    ) -> dict[str, Any]:
        variables = {
            "filename": filename,
            "totalSize": total_size,
            "parallel": parallel,
            "chunkSize": chunk_size,
        }
        return self.execute(CREATE_UPLOAD, variables)["createUpload"]

    def limits(self) -> dict[str, Any]:
        return self.execute(UPLOAD_LIMITS)["uploadLimits"]

    def send_range(
        self, upload_id: str, data: bytes, start: int, size: int, **kwargs: Any
    ) -> dict[str, Any]:
        """Send the ``size`` bytes of ``data`` from ``start`` as one chunk of ``upload_id``."""
        chunk = data[start : start + size]
        return self.upload_chunk(
            chunk,
            f"bytes {start}-{start + len(chunk) - 1}/{len(data)}",
            upload_id=upload_id,
            **kwargs,
        )

    def complete(
        self,
        upload_id: str | None,
        checksum: str | None,
        file: bytes | None = None,
        filename: str | None = None,
        url: str | None = None,
    ) -> dict[str, Any]:
        variables = {"uploadId": upload_id, "checksum": checksum, "filename": filename}
        files = {"file": file} if file is not None else None
        return self.execute(COMPLETE_UPLOAD, variables, files=files, url=url)["completeUpload"]

    def cancel(self, upload_id: str) -> dict[str, Any]:
        return self.execute(CANCEL_UPLOAD, {"uploadId": upload_id})["cancelUpload"]

    def get(self, upload_id: str) -> dict[str, Any] | None:
        return self.execute(GET_UPLOAD, {"id": upload_id})["chunkedUpload"]

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        return self.execute(LIST_UPLOADS, {"status": status})["chunkedUploads"]

    def start(self, data: bytes, first_chunk: int, filename: str = "file.bin") -> dict[str, Any]:
        """Send the first ``first_chunk`` bytes of ``data`` as a new upload."""
        end = min(first_chunk, len(data)) - 1
        result = self.upload_chunk(data[: end + 1], f"bytes 0-{end}/{len(data)}", filename=filename)
        assert result["__typename"] == "ChunkedUpload", result
        return result

    def upload(self, data: bytes, chunk_size: int, filename: str = "file.bin") -> dict[str, Any]:
        """Send all of ``data`` in chunks (without completing); return the last answer."""
        result = self.start(data, chunk_size, filename)
        while result["offset"] < len(data):
            start = result["offset"]
            end = min(start + chunk_size, len(data)) - 1
            result = self.upload_chunk(
                data[start : end + 1], f"bytes {start}-{end}/{len(data)}", upload_id=result["id"]
            )
            assert result["__typename"] == "ChunkedUpload", result
        return result

    def upload_and_complete(
        self, data: bytes, chunk_size: int, filename: str = "file.bin"
    ) -> dict[str, Any]:
        uploaded = self.upload(data, chunk_size, filename)
        return self.complete(uploaded["id"], md5(data))

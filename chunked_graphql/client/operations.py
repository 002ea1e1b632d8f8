"""The API's operations as the client sends them, and their results as Python values.

Every mutation result is a union of ``ChunkedUpload`` and typed errors; :func:`upload_or_raise`
turns it into an :class:`UploadInfo` or raises :class:`.errors.UploadRejected` carrying the
error's code, message and extra fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import exceptions
from ..exceptions import typed_errors
from .errors import ServerError, UploadRejected

UPLOAD_FIELDS = "id url filename offset totalSize expires status checksumAlgorithm responseData"


def error_fields(operation: str) -> str:
    """The selection of every typed error ``operation`` can answer, with its extra fields,
    made from the server's table of errors (``chunked_graphql.exceptions``)."""
    selections = ["... on UploadError { code message httpStatus }"]
    for error in typed_errors():
        if operation in error.returned_by and error.fields:
            fields = " ".join(_camel(name) for name in error.fields)
            selections.append(f"... on {error.__name__} {{ {fields} }}")
    return "\n    ".join(selections)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


UPLOAD_CHUNK = f"""
mutation UploadChunk($uploadId: ID, $file: Upload, $contentRange: String, $filename: String) {{
  uploadChunk(uploadId: $uploadId, file: $file, contentRange: $contentRange, filename: $filename) {{
    __typename
    ... on ChunkedUpload {{ {UPLOAD_FIELDS} }}
    {error_fields(exceptions.UPLOAD_CHUNK)}
  }}
}}
"""

COMPLETE_UPLOAD = f"""
mutation CompleteUpload($uploadId: ID, $checksum: String) {{
  completeUpload(uploadId: $uploadId, checksum: $checksum) {{
    __typename
    ... on ChunkedUpload {{ {UPLOAD_FIELDS} completedAt }}
    {error_fields(exceptions.COMPLETE_UPLOAD)}
  }}
}}
"""

CANCEL_UPLOAD = f"""
mutation CancelUpload($uploadId: ID!) {{
  cancelUpload(uploadId: $uploadId) {{
    __typename
    ... on CancelledUpload {{ id }}
    {error_fields(exceptions.CANCEL_UPLOAD)}
  }}
}}
"""

GET_UPLOAD = f"query GetUpload($id: ID!) {{ chunkedUpload(id: $id) {{ {UPLOAD_FIELDS} }} }}"


@dataclass(frozen=True)
class UploadInfo:
    """An upload as the server last described it."""

    id: str
    url: str
    filename: str
    offset: int
    total_size: int | None
    status: str
    expires: str
    checksum_algorithm: str
    response_data: Any = None

    @property
    def complete(self) -> bool:
        return self.status == "COMPLETE"

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> UploadInfo:
        raw = result.get("responseData")
        return cls(
            id=result["id"],
            url=result["url"],
            filename=result["filename"],
            offset=int(result["offset"]),
            total_size=None if result.get("totalSize") is None else int(result["totalSize"]),
            status=result["status"],
            expires=result["expires"],
            checksum_algorithm=result["checksumAlgorithm"],
            # JSONString travels as a string holding JSON.
            response_data=json.loads(raw) if isinstance(raw, str) else raw,
        )


def upload_or_raise(result: Any) -> UploadInfo:
    """The ``ChunkedUpload`` member of a mutation result, or the typed error raised."""
    if not isinstance(result, dict) or "__typename" not in result:
        raise ServerError(f"Unexpected result from the server: {result!r:.200}")
    if result["__typename"] == "ChunkedUpload":
        return UploadInfo.from_result(result)
    if "code" in result:
        details = {
            key: value
            for key, value in result.items()
            if key not in ("__typename", "code", "message", "httpStatus")
        }
        raise UploadRejected(result["code"], result["message"], result.get("httpStatus"), details)
    raise ServerError(f"Unexpected result type {result['__typename']} from the server.")

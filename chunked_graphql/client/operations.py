"""The API's operations as the client sends them, and their results as Python values.

Every mutation result is a union of ``ChunkedUpload`` and typed errors; :func:`upload_or_raise`
turns it into an :class:`UploadInfo` or raises :class:`.errors.UploadRejected` carrying the
error's code, message and extra fields.

The documents come in two dialects. :data:`CURRENT` is this release's schema: ``createUpload``,
``chunkChecksum``, parallel uploads, and the error selections made from the server's table of
errors (``chunked_graphql.exceptions``), so they follow it. :data:`BEFORE_PARALLEL` is what a
server of an earlier release (0.1.0, or before ``createUpload``) accepts: GraphQL refuses a whole
document that names one field, argument or type its schema lacks, so the client talks to such a
server without anything :data:`NEW_ERRORS` and :data:`NEW_UPLOAD_FIELDS` list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import exceptions
from ..exceptions import typed_errors
from .errors import ServerError, UploadRejected

#: The typed errors, and the fields of others, that servers before createUpload do not have.
NEW_ERRORS = frozenset(
    {"InvalidChunkChecksum", "ChunkChecksumMismatch", "InvalidChunkSize", "QuotaExceeded"}
)
NEW_ERROR_FIELDS = frozenset({("UploadIncomplete", "missing_ranges")})
#: ChunkedUpload's fields new with createUpload.
NEW_UPLOAD_FIELDS = "parallel chunkSize missingRanges { start end } expired"

UPLOAD_FIELDS = "id url filename offset totalSize expires status checksumAlgorithm responseData"

# Sub-selections of the error fields whose type is an object type, not a scalar or an enum.
_OBJECT_FIELDS = {"[ByteRange!]": "{ start end }"}


def error_fields(operation: str, *, before_parallel: bool = False) -> str:
    """The selection of every typed error ``operation`` can answer, with its extra fields,
    made from the server's table of errors (``chunked_graphql.exceptions``); with
    ``before_parallel``, of those a server before createUpload has."""
    selections = ["... on UploadError { code message httpStatus }"]
    for error in typed_errors():
        if operation not in error.returned_by or not error.fields:
            continue
        if before_parallel and error.__name__ in NEW_ERRORS:
            continue
        fields = " ".join(
            f"{_camel(name)} {_OBJECT_FIELDS.get(kind, '')}".strip()
            for name, kind in error.fields.items()
            if not (before_parallel and (error.__name__, name) in NEW_ERROR_FIELDS)
        )
        if fields:
            selections.append(f"... on {error.__name__} {{ {fields} }}")
    return "\n    ".join(selections)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


@dataclass(frozen=True)
class Operations:
    """The documents of one dialect of the API."""

    upload_chunk: str
    complete_upload: str
    cancel_upload: str
    get_upload: str
    #: None: the dialect has no createUpload (chunkChecksum neither).
    create_upload: str | None

    @property
    def before_parallel(self) -> bool:
        return self.create_upload is None


def _operations(*, before_parallel: bool) -> Operations:
    upload = UPLOAD_FIELDS if before_parallel else f"{UPLOAD_FIELDS} {NEW_UPLOAD_FIELDS}"

    def errors(operation: str) -> str:
        return error_fields(operation, before_parallel=before_parallel)

    # uploadChunk's arguments; chunkChecksum is new with createUpload.
    parameters = "$uploadId: ID, $file: Upload, $contentRange: String, $filename: String"
    arguments = "uploadId: $uploadId, file: $file, contentRange: $contentRange, filename: $filename"
    if not before_parallel:
        parameters += ", $chunkChecksum: String"
        arguments += ", chunkChecksum: $chunkChecksum"
    upload_chunk = f"""
mutation UploadChunk({parameters}) {{
  uploadChunk({arguments}) {{
    __typename
    ... on ChunkedUpload {{ {upload} }}
    {errors(exceptions.UPLOAD_CHUNK)}
  }}
}}
"""
    complete_upload = f"""
mutation CompleteUpload($uploadId: ID, $checksum: String) {{
  completeUpload(uploadId: $uploadId, checksum: $checksum) {{
    __typename
    ... on ChunkedUpload {{ {upload} completedAt }}
    {errors(exceptions.COMPLETE_UPLOAD)}
  }}
}}
"""
    cancel_upload = f"""
mutation CancelUpload($uploadId: ID!) {{
  cancelUpload(uploadId: $uploadId) {{
    __typename
    ... on CancelledUpload {{ id }}
    {errors(exceptions.CANCEL_UPLOAD)}
  }}
}}
"""
    get_upload = f"query GetUpload($id: ID!) {{ chunkedUpload(id: $id) {{ {upload} }} }}"
    create_upload = None
    if not before_parallel:
        create_upload = f"""
mutation CreateUpload(
  $filename: String!, $totalSize: BigInt!, $parallel: Boolean, $chunkSize: BigInt
) {{
  createUpload(
    filename: $filename, totalSize: $totalSize, parallel: $parallel, chunkSize: $chunkSize
  ) {{
    __typename
    ... on ChunkedUpload {{ {upload} }}
    {errors(exceptions.CREATE_UPLOAD)}
  }}
}}
"""
    return Operations(upload_chunk, complete_upload, cancel_upload, get_upload, create_upload)


CURRENT = _operations(before_parallel=False)
BEFORE_PARALLEL = _operations(before_parallel=True)

UPLOAD_CHUNK = CURRENT.upload_chunk
COMPLETE_UPLOAD = CURRENT.complete_upload
CANCEL_UPLOAD = CURRENT.cancel_upload
GET_UPLOAD = CURRENT.get_upload
CREATE_UPLOAD = CURRENT.create_upload

# The limits a client needs before it sends anything. A server that refuses this document (no
# uploadLimits at all, as in 0.1.0, or one without these fields) is older than createUpload.
UPLOAD_LIMITS = """
query UploadLimits {
  uploadLimits {
    maxBytes maxChunkSize minParallelChunkSize maxParts checksumAlgorithm chunkChecksumAlgorithms
  }
}
"""


@dataclass(frozen=True)
class ServerLimits:
    """What ``uploadLimits`` says about a server that has ``createUpload``."""

    max_bytes: int | None
    max_chunk_size: int
    min_parallel_chunk_size: int
    max_parts: int | None
    checksum_algorithm: str
    chunk_checksum_algorithms: tuple[str, ...]

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> ServerLimits:
        def optional(name: str) -> int | None:
            return None if result.get(name) is None else int(result[name])

        return cls(
            max_bytes=optional("maxBytes"),
            max_chunk_size=int(result["maxChunkSize"]),
            min_parallel_chunk_size=int(result["minParallelChunkSize"]),
            max_parts=optional("maxParts"),
            checksum_algorithm=result["checksumAlgorithm"],
            chunk_checksum_algorithms=tuple(result["chunkChecksumAlgorithms"]),
        )


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
    #: Chunks may arrive in any order, several at once (createUpload with parallel).
    parallel: bool = False
    #: The fixed chunk size of a parallel upload.
    chunk_size: int | None = None
    #: What the server still needs, as inclusive (start, end) pairs, ascending; None from a
    #: server that does not say (one before createUpload).
    missing_ranges: tuple[tuple[int, int], ...] | None = None
    #: None from a server that does not say.
    expired: bool | None = None

    @property
    def complete(self) -> bool:
        return self.status == "COMPLETE"

    @property
    def stored_bytes(self) -> int:
        """How many of the file's bytes the server holds (of a serial upload: its offset)."""
        if self.missing_ranges is None or self.total_size is None:
            return self.offset
        return self.total_size - sum(end - start + 1 for start, end in self.missing_ranges)

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> UploadInfo:
        raw = result.get("responseData")
        missing = result.get("missingRanges")
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
            parallel=bool(result.get("parallel", False)),
            chunk_size=None if result.get("chunkSize") is None else int(result["chunkSize"]),
            missing_ranges=None
            if missing is None
            else tuple((int(pair["start"]), int(pair["end"])) for pair in missing),
            expired=result.get("expired"),
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

"""Every exception the app raises, under one root, and the one table of the typed errors.

    ChunkedGraphQLError                   the root: anything this app raises on purpose
    ├── ChunkedUploadError                a typed error: the request was refused, changed nothing
    │   ├── UploadNotFound          NOT_FOUND                404
    │   ├── UploadExpired           EXPIRED                  410
    │   ├── MissingChunk            MISSING_CHUNK            400
    │   ├── MissingContentRange     MISSING_CONTENT_RANGE    400
    │   ├── InvalidContentRange     INVALID_CONTENT_RANGE    400
    │   ├── MaxBytesExceeded        MAX_BYTES_EXCEEDED       400  (max_bytes)
    │   ├── ChunkTooLarge           CHUNK_TOO_LARGE          413  (max_chunk_size)
    │   ├── OffsetMismatch          OFFSET_MISMATCH          400  (expected_offset, provided_offset)
    │   ├── MissingChecksum         MISSING_CHECKSUM         400  (algorithm)
    │   ├── ChecksumMismatch        CHECKSUM_MISMATCH        400
    │   ├── UploadAlreadyComplete   ALREADY_COMPLETE         400
    │   ├── UploadIncomplete        INCOMPLETE               400  (offset, expected_size,
    │   │                                                          missing_ranges)
    │   ├── InvalidFilename         INVALID_FILENAME         400
    │   ├── AuthenticationRequired  AUTHENTICATION_REQUIRED  401
    │   ├── InvalidChunkChecksum    INVALID_CHUNK_CHECKSUM   400
    │   ├── ChunkChecksumMismatch   CHUNK_CHECKSUM_MISMATCH  400
    │   ├── InvalidChunkSize        INVALID_CHUNK_SIZE       400  (min_chunk_size, max_chunk_size)
    │   └── QuotaExceeded           QUOTA_EXCEEDED           403  (quota, limit)
    ├── RequestBodyError                  the body cannot be turned into operations: HTTP 400
    │   └── ChunkReadError                it broke off inside a file part a resolver was reading
    └── ChunkStorageError                 the storage failed: GraphQL error STORAGE_ERROR
        └── UploadBusy                    another request is writing the same bytes: UPLOAD_BUSY

The typed errors are the table of truth for the API's errors. Each class says its ``code``, the
HTTP status drf-chunked-upload answers for the same case (``http_status``), its extra fields
(``fields``: attribute name to GraphQL type) and the mutations whose result union holds it
(``returned_by``). The GraphQL error types, the unions, the client's selections and the docs'
error table are all made from it (``typed_errors()``); a test checks that the tree above, the
``ErrorCode`` enum and the classes agree.

Nothing here knows about GraphQL or Django: the service raises these, the GraphQL layer turns a
``ChunkedUploadError`` into a member of a result union, a ``ChunkStorageError`` into a GraphQL
error worth retrying (the upload keeps its last good offset; its ``code`` is the error's
``extensions.code``), and the endpoint answers a ``RequestBodyError`` with HTTP 400 and a JSON
body.
"""

from __future__ import annotations

import enum
from typing import ClassVar

CREATE_UPLOAD = "createUpload"
UPLOAD_CHUNK = "uploadChunk"
COMPLETE_UPLOAD = "completeUpload"
CANCEL_UPLOAD = "cancelUpload"

#: The mutations that answer typed errors, each with its result union's name.
RESULT_UNIONS: dict[str, str] = {
    CREATE_UPLOAD: "CreateUploadResult",
    UPLOAD_CHUNK: "UploadChunkResult",
    COMPLETE_UPLOAD: "CompleteUploadResult",
    CANCEL_UPLOAD: "CancelUploadResult",
}


class ErrorCode(enum.Enum):
    """What went wrong: one value per typed error."""

    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    MISSING_CHUNK = "MISSING_CHUNK"
    MISSING_CONTENT_RANGE = "MISSING_CONTENT_RANGE"
    INVALID_CONTENT_RANGE = "INVALID_CONTENT_RANGE"
    MAX_BYTES_EXCEEDED = "MAX_BYTES_EXCEEDED"
    CHUNK_TOO_LARGE = "CHUNK_TOO_LARGE"
    OFFSET_MISMATCH = "OFFSET_MISMATCH"
    MISSING_CHECKSUM = "MISSING_CHECKSUM"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    ALREADY_COMPLETE = "ALREADY_COMPLETE"
    INCOMPLETE = "INCOMPLETE"
    INVALID_FILENAME = "INVALID_FILENAME"
    AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED"
    INVALID_CHUNK_CHECKSUM = "INVALID_CHUNK_CHECKSUM"
    CHUNK_CHECKSUM_MISMATCH = "CHUNK_CHECKSUM_MISMATCH"
    INVALID_CHUNK_SIZE = "INVALID_CHUNK_SIZE"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


class QuotaKind(enum.Enum):
    """Which per-user quota a new upload would exceed."""

    INCOMPLETE_UPLOADS = "INCOMPLETE_UPLOADS"
    INCOMPLETE_BYTES = "INCOMPLETE_BYTES"


class ChunkedGraphQLError(Exception):
    """The root of every exception this app raises on purpose."""


# Typed errors ----------------------------------------------------------------------------------


class ChunkedUploadError(ChunkedGraphQLError):
    """A typed error: the request was refused and changed nothing.

    Subclasses set the class attributes; the GraphQL type of the same name is made from them.
    """

    code: ClassVar[ErrorCode]
    http_status: ClassVar[int] = 400
    #: Fields beyond code, message and httpStatus: attribute name -> GraphQL type (non-null).
    fields: ClassVar[dict[str, str]] = {}
    #: The mutations whose result union holds this error.
    returned_by: ClassVar[tuple[str, ...]] = ()
    default_message: ClassVar[str] = "The upload request was refused."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class UploadNotFound(ChunkedUploadError):
    """No such upload, or not one the caller may see."""

    code = ErrorCode.NOT_FOUND
    http_status = 404
    returned_by = (UPLOAD_CHUNK, COMPLETE_UPLOAD, CANCEL_UPLOAD)
    default_message = "No such upload."


class UploadExpired(ChunkedUploadError):
    """The upload expired before it was completed."""

    code = ErrorCode.EXPIRED
    http_status = 410
    returned_by = (UPLOAD_CHUNK, COMPLETE_UPLOAD)
    default_message = "The upload has expired."


class MissingChunk(ChunkedUploadError):
    """No usable file was sent: absent, not a file part, or empty."""

    code = ErrorCode.MISSING_CHUNK
    returned_by = (UPLOAD_CHUNK, COMPLETE_UPLOAD)
    default_message = "No chunk file was submitted, or it was empty."


class MissingContentRange(ChunkedUploadError):
    """contentRange was absent or empty."""

    code = ErrorCode.MISSING_CONTENT_RANGE
    returned_by = (UPLOAD_CHUNK,)
    default_message = "contentRange is required: 'bytes START-END/TOTAL'."


class InvalidContentRange(ChunkedUploadError):
    """contentRange is malformed, inconsistent, or disagrees with the chunk or the upload."""

    code = ErrorCode.INVALID_CONTENT_RANGE
    returned_by = (CREATE_UPLOAD, UPLOAD_CHUNK)
    default_message = "contentRange must be 'bytes START-END/TOTAL' with START <= END < TOTAL."


class MaxBytesExceeded(ChunkedUploadError):
    """The file is larger than the MAX_BYTES setting allows."""

    code = ErrorCode.MAX_BYTES_EXCEEDED
    fields = {"max_bytes": "BigInt"}
    returned_by = (CREATE_UPLOAD, UPLOAD_CHUNK, COMPLETE_UPLOAD)

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"Size of file exceeds the limit ({max_bytes} bytes).")


class ChunkTooLarge(ChunkedUploadError):
    """The chunk is larger than the MAX_CHUNK_SIZE setting allows; nothing of it was stored."""

    # Not in drf-chunked-upload, which accepts a chunk of any size; 413 is HTTP's "Content Too
    # Large".
    code = ErrorCode.CHUNK_TOO_LARGE
    http_status = 413
    fields = {"max_chunk_size": "BigInt"}
    returned_by = (UPLOAD_CHUNK,)

    def __init__(self, max_chunk_size: int, declared: int) -> None:
        self.max_chunk_size = max_chunk_size
        super().__init__(
            f"The chunk is {declared} bytes; chunks may be at most {max_chunk_size} bytes. "
            "Send the file in smaller chunks."
        )


class OffsetMismatch(ChunkedUploadError):
    """The chunk does not start where the upload's stored bytes end."""

    code = ErrorCode.OFFSET_MISMATCH
    fields = {"expected_offset": "BigInt", "provided_offset": "BigInt"}
    returned_by = (UPLOAD_CHUNK,)

    def __init__(self, expected_offset: int, provided_offset: int) -> None:
        self.expected_offset = expected_offset
        self.provided_offset = provided_offset
        super().__init__(
            f"Offsets do not match: the upload is at byte {expected_offset}, "
            f"the chunk starts at byte {provided_offset}."
        )


class MissingChecksum(ChunkedUploadError):
    """completeUpload needs the hex digest of the whole file."""

    code = ErrorCode.MISSING_CHECKSUM
    fields = {"algorithm": "String"}
    returned_by = (COMPLETE_UPLOAD,)

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        super().__init__(f"A checksum is required: the {algorithm} hex digest of the whole file.")


class ChecksumMismatch(ChunkedUploadError):
    """The checksum differs from the digest of the stored bytes; the upload stays open."""

    code = ErrorCode.CHECKSUM_MISMATCH
    returned_by = (COMPLETE_UPLOAD,)
    default_message = "The checksum does not match the uploaded bytes."


class UploadAlreadyComplete(ChunkedUploadError):
    """The upload is already complete."""

    code = ErrorCode.ALREADY_COMPLETE
    returned_by = (UPLOAD_CHUNK, COMPLETE_UPLOAD, CANCEL_UPLOAD)
    default_message = 'Upload has already been marked as "complete".'


class UploadIncomplete(ChunkedUploadError):
    """Not all declared bytes have arrived yet."""

    code = ErrorCode.INCOMPLETE
    fields = {"offset": "BigInt", "expected_size": "BigInt", "missing_ranges": "[ByteRange!]"}
    returned_by = (COMPLETE_UPLOAD,)

    def __init__(
        self, offset: int, expected_size: int, missing_ranges: list[tuple[int, int]] | None = None
    ) -> None:
        self.offset = offset
        self.expected_size = expected_size
        #: Inclusive (start, end) pairs, ascending.
        self.missing_ranges = (
            [(offset, expected_size - 1)] if missing_ranges is None else missing_ranges
        )
        super().__init__(
            f"The upload is incomplete: {offset} of {expected_size} bytes have been received."
        )


class InvalidFilename(ChunkedUploadError):
    """filename is missing, blank, longer than 255 characters or holds a control character."""

    code = ErrorCode.INVALID_FILENAME
    returned_by = (CREATE_UPLOAD, UPLOAD_CHUNK, COMPLETE_UPLOAD)
    default_message = "filename is required."


class AuthenticationRequired(ChunkedUploadError):
    """USER_RESTRICTED is on and the caller is anonymous."""

    code = ErrorCode.AUTHENTICATION_REQUIRED
    http_status = 401
    returned_by = (CREATE_UPLOAD, UPLOAD_CHUNK, COMPLETE_UPLOAD)
    default_message = "Uploading requires an authenticated user."


class InvalidChunkChecksum(ChunkedUploadError):
    """chunkChecksum is not "<algorithm>:<hex digest>" of an algorithm the server offers
    (uploadLimits.chunkChecksumAlgorithms)."""

    code = ErrorCode.INVALID_CHUNK_CHECKSUM
    returned_by = (UPLOAD_CHUNK,)
    default_message = 'chunkChecksum must be "<algorithm>:<hex digest>", e.g. "sha256:9f86d0…".'


class ChunkChecksumMismatch(ChunkedUploadError):
    """The chunk's bytes do not match its chunkChecksum (or a stored copy of the same range
    has another checksum); nothing of it was kept."""

    code = ErrorCode.CHUNK_CHECKSUM_MISMATCH
    returned_by = (UPLOAD_CHUNK,)
    default_message = "The chunk's bytes do not match its chunkChecksum; nothing was stored."


class InvalidChunkSize(ChunkedUploadError):
    """A parallel upload needs a chunkSize from minChunkSize to maxChunkSize."""

    code = ErrorCode.INVALID_CHUNK_SIZE
    fields = {"min_chunk_size": "BigInt", "max_chunk_size": "BigInt"}
    returned_by = (CREATE_UPLOAD,)

    def __init__(
        self,
        min_chunk_size: int,
        max_chunk_size: int,
        given: int | None,
        message: str | None = None,
    ) -> None:
        self.min_chunk_size = min_chunk_size
        self.max_chunk_size = max_chunk_size
        if message is not None:
            super().__init__(message)
            return
        if given is None:
            message = "A parallel upload needs a chunkSize"
        else:
            message = f"chunkSize {given} is out of range"
        super().__init__(
            f"{message}: from {min_chunk_size} to {max_chunk_size} bytes for this file."
        )


class QuotaExceeded(ChunkedUploadError):
    """A new upload would take the caller past a quota on incomplete uploads."""

    code = ErrorCode.QUOTA_EXCEEDED
    http_status = 403
    fields = {"quota": "QuotaKind", "limit": "BigInt"}
    returned_by = (CREATE_UPLOAD, UPLOAD_CHUNK)

    def __init__(self, quota: QuotaKind, limit: int) -> None:
        self.quota = quota
        self.limit = limit
        if quota is QuotaKind.INCOMPLETE_UPLOADS:
            message = f"You may have at most {limit} incomplete uploads at a time"
        else:
            message = f"Your incomplete uploads may declare at most {limit} bytes in all"
        super().__init__(f"{message}: complete or cancel one first.")


def typed_errors() -> list[type[ChunkedUploadError]]:
    """Every typed error, in the order of the tree above (the order of the schema's unions)."""
    return _subclasses(ChunkedUploadError)


def _subclasses(cls: type[ChunkedUploadError]) -> list[type[ChunkedUploadError]]:
    found = []
    for sub in cls.__subclasses__():
        if sub.__module__ == __name__:
            found.append(sub)
            found.extend(_subclasses(sub))
    return found


# Errors of the request and of the storage ------------------------------------------------------


class RequestBodyError(ChunkedGraphQLError):
    """The request body cannot be turned into GraphQL operations: the endpoint answers HTTP 400
    with ``{"errors": [...]}``."""


class ChunkReadError(RequestBodyError):
    """A chunk could not be read in full: the request body ended early or is malformed.

    Not a typed error: the request itself is broken, so the endpoint answers HTTP 400, and the
    service, which sees this exception in the middle of a write, commits nothing.
    """


class ChunkStorageError(ChunkedGraphQLError):
    """The storage could not keep a chunk; the upload stays at its last good offset."""

    #: ``extensions.code`` of the GraphQL error that reports it.
    code = "STORAGE_ERROR"


class UploadBusy(ChunkStorageError):
    """Another request is still writing the same bytes of the upload: typically a retry whose
    earlier copy is still arriving. Answered at once rather than waited for; the upload is
    unchanged, and the request may be sent again shortly, when the earlier copy has finished
    or been cut off for arriving too slowly (``chunked_graphql.deadlines``)."""

    code = "UPLOAD_BUSY"

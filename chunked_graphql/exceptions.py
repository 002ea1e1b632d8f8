"""Typed errors of the upload service.

Each error carries the ``code`` clients switch on, the HTTP ``status`` drf-chunked-upload answers
for the same case, and a human-readable ``message``. The GraphQL layer returns them as members of
the result unions; nothing in the service layer knows about GraphQL.

    ChunkedUploadError
    ├── UploadNotFound          NOT_FOUND                404
    ├── UploadExpired           EXPIRED                  410
    ├── MissingChunk            MISSING_CHUNK            400
    ├── MissingContentRange     MISSING_CONTENT_RANGE    400
    ├── InvalidContentRange     INVALID_CONTENT_RANGE    400
    ├── MaxBytesExceeded        MAX_BYTES_EXCEEDED       400  (max_bytes)
    ├── ChunkTooLarge           CHUNK_TOO_LARGE          413  (max_chunk_size)
    ├── OffsetMismatch          OFFSET_MISMATCH          400  (expected_offset, provided_offset)
    ├── MissingChecksum         MISSING_CHECKSUM         400  (algorithm)
    ├── ChecksumMismatch        CHECKSUM_MISMATCH        400
    ├── UploadAlreadyComplete   ALREADY_COMPLETE         400
    ├── UploadIncomplete        INCOMPLETE               400  (offset, expected_size)
    ├── InvalidFilename         INVALID_FILENAME         400
    └── AuthenticationRequired  AUTHENTICATION_REQUIRED  401

A failure of the storage itself is not a client error: it raises ``ChunkStorageError`` (not a
``ChunkedUploadError``), which reaches the client as a GraphQL error with
``extensions.code = "STORAGE_ERROR"`` (worth retrying: the upload keeps its last good offset).
"""

from __future__ import annotations

import enum


class ErrorCode(enum.Enum):
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


class ChunkedUploadError(Exception):
    """Base of the typed errors: the request was refused and changed nothing."""

    code: ErrorCode
    status: int = 400
    default_message: str = "The upload request was refused."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return self.status


class UploadNotFound(ChunkedUploadError):
    code = ErrorCode.NOT_FOUND
    status = 404
    default_message = "No such upload."


class UploadExpired(ChunkedUploadError):
    code = ErrorCode.EXPIRED
    status = 410
    default_message = "The upload has expired."


class MissingChunk(ChunkedUploadError):
    code = ErrorCode.MISSING_CHUNK
    default_message = "No chunk file was submitted, or it was empty."


class MissingContentRange(ChunkedUploadError):
    code = ErrorCode.MISSING_CONTENT_RANGE
    default_message = "contentRange is required: 'bytes START-END/TOTAL'."


class InvalidContentRange(ChunkedUploadError):
    code = ErrorCode.INVALID_CONTENT_RANGE
    default_message = "contentRange must be 'bytes START-END/TOTAL' with START <= END < TOTAL."


class MaxBytesExceeded(ChunkedUploadError):
    code = ErrorCode.MAX_BYTES_EXCEEDED

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"Size of file exceeds the limit ({max_bytes} bytes).")


class ChunkTooLarge(ChunkedUploadError):
    # Not in drf-chunked-upload, which accepts a chunk of any size; 413 is HTTP's "Content Too
    # Large".
    code = ErrorCode.CHUNK_TOO_LARGE
    status = 413

    def __init__(self, max_chunk_size: int, declared: int) -> None:
        self.max_chunk_size = max_chunk_size
        super().__init__(
            f"The chunk is {declared} bytes; chunks may be at most {max_chunk_size} bytes. "
            "Send the file in smaller chunks."
        )


class OffsetMismatch(ChunkedUploadError):
    code = ErrorCode.OFFSET_MISMATCH

    def __init__(self, expected_offset: int, provided_offset: int) -> None:
        self.expected_offset = expected_offset
        self.provided_offset = provided_offset
        super().__init__(
            f"Offsets do not match: the upload is at byte {expected_offset}, "
            f"the chunk starts at byte {provided_offset}."
        )


class MissingChecksum(ChunkedUploadError):
    code = ErrorCode.MISSING_CHECKSUM

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        super().__init__(f"A checksum is required: the {algorithm} hex digest of the whole file.")


class ChecksumMismatch(ChunkedUploadError):
    code = ErrorCode.CHECKSUM_MISMATCH
    default_message = "The checksum does not match the uploaded bytes."


class UploadAlreadyComplete(ChunkedUploadError):
    code = ErrorCode.ALREADY_COMPLETE
    default_message = 'Upload has already been marked as "complete".'


class UploadIncomplete(ChunkedUploadError):
    code = ErrorCode.INCOMPLETE

    def __init__(self, offset: int, expected_size: int) -> None:
        self.offset = offset
        self.expected_size = expected_size
        super().__init__(
            f"The upload is incomplete: {offset} of {expected_size} bytes have been received."
        )


class InvalidFilename(ChunkedUploadError):
    code = ErrorCode.INVALID_FILENAME
    default_message = "filename is required."


class AuthenticationRequired(ChunkedUploadError):
    code = ErrorCode.AUTHENTICATION_REQUIRED
    status = 401
    default_message = "Uploading requires an authenticated user."


class ChunkStorageError(Exception):
    """The storage could not keep a chunk; the upload stays at its last good offset."""

    #: ``extensions.code`` of the GraphQL error that reports it.
    code = "STORAGE_ERROR"

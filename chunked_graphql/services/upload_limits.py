"""What a client should know before it sends an upload: the server's limits, from the settings
as they are now (``uploadLimits`` in the schema)."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import upload_settings


@dataclass(frozen=True)
class UploadLimits:
    #: MAX_BYTES: the largest file; None for no limit.
    max_bytes: int | None
    #: MAX_CHUNK_SIZE: the largest chunk one request may carry.
    max_chunk_size: int
    #: EXPIRATION_DELTA in whole seconds: how long an incomplete upload lives.
    expires_in: int
    #: CHECKSUM: what a new upload's completeUpload checks.
    checksum_algorithm: str
    #: MAX_PAGE_SIZE: the most uploads one chunkedUploads field lists.
    max_page_size: int


def upload_limits() -> UploadLimits:
    return UploadLimits(
        max_bytes=upload_settings.MAX_BYTES,
        max_chunk_size=upload_settings.MAX_CHUNK_SIZE,
        expires_in=int(upload_settings.EXPIRATION_DELTA.total_seconds()),
        checksum_algorithm=upload_settings.CHECKSUM,
        max_page_size=upload_settings.MAX_PAGE_SIZE,
    )

"""What a client should know before it sends an upload: the server's limits, from the settings
as they are now (``uploadLimits`` in the schema)."""

from __future__ import annotations

from dataclasses import dataclass

from ..hashing import CHUNK_ALGORITHMS
from ..settings import upload_settings
from ..stores import chunk_store


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
    #: The smallest chunkSize of a parallel upload (the storage's own minimum).
    min_parallel_chunk_size: int
    #: The most chunks a parallel upload may have; None for no limit.
    max_parts: int | None
    #: What uploadChunk's chunkChecksum may use.
    chunk_checksum_algorithms: list[str]
    #: MAX_INCOMPLETE_UPLOADS and MAX_INCOMPLETE_BYTES: per-user quotas; None for none.
    max_incomplete_uploads: int | None
    max_incomplete_bytes: int | None
    #: MAX_PAGE_SIZE: the most uploads one chunkedUploads field lists.
    max_page_size: int


def upload_limits() -> UploadLimits:
    store = chunk_store()
    # A storage that takes bytes in order only offers no parallel uploads: no chunk size is
    # small enough, and at most one part.
    parallel = store.random_access
    return UploadLimits(
        max_bytes=upload_settings.MAX_BYTES,
        max_chunk_size=upload_settings.MAX_CHUNK_SIZE,
        expires_in=int(upload_settings.EXPIRATION_DELTA.total_seconds()),
        checksum_algorithm=upload_settings.CHECKSUM,
        min_parallel_chunk_size=(
            store.min_parallel_chunk_size if parallel else upload_settings.MAX_CHUNK_SIZE
        ),
        max_parts=store.max_parts if parallel else 1,
        chunk_checksum_algorithms=list(CHUNK_ALGORITHMS),
        max_incomplete_uploads=upload_settings.MAX_INCOMPLETE_UPLOADS,
        max_incomplete_bytes=upload_settings.MAX_INCOMPLETE_BYTES,
        max_page_size=upload_settings.MAX_PAGE_SIZE,
    )

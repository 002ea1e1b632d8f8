"""``create_upload``: a new upload with no bytes yet, serial or parallel, so the client knows its
id before it sends any (docs/specification.md §9, ``createUpload``).

Also the checks a new upload passes however it is created (``check_new_upload``), shared with a
first chunk, and the chunk size a parallel upload may use (``parallel_chunk_bounds``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import transaction

from .. import exceptions
from ..models import AbstractChunkedUpload
from ..settings import upload_settings
from ..stores import ChunkStore, chunk_store
from ..stores.names import upload_name
from ..validators import MAX_TOTAL, validate_filename
from .common import User, check_max_bytes, discard, owner, storage_errors, write_db
from .common import new_upload as new_row
from .quotas import reserve_quota


def create_upload(
    *,
    user: User,
    filename: str | None,
    total_size: int,
    parallel: bool = False,
    chunk_size: int | None = None,
) -> AbstractChunkedUpload:
    """Create an upload of ``total_size`` bytes; store nothing yet."""
    filename = validate_filename(filename)
    if not 1 <= total_size <= MAX_TOTAL:
        raise exceptions.InvalidContentRange(f"totalSize must be from 1 to {MAX_TOTAL} bytes.")
    upload_owner = owner(user)
    check_max_bytes(total_size)
    store = chunk_store()
    if parallel:
        check_parallel_chunk_size(store, total_size, chunk_size)
    upload = new_row(upload_owner, filename, total_size=total_size)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.INCOMPLETE_EXT)
    if parallel:
        upload.parallel = True
        upload.chunk_size = chunk_size
        upload.stored_ranges = []
        upload.hashed_offset = 0
        upload.chunk_checksums = {}
    alias = write_db()
    state: Any = None
    try:
        with storage_errors("creating the upload"):
            if parallel:
                assert chunk_size is not None
                state = store.parallel_create(upload.file.name, total_size, chunk_size)
            else:
                store.create(upload.file.name)
        upload.store_state = state
        with saving_new_upload(upload_owner, total_size, alias):
            upload.save(force_insert=True)
    except BaseException:
        discard(store, upload.file.name, state)
        raise
    return upload


@contextlib.contextmanager
def saving_new_upload(owner: Any, total_size: int, alias: str) -> Iterator[None]:
    """Where a new upload's row is saved: with a quota set, in a transaction that reserves the
    owner's quota first, so racing creations of the same owner wait until this one is saved or
    not. Without one, no transaction at all (a first chunk's hot path)."""
    if (
        upload_settings.MAX_INCOMPLETE_UPLOADS is None
        and upload_settings.MAX_INCOMPLETE_BYTES is None
    ):
        yield
        return
    with transaction.atomic(using=alias):
        reserve_quota(owner, total_size, alias)
        yield


def parallel_chunk_bounds(store: ChunkStore, total_size: int) -> tuple[int, int]:
    """The smallest and largest chunk size a parallel upload of ``total_size`` bytes may use:
    the store's smallest, raised so the upload has at most ``max_parts`` chunks, and
    MAX_CHUNK_SIZE."""
    smallest = store.min_parallel_chunk_size
    if store.max_parts is not None:
        smallest = max(smallest, -(-total_size // store.max_parts))
    largest: int = upload_settings.MAX_CHUNK_SIZE
    return smallest, largest


def check_parallel_chunk_size(store: ChunkStore, total_size: int, chunk_size: int | None) -> None:
    if not store.random_access:
        # Not a chunk size a client could fix: this storage takes bytes in order only.
        raise exceptions.InvalidChunkSize(
            0, 0, chunk_size, "This server's storage takes bytes in order only: send serially."
        )
    smallest, largest = parallel_chunk_bounds(store, total_size)
    if chunk_size is None or not smallest <= chunk_size <= largest:
        raise exceptions.InvalidChunkSize(smallest, largest, chunk_size)

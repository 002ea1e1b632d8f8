"""``upload_chunk``: store one chunk, of a new upload or of one being continued.

The checks run in the order of the specification (docs/specification.md §3, ``uploadChunk``).
On a local disk a chunk streams from the request to the file under the store's byte-range lock
and only its offset is committed under the row lock; elsewhere it is received first and written
under the row lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import transaction

from .. import exceptions
from ..models import AbstractChunkedUpload
from ..settings import upload_settings
from ..sources import ChunkSource
from ..stores import ChunkStore, chunk_store, read_blocks
from ..stores.names import upload_name
from ..validators import ContentRange, parse_content_range, validate_filename
from .common import (
    Chunk,
    User,
    after_commit,
    check_chunk_size,
    check_max_bytes,
    check_open,
    discard,
    in_outer_transaction,
    new_upload,
    owner,
    resumed_hash,
    storage_errors,
    usable_source,
    write_db,
)
from .incoming import Incoming, length_mismatch, received
from .visibility import lock_visible, visible_by_id


def upload_chunk(
    *,
    user: User,
    chunk: Chunk,
    content_range: str | None,
    upload_id: object = None,
    filename: str | None = None,
) -> AbstractChunkedUpload:
    """Store one chunk: of the upload ``upload_id`` names, or of a new upload when it is None."""
    source = usable_source(chunk)
    if not content_range:
        raise exceptions.MissingContentRange()
    byte_range = parse_content_range(content_range)
    check_max_bytes(byte_range.total)
    check_chunk_size(byte_range.length)
    if source.known_size is not None and source.known_size != byte_range.length:
        raise length_mismatch(source.known_size, byte_range.length)
    if upload_id is not None:
        return _append_chunk(user, upload_id, source, byte_range)
    return _create_upload(user, source, byte_range, filename)


def _append_chunk(
    user: User, upload_id: object, source: ChunkSource, byte_range: ContentRange
) -> AbstractChunkedUpload:
    store = chunk_store()
    alias = write_db()
    # Checked before a byte is read, so a refused chunk is never stored. The chunk's length is
    # compared first all the same (the specification orders it before these checks): the
    # refusal reads the rest of the chunk to count it.
    upload = _refuse_unless_continuable(visible_by_id(user, upload_id).first(), byte_range, source)
    if store.streams and not in_outer_transaction(alias):
        # The bytes go from the request to the store as they arrive, under the store's lock
        # rather than the row lock: a slow client then blocks nobody else's writes (on SQLite
        # the row lock would be the whole database's write lock).
        with storage_errors("storing the chunk"), store.lock(upload.file.name, byte_range.start):
            # Another request may have written, completed or cancelled the upload meanwhile.
            upload = _refuse_unless_continuable(
                visible_by_id(user, upload_id).first(), byte_range, source
            )
            incoming = Incoming(source, byte_range.length, resumed_hash(upload))
            try:
                state = store.write(
                    upload.file.name, byte_range.start, incoming.blocks(), upload.store_state
                )
                incoming.check_length()
                return _commit_chunk(user, upload_id, byte_range, incoming, store, state, alias)
            except BaseException:
                store.abandon(upload.file.name, byte_range.start, upload.store_state)
                raise
    # Inside a transaction of the caller's (ATOMIC_REQUESTS), the offset commits only when that
    # transaction does: only the row lock, held until then, keeps other writers out. So the
    # chunk is received first and written under it.
    incoming = Incoming(source, byte_range.length, resumed_hash(upload))
    with received(incoming) as spool, transaction.atomic(using=alias):
        upload = lock_visible(user, upload_id)
        _check_continuable(upload, byte_range)
        with storage_errors("storing the chunk"):
            state = store.write(
                upload.file.name,
                byte_range.start,
                read_blocks(spool, byte_range.length),
                upload.store_state,
            )
        _advance(upload, byte_range, incoming, store, state, alias)
    return upload


def _commit_chunk(
    user: User,
    upload_id: object,
    byte_range: ContentRange,
    incoming: Incoming,
    store: ChunkStore,
    state: Any,
    alias: str,
) -> AbstractChunkedUpload:
    """Save the offset (and hash and store state) that the bytes just written vouch for."""
    with transaction.atomic(using=alias):
        upload = lock_visible(user, upload_id)
        _check_continuable(upload, byte_range)
        _advance(upload, byte_range, incoming, store, state, alias)
    return upload


def _advance(
    upload: AbstractChunkedUpload,
    byte_range: ContentRange,
    incoming: Incoming,
    store: ChunkStore,
    state: Any,
    alias: str,
) -> None:
    old_state = upload.store_state
    upload.offset = byte_range.end + 1
    upload.hash_state = incoming.hash_state()
    upload.store_state = state
    upload.save(update_fields=["offset", "hash_state", "store_state"])
    name = upload.file.name
    transaction.on_commit(lambda: after_commit(store, name, old_state, state), using=alias)


def _create_upload(
    user: User, source: ChunkSource, byte_range: ContentRange, filename: str | None
) -> AbstractChunkedUpload:
    with _length_checked_first(source, byte_range):
        filename = validate_filename(filename)
        upload_owner = owner(user)
        if byte_range.start != 0:
            raise exceptions.OffsetMismatch(0, byte_range.start)
    upload = new_upload(upload_owner, filename, total_size=byte_range.total)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.INCOMPLETE_EXT)
    store = chunk_store()
    incoming = Incoming(source, byte_range.length, resumed_hash(upload))
    # Nobody else knows the new id yet, so no lock is needed; the row is saved only once its
    # bytes are stored, and the bytes are removed again if the row cannot be saved.
    state = None
    try:
        with storage_errors("storing the chunk"):
            state = store.write(upload.file.name, 0, incoming.blocks(), None)
        incoming.check_length()
        upload.offset = byte_range.end + 1
        upload.hash_state = incoming.hash_state()
        upload.store_state = state
        upload.save(force_insert=True)
    except BaseException:
        discard(store, upload.file.name, state)
        raise
    return upload


def _refuse_unless_continuable(
    upload: AbstractChunkedUpload | None, byte_range: ContentRange, source: ChunkSource
) -> AbstractChunkedUpload:
    with _length_checked_first(source, byte_range):
        if upload is None:
            raise exceptions.UploadNotFound()
        _check_continuable(upload, byte_range)
    return upload


@contextlib.contextmanager
def _length_checked_first(source: ChunkSource, byte_range: ContentRange) -> Iterator[None]:
    """Checks that the specification orders after the chunk's length, made before the chunk is
    read: a refusal reads (and drops) the rest of the chunk to count it, and a wrong length
    wins."""
    try:
        yield
    except exceptions.ChunkedUploadError:
        size = source.drain()
        if size != byte_range.length:
            raise length_mismatch(size, byte_range.length) from None
        raise


def _check_continuable(upload: AbstractChunkedUpload, byte_range: ContentRange) -> None:
    check_open(upload)
    if upload.total_size is not None and byte_range.total != upload.total_size:
        raise exceptions.InvalidContentRange(
            f"TOTAL ({byte_range.total}) differs from the size this upload declared "
            f"({upload.total_size})."
        )
    if byte_range.start != upload.offset:
        raise exceptions.OffsetMismatch(upload.offset, byte_range.start)

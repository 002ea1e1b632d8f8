"""``upload_chunk``: store one chunk, of a new upload or of one being continued.

The checks run in the order of the specification (docs/specification.md §3, ``uploadChunk``).
On a local disk a chunk streams from the request to the file under the store's byte-range lock
and only its offset is committed under the row lock; elsewhere it is received first and written
under the row lock.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import exceptions
from ..hashing import parse_chunk_checksum
from ..models import AbstractChunkedUpload
from ..settings import upload_settings
from ..sources import ChunkSource
from ..stores import ChunkStore, chunk_store, read_blocks
from ..stores.names import upload_name
from ..validators import ContentRange, parse_content_range, validate_filename
from . import parallel
from .common import (
    Chunk,
    Status,
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
from .creating import saving_new_upload
from .incoming import Incoming, length_mismatch, received
from .visibility import lock_visible, visible_by_id


def upload_chunk(
    *,
    user: User,
    chunk: Chunk,
    content_range: str | None,
    upload_id: object = None,
    filename: str | None = None,
    chunk_checksum: str | None = None,
) -> AbstractChunkedUpload:
    """Store one chunk: of the upload ``upload_id`` names, or of a new upload when it is None."""
    source = usable_source(chunk)
    if not content_range:
        raise exceptions.MissingContentRange()
    byte_range = parse_content_range(content_range)
    checksum = parse_chunk_checksum(chunk_checksum)
    check_max_bytes(byte_range.total)
    check_chunk_size(byte_range.length)
    if source.known_size is not None and source.known_size != byte_range.length:
        raise length_mismatch(source.known_size, byte_range.length)
    if upload_id is not None:
        return _append_chunk(user, upload_id, source, byte_range, checksum)
    return _create_upload(user, source, byte_range, filename, checksum)


def _append_chunk(
    user: User,
    upload_id: object,
    source: ChunkSource,
    byte_range: ContentRange,
    checksum: tuple[str, str] | None,
) -> AbstractChunkedUpload:
    store = chunk_store()
    alias = write_db()

    def refuse(found: AbstractChunkedUpload | None) -> AbstractChunkedUpload:
        return _refuse_unless_continuable(found, byte_range, source)

    # One query set for the lookups of this chunk: built once, since building it is a good part
    # of a chunk's time in the service.
    addressed = visible_by_id(user, upload_id).order_by()
    # Checked before a byte is read, so a refused chunk is never stored. The chunk's length is
    # compared first all the same (the specification orders it before these checks): the
    # refusal reads the rest of the chunk to count it.
    upload = refuse(_first(addressed))
    if upload.parallel:
        return parallel.append_range(
            user, upload_id, upload, source, byte_range, checksum, store, alias, refuse
        )
    if store.streams and not in_outer_transaction(alias):
        # The bytes go from the request to the store as they arrive, under the store's lock
        # rather than the row lock: a slow client then blocks nobody else's writes (on SQLite
        # the row lock would be the whole database's write lock).
        with storage_errors("storing the chunk"), store.lock(upload.file.name, byte_range.start):
            # Another request may have written, completed or cancelled the upload meanwhile;
            # each of those changes the offset or the status (or removes the row), so those two
            # columns tell whether the row read above is still the upload's state.
            now = _first(addressed.values_list("offset", "status"))
            if now != (upload.offset, upload.status):
                upload = refuse(_first(addressed))
            incoming = Incoming(source, byte_range.length, resumed_hash(upload), checksum)
            try:
                state = store.write(
                    upload.file.name, byte_range.start, incoming.blocks(), upload.store_state
                )
                incoming.check()
                _commit_chunk(addressed, upload, byte_range, incoming, state)
            except BaseException:
                store.abandon(upload.file.name, byte_range.start, upload.store_state)
                raise
        after_commit(store, upload.file.name, upload.store_state, state)
        upload.store_state = state
        return upload
    # Inside a transaction of the caller's (ATOMIC_REQUESTS), the offset commits only when that
    # transaction does: only the row lock, held until then, keeps other writers out. So the
    # chunk is received first and written under it.
    incoming = Incoming(source, byte_range.length, resumed_hash(upload), checksum)
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
    addressed: QuerySet[AbstractChunkedUpload],
    upload: AbstractChunkedUpload,
    byte_range: ContentRange,
    incoming: Incoming,
    state: Any,
) -> None:
    """Save the offset (and hash and store state) that the bytes just written vouch for, in one
    conditional update: the store's lock, held meanwhile, keeps other writers of these bytes
    out, and the condition refuses a row that was completed, cancelled or expired meanwhile."""
    expiration_delta: datetime.timedelta = upload_settings.EXPIRATION_DELTA
    hash_state = incoming.hash_state()
    updated = addressed.filter(
        offset=byte_range.start,
        status=Status.UPLOADING,
        created_at__gt=timezone.now() - expiration_delta,
    ).update(offset=byte_range.end + 1, hash_state=hash_state, store_state=state)
    if updated != 1:
        _check_continuable(_refuse_missing(_first(addressed)), byte_range)
        raise exceptions.UploadNotFound()  # not reached: the checks above refuse it
    upload.offset = byte_range.end + 1
    upload.hash_state = hash_state


def _first(rows: QuerySet[Any]) -> Any:
    """The one row of a lookup by id, or None (without ``first()``'s ORDER BY)."""
    found = list(rows[:1])
    return found[0] if found else None


def _refuse_missing(upload: AbstractChunkedUpload | None) -> AbstractChunkedUpload:
    if upload is None:
        raise exceptions.UploadNotFound()
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
    user: User,
    source: ChunkSource,
    byte_range: ContentRange,
    filename: str | None,
    checksum: tuple[str, str] | None,
) -> AbstractChunkedUpload:
    alias = write_db()
    with _length_checked_first(source, byte_range):
        filename = validate_filename(filename)
        upload_owner = owner(user)
        if byte_range.start != 0:
            raise exceptions.OffsetMismatch(0, byte_range.start)
        # Checked before a byte is stored, and again where the row is saved.
        with saving_new_upload(upload_owner, byte_range.total, alias):
            pass
    upload = new_upload(upload_owner, filename, total_size=byte_range.total)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.INCOMPLETE_EXT)
    store = chunk_store()
    incoming = Incoming(source, byte_range.length, resumed_hash(upload), checksum)
    # Nobody else knows the new id yet, so no lock is needed; the row is saved only once its
    # bytes are stored, and the bytes are removed again if the row cannot be saved.
    state = None
    try:
        with storage_errors("storing the chunk"):
            state = store.write(upload.file.name, 0, incoming.blocks(), None)
        incoming.check()
        upload.offset = byte_range.end + 1
        upload.hash_state = incoming.hash_state()
        upload.store_state = state
        with saving_new_upload(upload_owner, byte_range.total, alias):
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
    if upload.parallel:
        parallel.check_parallel_range(upload, byte_range)
    elif byte_range.start != upload.offset:
        raise exceptions.OffsetMismatch(upload.offset, byte_range.start)

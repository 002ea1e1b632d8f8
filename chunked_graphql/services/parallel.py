"""Chunks of a parallel upload: stored by range, in any order and several at once
(docs/specification.md §9).

A chunk's bytes go to the store outside any database lock: on stores with range locks (the file
system) under the lock of the chunk's own range only, so chunks of different ranges never wait
for each other; then one short transaction records the range on the upload's row. A chunk whose
range is already recorded stores nothing and is answered with the upload as it is.

The whole-file hash follows the gap-free prefix (``hashed_offset``): a chunk starting exactly
there is hashed as it streams; one arriving ahead of it is written readable and hashed once the
prefix reaches it, read back once and outside the row lock (``prefix_hash``). Completion finishes
whatever is left, so when senders send ascending ranges it reads nothing back.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import transaction

from .. import exceptions, ranges
from ..hashing import ResumableHash, is_resumable, resume_hash
from ..models import AbstractChunkedUpload
from ..sources import ChunkSource
from ..stores import ChunkStore, read_blocks
from ..validators import ContentRange
from . import prefix_hash
from .common import after_commit, check_open, in_outer_transaction, logger, storage_errors
from .incoming import Incoming, length_mismatch, received
from .visibility import lock_visible, visible_by_id


def check_parallel_range(upload: AbstractChunkedUpload, byte_range: ContentRange) -> None:
    """A chunk of a parallel upload starts at a multiple of chunkSize and is chunkSize long,
    but the last, which ends at TOTAL - 1."""
    size = upload.chunk_size or 0
    total = upload.total_size or 0
    expected = min(size, total - byte_range.start)
    if size <= 0 or byte_range.start % size or byte_range.length != expected:
        raise exceptions.InvalidContentRange(
            f"Chunks of this upload start at multiples of {size} and are {size} bytes long, "
            f"the last ending at byte {total - 1}."
        )


def append_range(
    user: Any,
    upload_id: object,
    upload: AbstractChunkedUpload,
    source: ChunkSource,
    byte_range: ContentRange,
    chunk_checksum: tuple[str, str] | None,
    store: ChunkStore,
    alias: str,
    refuse: Any,
) -> AbstractChunkedUpload:
    """Store one chunk of the parallel upload ``upload`` (as read before any lock); ``refuse``
    re-checks a fresh read of the row, raising as ``uploadChunk`` would."""
    name, start, end = upload.file.name, byte_range.start, byte_range.end
    if store.streams and in_outer_transaction(alias):
        return _append_in_outer_transaction(
            user, upload_id, upload, source, byte_range, chunk_checksum, store, alias
        )
    lock = store.lock(name, start, end) if store.streams else contextlib.nullcontext()
    took_lease = False
    with storage_errors("storing the chunk"), lock:
        if store.streams:
            # Another request may have stored this range, completed or cancelled meanwhile.
            upload = refuse(visible_by_id(user, upload_id).first())
        if ranges.covers(upload.stored_ranges, start, end):
            return _resent(upload, source, byte_range, chunk_checksum)
        hasher = _prefix_hasher(upload, start)
        incoming = Incoming(source, byte_range.length, hasher, chunk_checksum)
        piece: Any = None
        try:
            if store.streams:
                piece = store.write_range(
                    name, start, incoming.blocks(), upload.store_state, readable=hasher is None
                )
                incoming.check()
            else:
                with received(incoming) as spool:
                    piece = store.write_range(
                        name,
                        start,
                        read_blocks(spool, byte_range.length),
                        upload.store_state,
                        readable=hasher is None,
                    )
            upload, recorded, took_lease = _record(
                user, upload_id, byte_range, incoming, piece, store, alias
            )
        except BaseException:
            store.abandon_range(name, start, end, upload.store_state, piece)
            raise
        if not recorded:
            # Lost the race for this range (stores without range locks): the winner's bytes
            # stay, ours go.
            store.abandon_range(name, start, end, upload.store_state, piece)
    if took_lease:
        try:
            prefix_hash.advance(upload.pk, store, alias, upload.hashing_until)
        except Exception:
            # The chunk is stored and recorded, whatever happens to hashing what came ahead:
            # the lease runs out and the next chunk or the completion takes the work over.
            logger.warning(
                "Could not hash the chunks after %s of %s", start, upload.pk, exc_info=True
            )
    return upload


def _append_in_outer_transaction(
    user: Any,
    upload_id: object,
    upload: AbstractChunkedUpload,
    source: ChunkSource,
    byte_range: ContentRange,
    chunk_checksum: tuple[str, str] | None,
    store: ChunkStore,
    alias: str,
) -> AbstractChunkedUpload:
    """Inside a transaction of the caller's (ATOMIC_REQUESTS) the range commits only when that
    transaction does, long after the store's lock is gone: only the row lock, held until then,
    keeps a second writer of the range out. So the chunk is received first and written under
    the row lock, as a serial chunk is; chunks of one upload then take turns."""
    start, end = byte_range.start, byte_range.end
    hasher = _prefix_hasher(upload, start)
    incoming = Incoming(source, byte_range.length, hasher, chunk_checksum)
    with received(incoming) as spool, transaction.atomic(using=alias):
        upload = lock_visible(user, upload_id)
        check_open(upload)
        if ranges.covers(upload.stored_ranges, start, end):
            _compare_with_stored(upload, start, chunk_checksum)
            return upload
        if upload.hashed_offset != start:
            incoming.hasher = None  # the prefix moved meanwhile: hashed later, read back once
        with storage_errors("storing the chunk"):
            piece = store.write_range(
                upload.file.name,
                start,
                read_blocks(spool, byte_range.length),
                upload.store_state,
                readable=incoming.hasher is None,
            )
        took_lease = _apply(upload, byte_range, incoming, piece, store, alias)
    if took_lease:
        prefix_hash.advance(upload.pk, store, alias, upload.hashing_until)
    return upload


def _prefix_hasher(upload: AbstractChunkedUpload, start: int) -> ResumableHash | None:
    """The whole-file hasher to carry through a chunk that starts where the hashed prefix ends;
    None for a chunk ahead of it, or an algorithm hashed only at completion."""
    if upload.hashed_offset != start or not is_resumable(upload.checksum_algorithm):
        return None
    return resume_hash(upload.checksum_algorithm, upload.hash_state, start)


def _resent(
    upload: AbstractChunkedUpload,
    source: ChunkSource,
    byte_range: ContentRange,
    chunk_checksum: tuple[str, str] | None,
) -> AbstractChunkedUpload:
    """A chunk whose range is stored already: nothing is written; its length is counted (a
    wrong one still wins) and its chunkChecksum compared with the stored range's."""
    size = source.drain()
    if size != byte_range.length:
        raise length_mismatch(size, byte_range.length)
    _compare_with_stored(upload, byte_range.start, chunk_checksum)
    return upload


def _compare_with_stored(
    upload: AbstractChunkedUpload, start: int, chunk_checksum: tuple[str, str] | None
) -> None:
    stored = (upload.chunk_checksums or {}).get(str(start))
    if chunk_checksum is None or stored is None:
        return
    algorithm, _, digest = stored.partition(":")
    if algorithm == chunk_checksum[0] and digest != chunk_checksum[1]:
        raise exceptions.ChunkChecksumMismatch(
            "A chunk with another chunkChecksum is stored for this range already; it was kept."
        )


def _record(
    user: Any,
    upload_id: object,
    byte_range: ContentRange,
    incoming: Incoming,
    piece: Any,
    store: ChunkStore,
    alias: str,
) -> tuple[AbstractChunkedUpload, bool, bool]:
    """Record the stored range on the row: (the upload, whether it was recorded, whether this
    request took the hashing lease)."""
    start, end = byte_range.start, byte_range.end
    with transaction.atomic(using=alias):
        upload = lock_visible(user, upload_id)
        check_open(upload)
        if ranges.overlaps(upload.stored_ranges, start, end):
            _compare_with_stored(upload, start, incoming.chunk_checksum)
            return upload, False, False
        took_lease = _apply(upload, byte_range, incoming, piece, store, alias)
    return upload, True, took_lease


def _apply(
    upload: AbstractChunkedUpload,
    byte_range: ContentRange,
    incoming: Incoming,
    piece: Any,
    store: ChunkStore,
    alias: str,
) -> bool:
    """Under the row lock: record the stored range, advance the offset (and the hash when the
    chunk was hashed at the prefix) and save; return whether this request took the lease."""
    start, end = byte_range.start, byte_range.end
    old_state = upload.store_state
    upload.store_state = store.record_range(old_state, start, byte_range.length, piece)
    upload.stored_ranges = ranges.add(upload.stored_ranges, start, end)
    upload.offset = ranges.prefix(upload.stored_ranges)
    if incoming.chunk_checksum is not None:
        algorithm, digest = incoming.chunk_checksum
        upload.chunk_checksums = {
            **(upload.chunk_checksums or {}),
            str(start): f"{algorithm}:{digest}",
        }
    if incoming.hasher is not None and upload.hashed_offset == start:
        upload.hash_state = incoming.hash_state()
        upload.hashed_offset = end + 1
    took_lease = prefix_hash.take_lease_if_needed(upload, store)
    upload.save(
        update_fields=[
            "store_state",
            "stored_ranges",
            "offset",
            "chunk_checksums",
            "hash_state",
            "hashed_offset",
            "hashing_until",
        ]
    )
    name, new_state = upload.file.name, upload.store_state
    transaction.on_commit(lambda: after_commit(store, name, old_state, new_state), alias)
    return took_lease

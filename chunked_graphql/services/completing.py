"""``complete_upload`` and ``upload_whole_file``: check the checksum, give the bytes their
complete name, mark the upload complete, run the completion hook and the signal.

The checks run in the order of the specification (docs/specification.md §3, ``completeUpload``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .. import exceptions
from ..hashing import checksums_match, digest_chunks
from ..models import AbstractChunkedUpload
from ..settings import upload_settings
from ..signals import upload_completed
from ..stores import ChunkStore, chunk_store
from ..stores.names import renamed, upload_name
from ..validators import validate_filename
from . import prefix_hash
from .common import (
    Chunk,
    Status,
    User,
    after_commit,
    check_completable,
    check_max_bytes,
    discard,
    discard_on_commit,
    new_upload,
    owner,
    resumed_hash,
    storage_errors,
    usable_source,
    write_db,
)
from .incoming import Incoming
from .visibility import get_visible_upload, lock_visible, visible_or_not_found


def complete_upload(
    *,
    user: User,
    upload_id: object,
    checksum: str | None,
    request: HttpRequest | None = None,
) -> AbstractChunkedUpload:
    """Verify the checksum of an upload whose bytes have all arrived, and mark it complete."""
    if not checksum:
        known = get_visible_upload(user, upload_id)
        algorithm = known.checksum_algorithm if known else upload_settings.CHECKSUM
        raise exceptions.MissingChecksum(algorithm)
    store = chunk_store()
    # The digest comes from the hash state saved with the last chunk, at no cost. Without one
    # (an algorithm without resumable state) the stored bytes are read back, before the row is
    # locked so that this does not hold the lock (on SQLite, the whole database's write lock)
    # for seconds. That is safe: once all declared bytes have arrived no chunk can change them,
    # since a chunk must start at the offset and end before TOTAL. Under the lock the state is
    # checked again, for a cancel or a completion that won meanwhile.
    upload = visible_or_not_found(user, upload_id)
    check_completable(upload)
    alias = write_db()
    digest: str | None = None
    if upload.parallel:
        # Chunks that arrived ahead of the hashed prefix and have not been hashed yet (or that
        # the store must still move into place) are done now, outside the row lock.
        prefix_hash.finish_hashing(upload, store, alias)
        upload = visible_or_not_found(user, upload_id)
        check_completable(upload)
        if not store.reads_settled_ranges and resumed_hash(upload) is None:
            # Hashed from the stored bytes, which must be read before they are settled.
            digest = stored_digest(store, upload)
            if not checksums_match(digest, checksum):
                raise exceptions.ChecksumMismatch()
            prefix_hash.finish_hashing(upload, store, alias, settle_all=True)
            upload = visible_or_not_found(user, upload_id)
    hashed_offset = upload.offset
    if digest is None:
        try:
            digest = stored_digest(store, upload)
        except exceptions.ChunkStorageError:
            digest = None  # perhaps cancelled meanwhile: decided under the lock
    with transaction.atomic(using=alias):
        upload = lock_visible(user, upload_id)
        check_completable(upload)
        if digest is None or upload.offset != hashed_offset:
            digest = stored_digest(store, upload)
        if not checksums_match(digest, checksum):
            raise exceptions.ChecksumMismatch()
        _mark_complete(upload, store, request, alias)
    return upload


def upload_whole_file(
    *,
    user: User,
    file: Chunk,
    filename: str | None,
    checksum: str | None,
    request: HttpRequest | None = None,
) -> AbstractChunkedUpload:
    """Create and complete an upload from one request. On any error nothing is stored."""
    source = usable_source(file)
    filename = validate_filename(filename)
    upload_owner = owner(user)
    max_bytes: int | None = upload_settings.MAX_BYTES
    if source.known_size is not None:
        check_max_bytes(source.known_size)
    algorithm: str = upload_settings.CHECKSUM
    if not checksum:
        # A streamed file's size is known only once read, and MaxBytesExceeded comes first.
        check_max_bytes(source.drain())
        raise exceptions.MissingChecksum(algorithm)
    upload = new_upload(upload_owner, filename, total_size=source.known_size or 0)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.INCOMPLETE_EXT)
    store = chunk_store()
    hasher = hashlib.new(algorithm)
    limit = max_bytes if max_bytes is not None else 2**63 - 1
    counted = Incoming(source, limit, None)

    def hashed() -> Iterator[bytes]:
        for block in counted.blocks():
            hasher.update(block)
            yield block

    state = None
    try:
        with storage_errors("storing the file"):
            state = store.write(upload.file.name, 0, hashed(), None)
        if counted.overflowed:
            check_max_bytes(source.drain())
        if not checksums_match(hasher.hexdigest(), checksum):
            raise exceptions.ChecksumMismatch()
        upload.offset = upload.total_size = counted.received
        upload.store_state = state
        alias = write_db()
        with transaction.atomic(using=alias):
            upload.save(force_insert=True)
            _mark_complete(upload, store, request, alias)
    except BaseException:
        # Before the commit: whatever completion stored under its complete name was removed
        # by _mark_complete; the incomplete name's bytes go here.
        discard(store, upload.file.name if upload.status != Status.COMPLETE else "", state)
        raise
    return upload


def stored_digest(store: ChunkStore, upload: AbstractChunkedUpload) -> str:
    """The digest of the ``offset`` bytes the upload vouches for: from the saved hash state, or
    else by reading them back."""
    resumed = resumed_hash(upload)
    if resumed is not None:
        return resumed.hexdigest()
    with storage_errors("reading the upload back"):
        blocks = store.read(upload.file.name, upload.offset, upload.store_state)
        return digest_chunks(blocks, upload.checksum_algorithm)


def _mark_complete(
    upload: AbstractChunkedUpload, store: ChunkStore, request: HttpRequest | None, alias: str
) -> None:
    """Give the bytes their COMPLETE_EXT name, mark the upload complete, run the hook and the
    signal. Call inside the upload's transaction: if the hook or a receiver raises, or anything
    rolls the transaction back later, the upload is as it was before."""
    incomplete_name = upload.file.name
    complete_name = renamed(incomplete_name, upload.id, upload_settings.COMPLETE_EXT)
    state = upload.store_state
    moved = complete_name != incomplete_name or state is not None
    if moved:
        # Copied (a hard link on a local disk, a server-side copy on object storage), not
        # renamed: the incomplete name must still hold the bytes if the transaction rolls back,
        # and it is removed only after the commit.
        with storage_errors("completing the upload"):
            store.copy(incomplete_name, complete_name, upload.offset, state)
        upload.file.name = complete_name
    try:
        upload.status = Status.COMPLETE
        upload.completed_at = timezone.now()
        upload.store_state = None
        upload.response_data = _run_completion_hook(upload, request)
        upload.save(
            update_fields=["file", "status", "completed_at", "response_data", "store_state"]
        )
        upload_completed.send(sender=type(upload), upload=upload, request=request)
    except BaseException:
        if moved:
            discard(store, complete_name)
            upload.file.name = incomplete_name
        upload.status, upload.completed_at, upload.response_data = Status.UPLOADING, None, None
        upload.store_state = state
        raise
    if moved and complete_name != incomplete_name:
        discard_on_commit(store, incomplete_name, alias, state)
    elif moved:
        transaction.on_commit(lambda: after_commit(store, incomplete_name, state, None), alias)


def _run_completion_hook(upload: AbstractChunkedUpload, request: HttpRequest | None) -> Any:
    hook = upload_settings.completion_hook()
    if hook is None:
        return None
    result = hook(upload, request)
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"COMPLETION_HOOK must return JSON-serialisable data: {exc}") from exc
    return result

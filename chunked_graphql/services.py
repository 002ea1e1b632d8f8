"""The upload service: validate, lock, write, hash and complete, in plain Python.

Every function here either succeeds or raises a ``ChunkedUploadError`` subclass having changed
nothing. The checks run in the order CONTRACT.md §3 fixes, so the first failure wins.

Concurrency: every change to an existing upload runs in a transaction holding its row lock
(``select_for_update``; on SQLite, ``transaction_mode = "IMMEDIATE"`` serialises writers), and
bytes are written at the recorded offset rather than appended. Two requests racing on one upload
therefore never both write: the second sees the first's offset and gets ``OffsetMismatch``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from . import exceptions
from .hashing import ResumableHash, checksums_match, digest_chunks, resume_hash
from .models import AbstractChunkedUpload, get_upload_model
from .settings import upload_settings
from .signals import upload_completed
from .sources import BLOCK_SIZE, ChunkReadError, ChunkSource, as_source
from .storage import ChunkStore, chunk_store, read_blocks, renamed, upload_name
from .validators import ContentRange, parse_content_range, parse_upload_id, validate_filename

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    User = AbstractBaseUser | AnonymousUser | None
else:
    User = Any

logger = logging.getLogger(__name__)

Status = AbstractChunkedUpload.Status


# Visibility ------------------------------------------------------------------------------------


def visible_uploads(user: User) -> QuerySet[AbstractChunkedUpload]:
    """The uploads ``user`` may see: their own with ``USER_RESTRICTED``, otherwise all."""
    queryset = get_upload_model()._default_manager.all()
    if not upload_settings.USER_RESTRICTED:
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    owner: Any = user
    return queryset.filter(user=owner)


def get_visible_upload(user: User, upload_id: object) -> AbstractChunkedUpload | None:
    """The upload ``upload_id`` names if ``user`` may see it; ``None`` otherwise."""
    return _visible_by_id(user, upload_id).first()


def _visible_by_id(user: User, upload_id: object) -> QuerySet[AbstractChunkedUpload]:
    pk = parse_upload_id(upload_id)
    uploads = visible_uploads(user)
    return uploads.none() if pk is None else uploads.filter(pk=pk)


# Uploading chunks ------------------------------------------------------------------------------


def upload_chunk(
    *,
    user: User,
    chunk: object,
    content_range: str | None,
    upload_id: object = None,
    filename: str | None = None,
) -> AbstractChunkedUpload:
    """Store one chunk: of the upload ``upload_id`` names, or of a new upload when it is None."""
    source = _usable_source(chunk)
    if not content_range:
        raise exceptions.MissingContentRange()
    byte_range = parse_content_range(content_range)
    _check_max_bytes(byte_range.total)
    _check_chunk_size(byte_range.length)
    if source.size is not None and source.size != byte_range.length:
        raise _length_mismatch(source.size, byte_range)
    if upload_id is not None:
        return _append_chunk(user, upload_id, source, byte_range)
    return _create_upload(user, source, byte_range, filename)


def _append_chunk(
    user: User, upload_id: object, source: ChunkSource, byte_range: ContentRange
) -> AbstractChunkedUpload:
    store = chunk_store()
    alias = _write_db()
    # Checked before a byte is read, so a refused chunk is never stored. The chunk's length is
    # compared first all the same (CONTRACT §3 orders it before these checks): _refuse reads the
    # rest of the chunk to count it.
    upload = _refuse_unless_continuable(_visible_by_id(user, upload_id).first(), byte_range, source)
    if store.streams and not _in_outer_transaction(alias):
        # The bytes go from the request to the store as they arrive, under the store's writer
        # lock rather than the row lock: a slow client then blocks nobody else's writes (on
        # SQLite the row lock would be the whole database's write lock).
        with _storage_errors("storing the chunk"), store.writer_lock(upload.file.name):
            # Another request may have written, completed or cancelled the upload meanwhile.
            upload = _refuse_unless_continuable(
                _visible_by_id(user, upload_id).first(), byte_range, source
            )
            incoming = _Incoming(source, byte_range.length, _resume_hash(upload))
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
    incoming = _Incoming(source, byte_range.length, _resume_hash(upload))
    with _received(incoming) as received, transaction.atomic(using=alias):
        upload = _lock_visible(user, upload_id)
        _check_continuable(upload, byte_range)
        with _storage_errors("storing the chunk"):
            state = store.write(
                upload.file.name,
                byte_range.start,
                read_blocks(received, byte_range.length),
                upload.store_state,
            )
        _advance(upload, byte_range, incoming, store, state, alias)
    return upload


def _commit_chunk(
    user: User,
    upload_id: object,
    byte_range: ContentRange,
    incoming: _Incoming,
    store: ChunkStore,
    state: Any,
    alias: str,
) -> AbstractChunkedUpload:
    """Save the offset (and hash and store state) that the bytes just written vouch for."""
    with transaction.atomic(using=alias):
        upload = _lock_visible(user, upload_id)
        _check_continuable(upload, byte_range)
        _advance(upload, byte_range, incoming, store, state, alias)
    return upload


def _advance(
    upload: AbstractChunkedUpload,
    byte_range: ContentRange,
    incoming: _Incoming,
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
    transaction.on_commit(lambda: _after_commit(store, name, old_state, state), using=alias)


def _create_upload(
    user: User, source: ChunkSource, byte_range: ContentRange, filename: str | None
) -> AbstractChunkedUpload:
    with _length_checked_first(source, byte_range):
        filename = validate_filename(filename)
        owner = _owner(user)
        if byte_range.start != 0:
            raise exceptions.OffsetMismatch(0, byte_range.start)
    upload = _new_upload(owner, filename, total_size=byte_range.total)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.INCOMPLETE_EXT)
    store = chunk_store()
    incoming = _Incoming(source, byte_range.length, _resume_hash(upload))
    # Nobody else knows the new id yet, so no lock is needed; the row is saved only once its
    # bytes are stored, and the bytes are removed again if the row cannot be saved.
    state = None
    try:
        with _storage_errors("storing the chunk"):
            state = store.write(upload.file.name, 0, incoming.blocks(), None)
        incoming.check_length()
        upload.offset = byte_range.end + 1
        upload.hash_state = incoming.hash_state()
        upload.store_state = state
        upload.save(force_insert=True)
    except BaseException:
        _discard(store, upload.file.name, state)
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
    """Checks that CONTRACT §3 orders after the chunk's length, made before the chunk is read:
    a refusal reads (and drops) the rest of the chunk to count it, and a wrong length wins."""
    try:
        yield
    except exceptions.ChunkedUploadError:
        size = source.drain()
        if size != byte_range.length:
            raise _length_mismatch(size, byte_range) from None
        raise


def _check_continuable(upload: AbstractChunkedUpload, byte_range: ContentRange) -> None:
    _check_open(upload)
    if upload.total_size is not None and byte_range.total != upload.total_size:
        raise exceptions.InvalidContentRange(
            f"TOTAL ({byte_range.total}) differs from the size this upload declared "
            f"({upload.total_size})."
        )
    if byte_range.start != upload.offset:
        raise exceptions.OffsetMismatch(upload.offset, byte_range.start)


def _length_mismatch(size: int, byte_range: ContentRange) -> exceptions.InvalidContentRange:
    return exceptions.InvalidContentRange(
        f"File size doesn't match contentRange: the chunk is {size} bytes, "
        f"contentRange declares {byte_range.length}."
    )


class _Incoming:
    """A chunk's bytes on their way to the store: counted against the declared length and
    hashed, in the same pass."""

    def __init__(self, source: ChunkSource, length: int, hasher: ResumableHash | None) -> None:
        self.source = source
        self.length = length
        self.hasher = hasher
        self.received = 0
        self.overflowed = False

    def blocks(self) -> Iterator[bytes]:
        for block in self.source.blocks():
            if self.received + len(block) > self.length:
                # Too long: stop before storing a byte past the declared length.
                self.overflowed = True
                return
            self.received += len(block)
            if self.hasher is not None:
                self.hasher.update(block)
            yield block

    def check_length(self) -> None:
        if self.overflowed or self.received != self.length:
            size = self.source.drain()
            raise exceptions.InvalidContentRange(
                f"File size doesn't match contentRange: the chunk is {size} bytes, "
                f"contentRange declares {self.length}."
            )

    def hash_state(self) -> bytes | None:
        return None if self.hasher is None else self.hasher.state()


@contextlib.contextmanager
def _received(incoming: _Incoming) -> Iterator[IO[bytes]]:
    """The whole chunk, received into a temporary file (kept in memory while small)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * BLOCK_SIZE) as spool:
        for block in incoming.blocks():
            spool.write(block)
        incoming.check_length()
        spool.seek(0)
        yield spool


def _resume_hash(upload: AbstractChunkedUpload) -> ResumableHash | None:
    return resume_hash(upload.checksum_algorithm, upload.hash_state, upload.offset)


def _in_outer_transaction(alias: str) -> bool:
    """Whether the caller runs us inside a transaction of its own. (Test cases wrap each test
    in one that is never committed; it does not count, as for Django's durable blocks.)"""
    connection = transaction.get_connection(alias)
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


# Completing ------------------------------------------------------------------------------------


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
    upload = _visible_or_not_found(user, upload_id)
    _check_completable(upload)
    hashed_offset = upload.offset
    try:
        digest: str | None = _stored_digest(store, upload)
    except exceptions.ChunkStorageError:
        digest = None  # perhaps cancelled meanwhile: decided under the lock
    alias = _write_db()
    with transaction.atomic(using=alias):
        upload = _lock_visible(user, upload_id)
        _check_completable(upload)
        if digest is None or upload.offset != hashed_offset:
            digest = _stored_digest(store, upload)
        if not checksums_match(digest, checksum):
            raise exceptions.ChecksumMismatch()
        _mark_complete(upload, store, request, alias)
    return upload


def upload_whole_file(
    *,
    user: User,
    file: object,
    filename: str | None,
    checksum: str | None,
    request: HttpRequest | None = None,
) -> AbstractChunkedUpload:
    """Create and complete an upload from one request. On any error nothing is stored."""
    source = _usable_source(file)
    filename = validate_filename(filename)
    owner = _owner(user)
    max_bytes: int | None = upload_settings.MAX_BYTES
    if source.size is not None:
        _check_max_bytes(source.size)
    algorithm: str = upload_settings.CHECKSUM
    if not checksum:
        # A streamed file's size is known only once read, and MaxBytesExceeded comes first.
        _check_max_bytes(source.drain())
        raise exceptions.MissingChecksum(algorithm)
    upload = _new_upload(owner, filename, total_size=source.size or 0)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.INCOMPLETE_EXT)
    store = chunk_store()
    hasher = hashlib.new(algorithm)
    limit = max_bytes if max_bytes is not None else 2**63 - 1
    counted = _Incoming(source, limit, None)

    def hashed() -> Iterator[bytes]:
        for block in counted.blocks():
            hasher.update(block)
            yield block

    state = None
    try:
        with _storage_errors("storing the file"):
            state = store.write(upload.file.name, 0, hashed(), None)
        if counted.overflowed:
            _check_max_bytes(source.drain())
        if not checksums_match(hasher.hexdigest(), checksum):
            raise exceptions.ChecksumMismatch()
        upload.offset = upload.total_size = counted.received
        upload.store_state = state
        alias = _write_db()
        with transaction.atomic(using=alias):
            upload.save(force_insert=True)
            _mark_complete(upload, store, request, alias)
    except BaseException:
        # Before the commit: whatever completion stored under its complete name was removed
        # by _mark_complete; the incomplete name's bytes go here.
        _discard(store, upload.file.name if upload.status != Status.COMPLETE else "", state)
        raise
    return upload


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
        with _storage_errors("completing the upload"):
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
            _discard(store, complete_name)
            upload.file.name = incomplete_name
        upload.status, upload.completed_at, upload.response_data = Status.UPLOADING, None, None
        upload.store_state = state
        raise
    if moved and complete_name != incomplete_name:
        _discard_on_commit(store, incomplete_name, alias, state)
    elif moved:
        transaction.on_commit(lambda: _after_commit(store, incomplete_name, state, None), alias)


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


# Cancelling and expiry -------------------------------------------------------------------------


def cancel_upload(*, user: User, upload_id: object) -> uuid.UUID:
    """Delete an incomplete upload, expired or not, with its bytes; return its id."""
    store = chunk_store()
    alias = _write_db()
    # A chunk being streamed holds the store's writer lock until its offset is committed or it
    # failed. Taken here too, it lets such a chunk finish before the bytes go, rather than have
    # it write into (or create again) a file that is being deleted.
    known = get_visible_upload(user, upload_id) if store.streams else None
    with contextlib.ExitStack() as writing:
        if known is not None and known.file.name:
            with _storage_errors("waiting for a chunk being written"):
                writing.enter_context(store.writer_lock(known.file.name))
        return _delete_incomplete(store, alias, user, upload_id)


def _delete_incomplete(store: ChunkStore, alias: str, user: User, upload_id: object) -> uuid.UUID:
    with transaction.atomic(using=alias):
        upload = _lock_visible(user, upload_id)
        if upload.status == Status.COMPLETE:
            raise exceptions.UploadAlreadyComplete()
        pk, name, state = upload.pk, upload.file.name, upload.store_state
        upload.delete()
        # Bytes go only once the row is gone for good: a rollback must not leave a row whose
        # offset vouches for bytes that were deleted.
        _discard_on_commit(store, name, alias, state)
    return pk


def delete_expired_uploads(
    *,
    keep_record: bool = False,
    queryset: QuerySet[AbstractChunkedUpload] | None = None,
) -> int:
    """Remove expired incomplete uploads (rows and bytes, or only the bytes with
    ``keep_record``); completed uploads are never touched. Return how many were cleaned.

    ``queryset`` narrows the candidates (the admin action passes the selected rows); whatever
    it holds, only the expired incomplete uploads among them are cleaned.
    """
    model = get_upload_model()
    expiration_delta = upload_settings.EXPIRATION_DELTA
    cutoff = timezone.now() - expiration_delta
    if queryset is None:
        queryset = model._default_manager.all()
    candidates = queryset.filter(status=Status.UPLOADING, created_at__lte=cutoff)
    store = chunk_store()
    alias = _write_db()
    cleaned = 0
    # Materialised first: each row is then re-read under its lock, in its own transaction.
    for pk in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic(using=alias):
            upload = (
                model._default_manager.select_for_update()
                .filter(pk=pk, status=Status.UPLOADING, created_at__lte=cutoff)
                .first()
            )
            if upload is None or (keep_record and not upload.file.name):
                continue
            # Bytes first: an expired upload can never continue, so a row left naming deleted
            # bytes is harmless (the next run removes it), while bytes left without a row would
            # never be found again.
            try:
                store.delete(upload.file.name, upload.store_state)
            except Exception:
                logger.exception("Could not delete the bytes of expired upload %s", upload.pk)
                continue
            if keep_record:
                upload.file.name = ""
                upload.store_state = None
                upload.save(update_fields=["file", "store_state"])
            else:
                upload.delete()
        cleaned += 1
    return cleaned


def delete_uploads(queryset: QuerySet[AbstractChunkedUpload]) -> int:
    """Delete the given rows, as the admin's delete does, without leaving bytes nobody can find:
    the bytes (or object-storage parts) of the incomplete ones go once the rows are gone for
    good. A completed upload's file is the project's from then on and stays. Return the number
    of rows deleted."""
    model = get_upload_model()
    store = chunk_store()
    alias = _write_db()
    pks = list(queryset.values_list("pk", flat=True))
    with transaction.atomic(using=alias):
        # Locked by primary key alone: FOR UPDATE refuses the outer joins a changelist adds.
        rows = list(model._default_manager.select_for_update().filter(pk__in=pks))
        for upload in rows:
            if upload.status != Status.COMPLETE:
                _discard_on_commit(store, upload.file.name, alias, upload.store_state)
            upload.delete()
    return len(rows)


# Helpers ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """Turn a storage failure into a ``ChunkStorageError`` with a message fit for the client;
    the details, storage paths included, go to the log."""
    try:
        yield
    except (exceptions.ChunkedUploadError, ChunkReadError):
        raise
    except Exception as exc:
        logger.exception("The storage failed while %s", action)
        raise exceptions.ChunkStorageError(
            f"The storage failed while {action}. The upload is unchanged: ask for its offset "
            "and try again."
        ) from exc


def _stored_digest(store: ChunkStore, upload: AbstractChunkedUpload) -> str:
    """The digest of the ``offset`` bytes the upload vouches for: from the saved hash state, or
    else by reading them back."""
    resumed = _resume_hash(upload)
    if resumed is not None:
        return resumed.hexdigest()
    with _storage_errors("reading the upload back"):
        blocks = store.read(upload.file.name, upload.offset, upload.store_state)
        return digest_chunks(blocks, upload.checksum_algorithm)


def _discard_on_commit(store: ChunkStore, name: str, alias: str, state: Any = None) -> None:
    transaction.on_commit(lambda: _discard(store, name, state), using=alias)


def _discard(store: ChunkStore, name: str, state: Any = None) -> None:
    """Remove the bytes of an upload that was never saved, without hiding why it was not."""
    if not name and state is None:
        return
    try:
        store.delete(name, state)
    except Exception:
        logger.warning("Could not delete %r after a failed upload", name, exc_info=True)


def _after_commit(store: ChunkStore, name: str, old_state: Any, new_state: Any) -> None:
    # The new state is committed already; failing to tidy up what only the old one needed
    # must not fail the request.
    try:
        store.committed(name, old_state, new_state)
    except Exception:
        logger.warning("Could not tidy up after a write to %r", name, exc_info=True)


def _write_db() -> str:
    return router.db_for_write(get_upload_model())


def _usable_source(value: object) -> ChunkSource:
    source = as_source(value)
    if source is None or source.is_empty():
        raise exceptions.MissingChunk()
    return source


def _check_max_bytes(size: int) -> None:
    max_bytes = upload_settings.MAX_BYTES
    if max_bytes is not None and size > max_bytes:
        raise exceptions.MaxBytesExceeded(max_bytes)


def _check_chunk_size(length: int) -> None:
    max_chunk_size: int = upload_settings.MAX_CHUNK_SIZE
    if length > max_chunk_size:
        raise exceptions.ChunkTooLarge(max_chunk_size, length)


def _owner(user: User) -> Any:
    authenticated = user is not None and user.is_authenticated
    if upload_settings.USER_RESTRICTED and not authenticated:
        raise exceptions.AuthenticationRequired()
    return user if authenticated else None


def _new_upload(owner: Any, filename: str, *, total_size: int) -> AbstractChunkedUpload:
    return get_upload_model()(
        id=uuid.uuid4(),
        filename=filename,
        user=owner,
        total_size=total_size,
        created_at=timezone.now(),
        checksum_algorithm=upload_settings.CHECKSUM,
    )


def _visible_or_not_found(user: User, upload_id: object) -> AbstractChunkedUpload:
    upload = get_visible_upload(user, upload_id)
    if upload is None:
        raise exceptions.UploadNotFound()
    return upload


def _lock_visible(user: User, upload_id: object) -> AbstractChunkedUpload:
    upload = _visible_by_id(user, upload_id).select_for_update().first()
    if upload is None:
        raise exceptions.UploadNotFound()
    return upload


def _check_open(upload: AbstractChunkedUpload) -> None:
    if upload.expired:
        raise exceptions.UploadExpired()
    if upload.status == Status.COMPLETE:
        raise exceptions.UploadAlreadyComplete()


def _check_completable(upload: AbstractChunkedUpload) -> None:
    _check_open(upload)
    if upload.total_size is not None and upload.offset != upload.total_size:
        raise exceptions.UploadIncomplete(upload.offset, upload.total_size)

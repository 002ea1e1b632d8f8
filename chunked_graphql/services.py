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
import json
import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from . import exceptions
from .hashing import checksums_match, digest_chunks
from .models import AbstractChunkedUpload, get_upload_model
from .settings import upload_settings
from .signals import upload_completed
from .storage import BLOCK_SIZE, ChunkStore, chunk_store, read_blocks, renamed, upload_name
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
    file = _usable_file(chunk)
    if not content_range:
        raise exceptions.MissingContentRange()
    byte_range = parse_content_range(content_range)
    _check_max_bytes(byte_range.total)
    if file.size != byte_range.length:
        raise exceptions.InvalidContentRange(
            f"File size doesn't match contentRange: the chunk is {file.size} bytes, "
            f"contentRange declares {byte_range.length}."
        )
    if upload_id is not None:
        return _append_chunk(user, upload_id, file, byte_range)
    return _create_upload(user, file, byte_range, filename)


def _append_chunk(
    user: User, upload_id: object, file: File, byte_range: ContentRange
) -> AbstractChunkedUpload:
    store = chunk_store()
    with transaction.atomic(using=_write_db()):
        upload = _lock_visible(user, upload_id)
        _check_open(upload)
        if upload.total_size is not None and byte_range.total != upload.total_size:
            raise exceptions.InvalidContentRange(
                f"TOTAL ({byte_range.total}) differs from the size this upload declared "
                f"({upload.total_size})."
            )
        if byte_range.start != upload.offset:
            raise exceptions.OffsetMismatch(upload.offset, byte_range.start)
        # A failed write raises and rolls the transaction back: the offset stays at its last
        # good value, and whatever was half-written beyond it is overwritten by the next chunk.
        _write(store, upload.file.name, byte_range.start, file)
        upload.offset = byte_range.end + 1
        upload.save(update_fields=["offset"])
    return upload


def _create_upload(
    user: User, file: File, byte_range: ContentRange, filename: str | None
) -> AbstractChunkedUpload:
    filename = validate_filename(filename)
    owner = _owner(user)
    if byte_range.start != 0:
        raise exceptions.OffsetMismatch(0, byte_range.start)
    upload = _new_upload(owner, filename, total_size=byte_range.total)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.INCOMPLETE_EXT)
    store = chunk_store()
    # Nobody else knows the new id yet, so no lock is needed; the row is saved only once its
    # bytes are stored, and the bytes are removed again if the row cannot be saved.
    try:
        _write(store, upload.file.name, 0, file)
        upload.offset = byte_range.end + 1
        upload.save(force_insert=True)
    except BaseException:
        _discard(store, upload.file.name)
        raise
    return upload


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
    # Hashed before the row is locked, so that reading every stored byte does not hold the lock
    # (on SQLite, the whole database's write lock) for seconds. That is safe: once all declared
    # bytes have arrived no chunk can change them, since a chunk must start at the offset and end
    # before TOTAL. Under the lock the state is checked again, for a cancel or a completion that
    # won meanwhile, and the hash is redone only if the offset moved (uploads without a TOTAL).
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
    usable = _usable_file(file)
    filename = validate_filename(filename)
    owner = _owner(user)
    _check_max_bytes(usable.size)
    algorithm: str = upload_settings.CHECKSUM
    if not checksum:
        raise exceptions.MissingChecksum(algorithm)
    if not checksums_match(digest_chunks(usable.chunks(BLOCK_SIZE), algorithm), checksum):
        raise exceptions.ChecksumMismatch()
    upload = _new_upload(owner, filename, total_size=usable.size)
    upload.file.name = upload_name(upload.id, upload.created_at, upload_settings.COMPLETE_EXT)
    store = chunk_store()
    try:
        _write(store, upload.file.name, 0, usable)
        upload.offset = usable.size
        alias = _write_db()
        with transaction.atomic(using=alias):
            upload.save(force_insert=True)
            _mark_complete(upload, store, request, alias)
    except BaseException:
        _discard(store, upload.file.name)
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
    moved = complete_name != incomplete_name
    if moved:
        # Copied (a hard link on a local disk), not renamed: the incomplete name must still hold
        # the bytes if the transaction rolls back, and it is removed only after the commit.
        with _storage_errors("completing the upload"):
            store.copy(incomplete_name, complete_name)
        upload.file.name = complete_name
    try:
        upload.status = Status.COMPLETE
        upload.completed_at = timezone.now()
        upload.response_data = _run_completion_hook(upload, request)
        upload.save(update_fields=["file", "status", "completed_at", "response_data"])
        upload_completed.send(sender=type(upload), upload=upload, request=request)
    except BaseException:
        if moved:
            _discard(store, complete_name)
            upload.file.name = incomplete_name
        upload.status, upload.completed_at, upload.response_data = Status.UPLOADING, None, None
        raise
    if moved:
        _discard_on_commit(store, incomplete_name, alias)


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
    with transaction.atomic(using=alias):
        upload = _lock_visible(user, upload_id)
        if upload.status == Status.COMPLETE:
            raise exceptions.UploadAlreadyComplete()
        pk, name = upload.pk, upload.file.name
        upload.delete()
        # Bytes go only once the row is gone for good: a rollback must not leave a row whose
        # offset vouches for bytes that were deleted.
        _discard_on_commit(store, name, alias)
    return pk


def delete_expired_uploads(*, keep_record: bool = False) -> int:
    """Remove expired incomplete uploads (rows and bytes, or only the bytes with
    ``keep_record``); completed uploads are never touched. Return how many were cleaned."""
    model = get_upload_model()
    expiration_delta = upload_settings.EXPIRATION_DELTA
    cutoff = timezone.now() - expiration_delta
    candidates = model._default_manager.filter(status=Status.UPLOADING, created_at__lte=cutoff)
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
                store.delete(upload.file.name)
            except Exception:
                logger.exception("Could not delete the bytes of expired upload %s", upload.pk)
                continue
            if keep_record:
                upload.file.name = ""
                upload.save(update_fields=["file"])
            else:
                upload.delete()
        cleaned += 1
    return cleaned


# Helpers ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """Turn a storage failure into a ``ChunkStorageError`` with a message fit for the client;
    the details, storage paths included, go to the log."""
    try:
        yield
    except exceptions.ChunkedUploadError:
        raise
    except Exception as exc:
        logger.exception("The storage failed while %s", action)
        raise exceptions.ChunkStorageError(
            f"The storage failed while {action}. The upload is unchanged: ask for its offset "
            "and try again."
        ) from exc


def _write(store: ChunkStore, name: str, offset: int, file: File) -> None:
    with _storage_errors("storing the chunk"):
        store.write(name, offset, file.chunks(BLOCK_SIZE))


def _stored_digest(store: ChunkStore, upload: AbstractChunkedUpload) -> str:
    """The digest of the ``offset`` bytes the upload vouches for."""
    with _storage_errors("reading the upload back"), store.open(upload.file.name) as stored:
        return digest_chunks(read_blocks(stored, upload.offset), upload.checksum_algorithm)


def _discard_on_commit(store: ChunkStore, name: str, alias: str) -> None:
    transaction.on_commit(lambda: _discard(store, name), using=alias)


def _discard(store: ChunkStore, name: str) -> None:
    """Remove the bytes of an upload that was never saved, without hiding why it was not."""
    try:
        store.delete(name)
    except Exception:
        logger.warning("Could not delete %r after a failed upload", name, exc_info=True)


def _write_db() -> str:
    return router.db_for_write(get_upload_model())


def _usable_file(value: object) -> File:
    if not isinstance(value, File) or not value.size:
        raise exceptions.MissingChunk()
    return value


def _check_max_bytes(size: int) -> None:
    max_bytes = upload_settings.MAX_BYTES
    if max_bytes is not None and size > max_bytes:
        raise exceptions.MaxBytesExceeded(max_bytes)


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

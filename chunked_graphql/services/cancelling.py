"""Cancelling and expiry: ``cancel_upload``, ``delete_expired_uploads`` (the management command
and the admin action) and ``delete_uploads`` (the admin's delete). Bytes go only once their row is
gone for good, so no row ever vouches for bytes that were deleted."""

from __future__ import annotations

import contextlib
import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import exceptions
from ..models import AbstractChunkedUpload, get_upload_model
from ..settings import upload_settings
from ..stores import ChunkStore, chunk_store
from .common import Status, User, discard_on_commit, logger, storage_errors, write_db
from .visibility import get_visible_upload, lock_visible


def cancel_upload(*, user: User, upload_id: object) -> uuid.UUID:
    """Delete an incomplete upload, expired or not, with its bytes; return its id."""
    store = chunk_store()
    alias = write_db()
    # A chunk being streamed holds the store's lock on its bytes until its offset is committed
    # or it failed. Taken here on the whole file, it lets such a chunk finish before the bytes
    # go, rather than have it write into (or create again) a file that is being deleted.
    known = get_visible_upload(user, upload_id) if store.streams else None
    with contextlib.ExitStack() as writing:
        if known is not None and known.file.name:
            with storage_errors("waiting for a chunk being written"):
                writing.enter_context(store.lock(known.file.name))
        return _delete_incomplete(store, alias, user, upload_id)


def _delete_incomplete(store: ChunkStore, alias: str, user: User, upload_id: object) -> uuid.UUID:
    with transaction.atomic(using=alias):
        upload = lock_visible(user, upload_id)
        if upload.status == Status.COMPLETE:
            raise exceptions.UploadAlreadyComplete()
        pk, name, state = upload.pk, upload.file.name, upload.store_state
        upload.delete()
        # Bytes go only once the row is gone for good: a rollback must not leave a row whose
        # offset vouches for bytes that were deleted.
        discard_on_commit(store, name, alias, state)
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
    alias = write_db()
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
    alias = write_db()
    pks = list(queryset.values_list("pk", flat=True))
    with transaction.atomic(using=alias):
        # Locked by primary key alone: FOR UPDATE refuses the outer joins a changelist adds.
        rows = list(model._default_manager.select_for_update().filter(pk__in=pks))
        for upload in rows:
            if upload.status != Status.COMPLETE:
                discard_on_commit(store, upload.file.name, alias, upload.store_state)
            upload.delete()
    return len(rows)

"""The whole-file hash of a parallel upload, carried along its gap-free prefix
(``hashed_offset``), and the hashing lease (``hashing_until``).

Chunks that arrived ahead of the prefix wait, stored and readable, until the prefix reaches
them; then whichever request holds the lease reads each back once, outside the row lock, hashes
it, lets the store settle it (``ChunkStore.settle_range``) and commits the new hash state in a
short transaction. One request at a time holds the lease, renewed with every chunk; a request
that dies holds it no longer than ``LEASE``, and the next chunk or the completion takes over.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import exceptions
from ..hashing import ResumableHash, is_resumable, resume_hash
from ..models import AbstractChunkedUpload, get_upload_model
from ..stores import ChunkStore
from .common import after_commit, storage_errors

#: How long a request may hold the hashing lease without renewing it. Each chunk it hashes or
#: settles renews it, so this need only outlast one chunk's read and settle; a request that
#: died holds it up to this long, then another takes over.
LEASE = datetime.timedelta(seconds=10)
#: How long completion waits for another request's hashing to finish before UploadBusy: longer
#: than the lease, so a completion finds even a dead request's lease run out and finishes.
COMPLETION_WAIT = 12.0


def has_work(upload: AbstractChunkedUpload, store: ChunkStore, settle_all: bool = False) -> bool:
    return _next_step(upload, store, settle_all) is not None


def _next_step(
    upload: AbstractChunkedUpload, store: ChunkStore, settle_all: bool = False
) -> tuple[int, int, bool] | None:
    """The next chunk to process, as (start, size, whether to hash it), or None: the chunk at
    ``hashed_offset`` while the stored prefix goes further, else the first stored range the
    store still has to settle. ``settle_all``: settle even what must stay readable until
    completion has hashed it."""
    chunk_size, total = upload.chunk_size or 0, upload.total_size or 0
    hashed = upload.hashed_offset or 0
    resumable = is_resumable(upload.checksum_algorithm)
    if resumable and hashed < upload.offset:
        return hashed, min(chunk_size, total - hashed), True
    # Without a resumable algorithm completion reads the bytes back, so nothing waits for a
    # hash; but a store that cannot read a settled range back keeps them all until then.
    if resumable:
        limit = hashed
    elif settle_all or store.reads_settled_ranges:
        limit = upload.offset
    else:
        limit = 0
    unsettled = store.unsettled(upload.store_state, limit)
    if unsettled:
        return unsettled[0], min(chunk_size, total - unsettled[0]), False
    return None


def take_lease_if_needed(upload: AbstractChunkedUpload, store: ChunkStore) -> bool:
    """Under the row lock: take the hashing lease if there is work and nobody holds it."""
    now = timezone.now()
    if upload.hashing_until is not None and upload.hashing_until > now:
        return False
    if not has_work(upload, store):
        upload.hashing_until = None
        return False
    upload.hashing_until = now + LEASE
    return True


def advance(
    upload_pk: Any,
    store: ChunkStore,
    alias: str,
    lease: datetime.datetime | None,
    settle_all: bool = False,
) -> None:
    """Hash and settle stored ranges, one chunk at a time, while this request holds the lease
    ``lease``; it is released once nothing is left to do. Bytes are read outside the row lock,
    and each chunk's result is committed in a short transaction of its own."""
    model = get_upload_model()
    while lease is not None:
        upload = model._default_manager.filter(pk=upload_pk).first()
        if upload is None or upload.hashing_until != lease:
            return  # cancelled, or the lease expired and was taken over
        step = _next_step(upload, store, settle_all)
        hasher: ResumableHash | None = None
        settled: Any = None
        if step is not None:
            start, size, hash_it = step
            name, state = upload.file.name, upload.store_state
            piece = store.piece(state, start)
            try:
                if hash_it:
                    hasher = resume_hash(upload.checksum_algorithm, upload.hash_state, start)
                    assert hasher is not None
                    for block in store.read_range(name, start, size, state, piece):
                        hasher.update(block)
                settled = store.settle_range(name, start, size, state, piece)
            except Exception:
                # Cancelled meanwhile (its bytes went with it), or the lease taken over: nothing
                # is left for this request to do, and nothing worth logging.
                current = model._default_manager.filter(pk=upload_pk).first()
                if current is None or current.hashing_until != lease:
                    return
                with storage_errors("hashing a chunk that arrived ahead"):
                    raise
        lease = _commit_step(upload_pk, store, alias, lease, step, hasher, settled, settle_all)


def _commit_step(
    upload_pk: Any,
    store: ChunkStore,
    alias: str,
    lease: datetime.datetime,
    step: tuple[int, int, bool] | None,
    hasher: ResumableHash | None,
    settled: Any,
    settle_all: bool,
) -> datetime.datetime | None:
    """Record one processed chunk; renew the lease if there is more to do, else release it.
    Return the lease still held, or None."""
    model = get_upload_model()
    with transaction.atomic(using=alias):
        upload = model._default_manager.select_for_update().filter(pk=upload_pk).first()
        if upload is None or upload.hashing_until != lease:
            return None
        old_state = upload.store_state
        if step is not None:
            start, size, _ = step
            if hasher is not None:
                upload.hash_state = hasher.state()
                upload.hashed_offset = start + size
            upload.store_state = store.record_range(old_state, start, size, settled)
        held: datetime.datetime | None = None
        if has_work(upload, store, settle_all):
            held = upload.hashing_until = timezone.now() + LEASE
        else:
            upload.hashing_until = None
        upload.save(update_fields=["hash_state", "hashed_offset", "store_state", "hashing_until"])
        name, new_state = upload.file.name, upload.store_state
        transaction.on_commit(lambda: after_commit(store, name, old_state, new_state), alias)
    return held


def finish_hashing(
    upload: AbstractChunkedUpload, store: ChunkStore, alias: str, settle_all: bool = False
) -> None:
    """Before completion: hash and settle whatever is left (with ``settle_all``, also what had
    to stay readable for completion's own hashing), waiting for another request that is doing
    so; ``UploadBusy`` if it takes longer than ``COMPLETION_WAIT``."""
    if not has_work(upload, store, settle_all):
        return
    model = get_upload_model()
    deadline = time.monotonic() + COMPLETION_WAIT
    while True:
        now = timezone.now()
        lease = now + LEASE
        taken = (
            model._default_manager.filter(pk=upload.pk)
            .filter(Q(hashing_until__isnull=True) | Q(hashing_until__lte=now))
            .update(hashing_until=lease)
        )
        if taken:
            advance(upload.pk, store, alias, lease, settle_all)
        current = model._default_manager.filter(pk=upload.pk).first()
        if current is None or not has_work(current, store, settle_all):
            return
        if time.monotonic() > deadline:
            raise exceptions.UploadBusy(
                "Chunks of this upload are still being hashed; complete it again shortly."
            )
        time.sleep(0.05)

"""What the use cases of the service share: the checks every upload passes, new rows, and the
wrapping of storage failures into an error fit for a client."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import router, transaction
from django.utils import timezone

from .. import exceptions
from ..hashing import ResumableHash, resume_hash
from ..models import AbstractChunkedUpload, get_upload_model
from ..settings import upload_settings
from ..sources import ChunkSource, as_source
from ..stores import ChunkStore

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    User = AbstractBaseUser | AnonymousUser | None
else:
    User = Any

#: What the service accepts as a chunk: what the app's ``Upload`` scalar passes on, any Django
#: file from a project's own code, or whatever a project's scalar of the same name passes on
#: (graphene keeps the first registered); anything that is not a file is a missing chunk.
Chunk = ChunkSource | File | None

logger = logging.getLogger("chunked_graphql.services")

Status = AbstractChunkedUpload.Status


# Checks ----------------------------------------------------------------------------------------


def usable_source(chunk: Chunk) -> ChunkSource:
    source = as_source(chunk)
    if source is not None and not source.claim():
        raise exceptions.MissingChunk(
            "This file part already went to another upload operation of this request; "
            "each operation needs a file part of its own."
        )
    if source is None or source.is_empty():
        raise exceptions.MissingChunk()
    return source


def check_max_bytes(size: int) -> None:
    max_bytes = upload_settings.MAX_BYTES
    if max_bytes is not None and size > max_bytes:
        raise exceptions.MaxBytesExceeded(max_bytes)


def check_chunk_size(length: int) -> None:
    max_chunk_size: int = upload_settings.MAX_CHUNK_SIZE
    if length > max_chunk_size:
        raise exceptions.ChunkTooLarge(max_chunk_size, length)


def owner(user: User) -> Any:
    """Who owns a new upload; ``AuthenticationRequired`` for an anonymous caller when
    ``USER_RESTRICTED`` is on."""
    authenticated = user is not None and user.is_authenticated
    if upload_settings.USER_RESTRICTED and not authenticated:
        raise exceptions.AuthenticationRequired()
    return user if authenticated else None


def check_open(upload: AbstractChunkedUpload) -> None:
    if upload.expired:
        raise exceptions.UploadExpired()
    if upload.status == Status.COMPLETE:
        raise exceptions.UploadAlreadyComplete()


def check_completable(upload: AbstractChunkedUpload) -> None:
    check_open(upload)
    if upload.total_size is not None and upload.offset != upload.total_size:
        raise exceptions.UploadIncomplete(upload.offset, upload.total_size, upload.missing_ranges())


# Rows ------------------------------------------------------------------------------------------


def new_upload(owner: Any, filename: str, *, total_size: int) -> AbstractChunkedUpload:
    return get_upload_model()(
        id=uuid.uuid4(),
        filename=filename,
        user=owner,
        total_size=total_size,
        created_at=timezone.now(),
        checksum_algorithm=upload_settings.CHECKSUM,
    )


def resumed_hash(upload: AbstractChunkedUpload) -> ResumableHash | None:
    """The upload's hash of its stored bytes, continued from the state saved with them; None
    when it does not cover them all (a parallel upload whose chunks wait to be hashed)."""
    if upload.parallel and upload.hashed_offset != upload.offset:
        return None
    return resume_hash(upload.checksum_algorithm, upload.hash_state, upload.offset)


def write_db() -> str:
    return router.db_for_write(get_upload_model())


def in_outer_transaction(alias: str) -> bool:
    """Whether the caller runs us inside a transaction of its own. (Test cases wrap each test
    in one that is never committed; it does not count, as for Django's durable blocks.)"""
    connection = transaction.get_connection(alias)
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


# Storage ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Turn a storage failure into a ``ChunkStorageError`` with a message fit for the client;
    the details, storage paths included, go to the log."""
    try:
        yield
    except (exceptions.ChunkedUploadError, exceptions.ChunkReadError, exceptions.UploadBusy):
        raise
    except Exception as exc:
        logger.exception("The storage failed while %s", action)
        raise exceptions.ChunkStorageError(
            f"The storage failed while {action}. The upload is unchanged: ask for its offset "
            "(a parallel upload: its missingRanges) and try again."
        ) from exc


def discard_on_commit(store: ChunkStore, name: str, alias: str, state: Any = None) -> None:
    transaction.on_commit(lambda: discard(store, name, state), using=alias)


def discard(store: ChunkStore, name: str, state: Any = None) -> None:
    """Remove the bytes of an upload that was never saved, without hiding why it was not."""
    if not name and state is None:
        return
    try:
        store.delete(name, state)
    except Exception:
        logger.warning("Could not delete %r after a failed upload", name, exc_info=True)


def after_commit(store: ChunkStore, name: str, old_state: Any, new_state: Any) -> None:
    # The new state is committed already; failing to tidy up what only the old one needed
    # must not fail the request.
    try:
        store.committed(name, old_state, new_state)
    except Exception:
        logger.warning("Could not tidy up after a write to %r", name, exc_info=True)

"""Where upload bytes live.

Two layers, both built on Django's ``Storage`` API so any backend plugs in:

- ``ConfiguredStorage``: a ``Storage`` that forwards every call to the storage configured now
  (``STORAGE_CLASS``, or Django's default storage). The model's ``FileField`` uses it, so
  ``upload.file.open()`` and ``upload.file.url`` follow ``override_settings``.
- ``ChunkStore``: the small interface the upload service writes through: write these bytes at
  this offset, copy, delete. ``FileSystemChunkStore`` writes in place on a local disk;
  django-storages' S3 storage gets ``chunked_graphql.s3.S3ChunkStore``, which regroups chunks
  into multipart-upload parts; any other storage gets ``RewritingChunkStore``, which needs
  nothing beyond ``open``/``save``/``delete`` and so works with storages that cannot append.
  ``chunk_store()`` picks one for the configured storage.

Stored names are ``<PATH>/<upload id><ext>``: built from the id alone, never from the client's
filename.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import posixpath
import shutil
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import IO, Any, ClassVar

from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from django.utils import timezone

from .exceptions import ChunkStorageError
from .settings import upload_settings
from .sources import BLOCK_SIZE

logger = logging.getLogger(__name__)


def upload_name(upload_id: uuid.UUID, created_at: datetime.datetime, ext: str) -> str:
    """The storage name of an upload: ``<PATH with strftime applied>/<id><ext>``."""
    expanded = _local(created_at).strftime(upload_settings.PATH)
    try:
        directory = storage_directory(expanded)
    except ValueError as exc:
        raise SuspiciousFileOperation(str(exc)) from exc
    return posixpath.join(directory, f"{upload_id}{ext}")


def storage_directory(expanded_path: str) -> str:
    """The expanded PATH as a normalised relative directory (``""`` for the root).

    Raise ``ValueError`` for a path that could leave the storage root: absolute, with a ``..``
    segment (with either slash, as a Windows storage would read it), or holding NUL.
    """
    segments = expanded_path.replace("\\", "/").split("/")
    if expanded_path.startswith(("/", "\\")) or ".." in segments or "\x00" in expanded_path:
        raise ValueError(f"Upload path {expanded_path!r} would leave the storage root.")
    directory = posixpath.normpath(expanded_path) if expanded_path else "."
    return "" if directory == "." else directory


def renamed(name: str, upload_id: uuid.UUID, ext: str) -> str:
    """``name`` with its ``<id><ext>`` basename replaced by ``<id><new ext>``."""
    return posixpath.join(posixpath.dirname(name), f"{upload_id}{ext}")


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


class ConfiguredStorage(Storage):
    """A ``Storage`` forwarding to whatever storage the settings name at the time of the call."""

    @property
    def backend(self) -> Storage:
        return upload_settings.storage()

    def open(self, name: str, mode: str = "rb") -> File:
        return self.backend.open(name, mode)

    def save(self, name: str | None, content: IO[Any], max_length: int | None = None) -> str:
        return self.backend.save(name, content, max_length=max_length)

    def get_valid_name(self, name: str) -> str:
        return self.backend.get_valid_name(name)

    def get_alternative_name(self, file_root: str, file_ext: str) -> str:
        return self.backend.get_alternative_name(file_root, file_ext)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.backend.get_available_name(name, max_length=max_length)

    def generate_filename(self, filename: str | os.PathLike[str]) -> str:
        return self.backend.generate_filename(filename)

    def path(self, name: str) -> str:
        return self.backend.path(name)

    def delete(self, name: str) -> None:
        self.backend.delete(name)

    def exists(self, name: str) -> bool:
        return self.backend.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.backend.listdir(path)

    def size(self, name: str) -> int:
        return self.backend.size(name)

    def url(self, name: str | None) -> str:
        return self.backend.url(name)

    def get_accessed_time(self, name: str) -> datetime.datetime:
        return self.backend.get_accessed_time(name)

    def get_created_time(self, name: str) -> datetime.datetime:
        return self.backend.get_created_time(name)

    def get_modified_time(self, name: str) -> datetime.datetime:
        return self.backend.get_modified_time(name)


configured_storage = ConfiguredStorage()


def get_configured_storage() -> ConfiguredStorage:
    """The ``FileField`` storage callable (a callable keeps the storage out of migrations)."""
    return configured_storage


class ChunkStore(ABC):
    """Stores an upload's bytes: the contract between the upload service and a storage.

    ``write`` must be idempotent per offset: writing at ``offset`` replaces everything stored
    from ``offset`` on, so bytes left by a request that died before its offset was committed
    are overwritten, never kept. A store may keep private state per upload (the JSON-able value
    ``write`` returns); the service saves it with the offset, in one transaction, and hands it
    back on the next call. A write that is not committed must leave the previous state valid.

    Two ways to be called, chosen by ``streams``:

    - ``streams = True``: ``write`` takes the chunk as it arrives from the client, before the
      upload's row is locked, so a slow client holds no database lock. The service holds
      ``writer_lock(name)`` around the whole write-and-commit, which must keep any other process
      from writing the same upload meanwhile.
    - ``streams = False``: the service first receives the whole chunk, then calls ``write``
      under the upload's row lock, which serialises writers.
    """

    streams: ClassVar[bool] = False

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def writer_lock(self, name: str) -> AbstractContextManager[None]:
        """Exclusive right to write ``name``, across processes (``streams`` stores only)."""
        return contextlib.nullcontext()

    @abstractmethod
    def write(self, name: str, offset: int, chunks: Iterable[bytes], state: Any = None) -> Any:
        """Store ``chunks`` at ``offset`` of ``name``; drop whatever lay beyond. Return the
        store's new state for this upload (``None`` if it keeps none)."""

    def abandon(self, name: str, offset: int, state: Any = None) -> None:
        """A write at ``offset`` failed or was refused: drop what it stored beyond ``offset``
        (best effort; a later write at ``offset`` replaces it anyway). ``state`` is the last
        committed state."""
        return None

    def committed(self, name: str, old_state: Any, new_state: Any) -> None:
        """The state returned by a write has been committed: drop what only ``old_state``
        needed."""
        return None

    @abstractmethod
    def copy(self, name: str, new_name: str, size: int | None = None, state: Any = None) -> None:
        """Make ``new_name`` hold the ``size`` bytes of ``name`` (replacing it), leaving
        ``name`` as is: completion may still roll back."""

    def open(self, name: str) -> IO[bytes]:
        """Open the stored bytes for reading."""
        stored: IO[bytes] = self.storage.open(name, "rb")
        return stored

    def read(self, name: str, size: int, state: Any = None) -> Iterator[bytes]:
        """The first ``size`` stored bytes of ``name``, block by block."""
        with self.open(name) as stored:
            yield from read_blocks(stored, size)

    def delete(self, name: str, state: Any = None) -> None:
        """Remove the stored bytes, and anything the store keeps for them; a missing file is
        not an error."""
        if name:
            self.storage.delete(name)


class FileSystemChunkStore(ChunkStore):
    """Writes in place at the offset on a local filesystem: each byte is written once, straight
    from the request.

    Writers of one upload exclude each other with an ``flock`` on its file, which holds across
    processes and app servers sharing the directory, and which the kernel releases when a
    process dies, so a killed worker never leaves an upload locked.
    """

    storage: FileSystemStorage
    streams = True
    #: How long a request waits for another one writing the same upload.
    lock_timeout = 60.0

    @contextlib.contextmanager
    def writer_lock(self, name: str) -> Iterator[None]:
        try:
            fd = self._open(name, create=False)
        except FileNotFoundError:
            # No bytes to guard: the upload was cancelled meanwhile, as the caller's check under
            # the lock will find. Creating the file here would leave it behind, row-less.
            fd = None
        if fd is None:
            yield
            return
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ChunkStorageError(
                            f"Another request has been writing {name!r} for "
                            f"{self.lock_timeout:.0f} s."
                        ) from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _open(self, name: str, *, create: bool = True) -> int:
        """A descriptor of ``name`` open for writing; without ``create``, a missing file
        raises ``FileNotFoundError``."""
        path = self.storage.path(name)
        if not create:
            return os.open(path, os.O_RDWR)
        self._make_directory(os.path.dirname(path))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies, as in Django
        except OSError as exc:
            raise ChunkStorageError(f"Cannot open {name!r} for writing: {exc}") from exc
        if self.storage.file_permissions_mode is not None:
            os.chmod(path, self.storage.file_permissions_mode)
        return fd

    def write(self, name: str, offset: int, chunks: Iterable[bytes], state: Any = None) -> None:
        # Only the first chunk creates the file: a later one finding it gone (cancelled while
        # this request waited) must fail rather than leave a new file behind.
        fd = self._open(name, create=offset == 0)
        with os.fdopen(fd, "r+b", buffering=0) as out, _Flusher(fd) as flusher:
            stored = out.seek(0, os.SEEK_END)
            if stored < offset:
                raise ChunkStorageError(
                    f"{name!r} holds {stored} bytes, fewer than the recorded offset {offset}."
                )
            out.seek(offset)
            for piece in chunks:
                view = memoryview(piece)
                while view:  # an unbuffered write may be short
                    view = view[out.write(view) or 0 :]
                flusher.wrote(len(piece))
            out.truncate()
            # The offset is committed to the database right after this returns: the bytes it
            # vouches for must be on disk first.
            flusher.finish()

    def abandon(self, name: str, offset: int, state: Any = None) -> None:
        try:
            with open(self.storage.path(name), "r+b") as out:
                if out.seek(0, os.SEEK_END) > offset:
                    out.truncate(offset)
        except FileNotFoundError:
            pass  # cancelled meanwhile
        except OSError:
            logger.warning("Could not truncate %r back to %d bytes", name, offset, exc_info=True)

    def _make_directory(self, directory: str) -> None:
        # As FileSystemStorage._save does: FILE_UPLOAD_DIRECTORY_PERMISSIONS, else the umask.
        mode = self.storage.directory_permissions_mode
        if mode is None:
            os.makedirs(directory, exist_ok=True)
            return
        old_umask = os.umask(0o777 & ~mode)
        try:
            os.makedirs(directory, mode, exist_ok=True)
        finally:
            os.umask(old_umask)

    def copy(self, name: str, new_name: str, size: int | None = None, state: Any = None) -> None:
        source, target = self.storage.path(name), self.storage.path(new_name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
        try:
            # A hard link costs nothing, whatever the size; no chunk writes to a completed
            # upload, so the two names never diverge while both exist.
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


class RewritingChunkStore(ChunkStore):
    """For storages that cannot append or seek: rewrites the object with the chunk added.

    Without an atomic rename, replacing an object leaves a moment when it is gone. So the new
    content is first stored whole under a staging name (``<name>.next``) and only then written
    over ``name``: if that second write fails, the staged copy still holds every byte the
    recorded offset vouches for, and the next write starts from it.

    Costs two writes of everything stored so far on every chunk; a storage-specific store (for
    example one using multipart uploads) avoids that and can be plugged in instead.
    """

    staging_suffix = ".next"

    def write(self, name: str, offset: int, chunks: Iterable[bytes], state: Any = None) -> None:
        staging = name + self.staging_suffix
        with tempfile.SpooledTemporaryFile(max_size=8 * BLOCK_SIZE) as spool:
            base = self._read_base(spool, offset, name, staging) if offset else None
            for piece in chunks:
                spool.write(piece)
            if base == name:
                # The only copy of the valid bytes is `name`: keep it until the staged copy is
                # stored whole.
                self._save(staging, spool)
            self._save(name, spool)
        self._discard(staging)

    def copy(self, name: str, new_name: str, size: int | None = None, state: Any = None) -> None:
        with self.storage.open(name, "rb") as stored:
            self._save(new_name, stored)

    def delete(self, name: str, state: Any = None) -> None:
        if name:
            self.storage.delete(name)
            self.storage.delete(name + self.staging_suffix)

    def _read_base(self, spool: IO[bytes], offset: int, *candidates: str) -> str:
        """Copy the first ``offset`` bytes into ``spool`` from the first candidate holding
        them; return its name."""
        for candidate in candidates:
            spool.seek(0)
            spool.truncate()
            try:
                with self.storage.open(candidate, "rb") as stored:
                    if _copy(stored, spool, limit=offset) == offset:
                        return candidate
            except FileNotFoundError:
                continue
        raise ChunkStorageError(
            f"Neither {candidates[0]!r} nor its staged copy holds the {offset} bytes the "
            "recorded offset vouches for."
        )

    def _save(self, name: str, content: IO[bytes]) -> None:
        content.seek(0)
        self.storage.delete(name)
        saved = self.storage.save(name, File(content, name=posixpath.basename(name)))
        if saved != name:
            self.storage.delete(saved)
            raise ChunkStorageError(f"The storage saved {name!r} as {saved!r}.")

    def _discard(self, name: str) -> None:
        # A leftover staging copy is harmless (the next write replaces it), so failing to
        # delete it must not fail a chunk that is already stored.
        try:
            self.storage.delete(name)
        except Exception:
            logger.warning("Could not delete the staging copy %r", name, exc_info=True)


class _Flusher:
    """Makes written bytes durable with ``fdatasync``, mostly while the chunk still arrives.

    Syncing a large chunk only at its end would stall the request for as long as the disk takes
    to write all of it. Instead, every ``every`` bytes a sync starts in a background thread
    (``fdatasync`` releases the GIL), so the disk works while the next bytes are received and
    hashed; ``finish()`` then syncs only what is left.
    """

    every = 8 * BLOCK_SIZE

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def __enter__(self) -> _Flusher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._join()  # never leave a thread syncing a closed descriptor

    def wrote(self, size: int) -> None:
        self._pending += size
        if self._pending >= self.every and (self._thread is None or not self._thread.is_alive()):
            self._join()
            self._pending = 0
            self._thread = threading.Thread(target=self._sync, daemon=True)
            self._thread.start()

    def finish(self) -> None:
        self._join()
        self._sync_and_drop()

    def _sync(self) -> None:
        try:
            self._sync_and_drop()
        except OSError as exc:
            self._error = exc

    def _sync_and_drop(self) -> None:
        os.fdatasync(self._fd)
        # Upload bytes are written once and not read again soon (completion uses the saved hash
        # state), so the page cache has no use for them once they are on disk: dropping them
        # keeps it for data that is read, and lets the next blocks reuse the same memory. On
        # virtual machines that back guest memory lazily this makes large writes several times
        # faster. Pages written after the sync stay dirty and are not dropped.
        os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_DONTNEED)

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def read_blocks(source: IO[bytes], limit: int | None = None) -> Iterator[bytes]:
    """The next ``limit`` bytes of ``source`` (everything left by default), block by block."""
    remaining = limit
    while remaining is None or remaining > 0:
        block = source.read(BLOCK_SIZE if remaining is None else min(BLOCK_SIZE, remaining))
        if not block:
            return
        if remaining is not None:
            remaining -= len(block)
        yield block


def _copy(source: IO[bytes], target: IO[bytes], limit: int) -> int:
    copied = 0
    for block in read_blocks(source, limit):
        target.write(block)
        copied += len(block)
    return copied


def chunk_store(storage: Storage | None = None) -> ChunkStore:
    """The ``ChunkStore`` for ``storage`` (default: the configured upload storage)."""
    backend = storage if storage is not None else upload_settings.storage()
    # default_storage is a lazy proxy; isinstance sees through it.
    if isinstance(backend, FileSystemStorage):
        return FileSystemChunkStore(backend)
    if _is_s3(backend):
        from .s3 import S3ChunkStore

        return S3ChunkStore(backend)
    return RewritingChunkStore(backend)


def _is_s3(storage: Storage) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # django-storages is optional
        return False
    return isinstance(storage, S3Storage)

"""A chunk store for local disks (Django's ``FileSystemStorage``): bytes written in place.

Each byte is written once, straight from the request, at its offset in the upload's file, and
made durable with ``fdatasync`` before the offset that vouches for it is committed. Writers of
one upload exclude each other with byte-range locks (``locks.range_lock``), which hold across
processes and app servers sharing the directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from typing import Any

from django.core.files.storage import FileSystemStorage

from ..exceptions import ChunkStorageError
from .base import BLOCK_SIZE, ChunkStore
from .locks import range_lock

logger = logging.getLogger(__name__)


class FileSystemChunkStore(ChunkStore):
    """Writes in place at the offset on a local filesystem."""

    storage: FileSystemStorage
    streams = True
    random_access = True

    def lock(self, name: str, start: int = 0, end: int | None = None) -> Any:
        return range_lock(self.storage.path(name), start, end, self.lock_timeout)

    def create(self, name: str) -> None:
        os.close(self._open(name))

    def write(self, name: str, offset: int, chunks: Iterable[bytes], state: Any = None) -> None:
        # Only the first chunk creates the file: a later one finding it gone (cancelled while
        # this request waited) must fail rather than leave a new file behind.
        fd = self._open(name, create=offset == 0)
        with os.fdopen(fd, "r+b", buffering=0) as out:
            stored = out.seek(0, os.SEEK_END)
            if stored < offset:
                raise ChunkStorageError(
                    f"{name!r} holds {stored} bytes, fewer than the recorded offset {offset}."
                )
            # What lay beyond is left from a write that died before its offset was committed.
            _write_at(fd, out, offset, chunks, truncate=True)

    def write_range(
        self,
        name: str,
        start: int,
        chunks: Iterable[bytes],
        state: Any = None,
        *,
        readable: bool = False,
    ) -> None:
        fd = self._open(name, create=False)
        with os.fdopen(fd, "r+b", buffering=0) as out:
            # A range to be read back for hashing keeps its pages cached until then.
            _write_at(fd, out, start, chunks, truncate=False, drop_cache=not readable)

    def settle_range(self, name: str, start: int, size: int, state: Any, piece: Any) -> Any:
        # Read back and hashed: its pages are of no further use (see _Flusher).
        try:
            fd = os.open(self.storage.path(name), os.O_RDONLY)
        except OSError:
            return piece
        try:
            os.posix_fadvise(fd, start, size, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        return piece

    def abandon(self, name: str, offset: int, state: Any = None) -> None:
        self._truncate_tail(name, offset, None)

    def abandon_range(
        self, name: str, start: int, end: int, state: Any = None, piece: Any = None
    ) -> None:
        # The bytes stay for the range's next write to replace: the upload's recorded ranges,
        # not the file's length, say what is stored. Cutting the file back would race a writer
        # of a later range, which may extend the file at any moment, and cut its bytes off.
        return None

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

    # Helpers.

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

    def _truncate_tail(self, name: str, start: int, end: int | None) -> None:
        """Cut the file back to ``start`` bytes if it is longer and ends within ``start``..
        ``end`` (anywhere past ``start`` when ``end`` is None). Only for serial writes, whose
        lock runs to the end of the file and beyond."""
        try:
            with open(self.storage.path(name), "r+b") as out:
                size = out.seek(0, os.SEEK_END)
                if size > start and (end is None or size <= end + 1):
                    out.truncate(start)
        except FileNotFoundError:
            pass  # cancelled meanwhile
        except OSError:
            logger.warning("Could not truncate %r back to %d bytes", name, start, exc_info=True)


def _write_at(
    fd: int,
    out: Any,
    offset: int,
    chunks: Iterable[bytes],
    *,
    truncate: bool,
    drop_cache: bool = True,
) -> None:
    """Write ``chunks`` at ``offset`` (cutting the file off after them with ``truncate``) and
    sync them; with ``drop_cache``, drop their pages from the page cache once synced."""
    out.seek(offset)
    with _Flusher(fd, offset, drop_cache) as flusher:
        for piece in chunks:
            view = memoryview(piece)
            while view:  # an unbuffered write may be short
                view = view[out.write(view) or 0 :]
            flusher.wrote(len(piece))
        if truncate:
            out.truncate()
        # The offset is committed to the database right after this returns: the bytes it
        # vouches for must be on disk first.
        flusher.finish()


class _Flusher:
    """Makes written bytes durable with ``fdatasync``, mostly while the chunk still arrives.

    Syncing a large chunk only at its end would stall the request for as long as the disk takes
    to write all of it. Instead, every ``every`` bytes a sync starts in a background thread
    (``fdatasync`` releases the GIL), so the disk works while the next bytes are received and
    hashed; ``finish()`` then syncs only what is left.
    """

    every = 8 * BLOCK_SIZE

    def __init__(self, fd: int, start: int, drop_cache: bool = True) -> None:
        self._fd = fd
        self._start = start
        self._drop_cache = drop_cache
        self._written = 0
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def __enter__(self) -> _Flusher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._join()  # never leave a thread syncing a closed descriptor

    def wrote(self, size: int) -> None:
        self._written += size
        self._pending += size
        if self._pending >= self.every and (self._thread is None or not self._thread.is_alive()):
            self._join()
            self._pending = 0
            self._thread = threading.Thread(target=self._sync, args=(self._written,), daemon=True)
            self._thread.start()

    def finish(self) -> None:
        self._join()
        self._sync_and_drop(self._written)

    def _sync(self, written: int) -> None:
        try:
            self._sync_and_drop(written)
        except OSError as exc:
            self._error = exc

    def _sync_and_drop(self, written: int) -> None:
        os.fdatasync(self._fd)
        if not written or not self._drop_cache:
            return
        # Upload bytes are written once and not read again soon (completion uses the saved hash
        # state), so the page cache has no use for them once they are on disk: dropping them
        # keeps it for data that is read, and lets the next blocks reuse the same memory. On
        # virtual machines that back guest memory lazily this makes large writes several times
        # faster. Only this write's synced bytes are dropped: other ranges of the file may be
        # waiting to be read.
        os.posix_fadvise(self._fd, self._start, written, os.POSIX_FADV_DONTNEED)

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

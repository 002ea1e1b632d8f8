"""Byte-range locks on local files, across processes, threads and app servers sharing a disk.

An open file description lock (``F_OFD_SETLK``, Linux) covers the bytes ``start``..``end`` of a
file: two locks conflict only where their ranges overlap, so writers of different ranges of one
upload do not wait for each other. Unlike ``flock`` it can cover part of a file, and unlike
classic POSIX record locks (``lockf``) it belongs to the open file, not the process: two threads
of one gthread worker exclude each other too, and closing one descriptor does not drop another's
lock. The kernel releases it when the descriptor closes, also when a process dies, so a killed
worker never leaves an upload locked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import time
from collections.abc import Iterator

from ..exceptions import ChunkStorageError, UploadBusy

# struct flock on Linux: l_type, l_whence (shorts), l_start, l_len (off_t), l_pid (pid_t), padded
# to the alignment of off_t. OFD locks require l_pid = 0.
_FLOCK = "@hhqqi4x"
_POLL = 0.01  # seconds between attempts while another request holds the range


@contextlib.contextmanager
def range_lock(path: str, start: int, end: int | None, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on bytes ``start``..``end`` of ``path`` (``None``: to the end and
    beyond). Waits up to ``timeout`` seconds, then raises ``UploadBusy``; a missing file
    yields without a lock (nothing to guard; creating it here would leave it behind)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield
        return
    try:
        _acquire(fd, start, end, timeout, path)
        yield
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, start: int, end: int | None, timeout: float, label: str) -> None:
    length = 0 if end is None else end - start + 1  # 0: to the end of the file, however long
    request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, start, length, 0)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise ChunkStorageError(f"Cannot lock {label!r}: {exc}") from exc
        if time.monotonic() > deadline:
            raise UploadBusy(
                "Another request is still writing these bytes of the upload (an earlier copy "
                "of the same chunk, perhaps). The upload is unchanged: try again shortly."
            )
        time.sleep(_POLL)

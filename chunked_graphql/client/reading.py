"""Reading the file being uploaded: its chunks, handed out in ascending order to the senders of a
parallel upload, and the digest of the whole file, hashed in file order as the chunks are read."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ClientError, LocalFileError

READ_BLOCK = 1024 * 1024


class ChunkSource:
    """The chunks still to send, handed out in ascending order. Each is read, and fed to the
    file's digest, under one lock: the digest sees the file in order, and reads it once."""

    def __init__(
        self,
        stream: BinaryIO,
        starts: list[int],
        chunk_size: int,
        size: int,
        digest: FileDigest,
        filename: str,
    ) -> None:
        self._stream = stream
        self._starts = iter(starts)
        self._chunk_size = chunk_size
        self._size = size
        self._digest = digest
        self._filename = filename
        self._lock = threading.Lock()

    def take(self) -> tuple[int, bytes] | None:
        """The next chunk's start and bytes; None when none are left."""
        with self._lock:
            start = next(self._starts, None)
            if start is None:
                return None
            length = min(self._chunk_size, self._size - start)
            self._stream.seek(start)
            content = self._stream.read(length)
            if len(content) != length:
                raise LocalFileError(
                    f"{self._filename} became shorter while it was being uploaded."
                )
            self._digest.feed(start, content)
            return start, content


class FileDigest:
    """The digest of the whole file, hashed in file order from the chunks fed to it; bytes not
    fed by the time the hash reaches them (those the server already had) are read from the file.
    Bytes fed again are not hashed twice."""

    def __init__(self, path: Path, size: int) -> None:
        self._path = path
        self._size = size
        self._hasher: Any = None
        self._position = 0
        self._stream: BinaryIO | None = None

    def use(self, algorithm: str) -> None:
        """Hash with ``algorithm`` (the upload's ``checksumAlgorithm``); the first call wins."""
        if self._hasher is None:
            try:
                self._hasher = hashlib.new(algorithm)
            except ValueError as exc:
                raise ClientError(
                    f"The server asks for checksum {algorithm!r}, unknown here."
                ) from exc

    def feed(self, start: int, content: bytes) -> None:
        if self._hasher is None:
            return  # read from the file when the hash reaches it
        self._read_to(start)
        end = start + len(content)
        if end > self._position:
            self._hasher.update(memoryview(content)[self._position - start :])
            self._position = end

    def hexdigest(self) -> str:
        self._read_to(self._size)
        return str(self._hasher.hexdigest())

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _read_to(self, end: int) -> None:
        if self._position >= end:
            return
        if self._stream is None:
            self._stream = self._path.open("rb")
        self._stream.seek(self._position)
        while self._position < end:
            block = self._stream.read(min(READ_BLOCK, end - self._position))
            if not block:
                raise LocalFileError(f"{self._path} became shorter while it was being uploaded.")
            self._hasher.update(block)
            self._position += len(block)

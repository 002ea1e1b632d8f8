"""A chunk's bytes on their way to the store: counted against the declared length and hashed,
in the same pass, so they are read once."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import IO

from .. import exceptions
from ..hashing import ResumableHash, checksums_match, chunk_hasher
from ..sources import ChunkSource
from ..stores import BLOCK_SIZE


class Incoming:
    """The bytes of one chunk, as ``blocks()`` hands them to the store."""

    def __init__(
        self,
        source: ChunkSource,
        length: int,
        hasher: ResumableHash | None,
        chunk_checksum: tuple[str, str] | None = None,
    ) -> None:
        self.source = source
        self.length = length
        self.hasher = hasher
        self.chunk_checksum = chunk_checksum
        self._chunk_hasher = None if chunk_checksum is None else chunk_hasher(chunk_checksum[0])
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
            if self._chunk_hasher is not None:
                self._chunk_hasher.update(block)
            yield block

    def check_length(self) -> None:
        if self.overflowed or self.received != self.length:
            raise length_mismatch(self.source.drain(), self.length)

    def check(self) -> None:
        """The chunk's length, then its chunkChecksum (a wrong length wins)."""
        self.check_length()
        expected = self.chunk_checksum
        hasher = self._chunk_hasher
        matches = (
            expected is None or hasher is None or checksums_match(hasher.hexdigest(), expected[1])
        )
        if not matches:
            raise exceptions.ChunkChecksumMismatch()

    def hash_state(self) -> bytes | None:
        return None if self.hasher is None else self.hasher.state()


@contextlib.contextmanager
def received(incoming: Incoming) -> Iterator[IO[bytes]]:
    """The whole chunk, received into a temporary file (kept in memory while small)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * BLOCK_SIZE) as spool:
        for block in incoming.blocks():
            spool.write(block)
        incoming.check()
        spool.seek(0)
        yield spool


def length_mismatch(size: int, declared: int) -> exceptions.InvalidContentRange:
    return exceptions.InvalidContentRange(
        f"File size doesn't match contentRange: the chunk is {size} bytes, "
        f"contentRange declares {declared}."
    )

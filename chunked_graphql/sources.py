"""Where a chunk's bytes come from.

The upload service reads a chunk through ``ChunkSource``: one pass over its bytes, block by
block, plus a peek to tell an empty chunk and a way to count what it did not read. Two kinds:

- ``StreamedPart`` (``chunked_graphql.multipart``): a file part still arriving in the request
  body. Its bytes go from the socket to the storage once, with no temporary file in between;
  its size is known only once it has been read.
- ``FileSource``: a file that has already been received whole (any Django ``File``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from django.core.files import File

BLOCK_SIZE = 1024 * 1024  # how much is read, written or hashed at a time


class ChunkReadError(Exception):
    """The chunk could not be read in full: the request body ended early or is malformed.

    Not a typed error: the request itself is broken, so the endpoint answers HTTP 400, and the
    service, which sees this exception in the middle of a write, commits nothing.
    """


class ChunkSource(ABC):
    """The bytes of one chunk, readable once."""

    #: The file name the client gave the part (never used in a path).
    name: str = ""

    @property
    def size(self) -> int | None:
        """The size when known before reading (a received file), else ``None``."""
        return None

    @abstractmethod
    def blocks(self) -> Iterator[bytes]:
        """The bytes, in blocks of at most ``BLOCK_SIZE``; may be iterated only once."""

    @abstractmethod
    def is_empty(self) -> bool:
        """Whether the chunk has no bytes at all (reads at most one block ahead)."""

    def drain(self) -> int:
        """Read and drop whatever ``blocks()`` has not yielded yet; return the chunk's size."""
        return sum(len(block) for block in self.blocks())


class FileSource(ChunkSource):
    """A file received whole, e.g. by Django's own multipart parser."""

    def __init__(self, file: File) -> None:
        self.file = file
        self.name = file.name or ""
        self._read = 0
        self._started = False

    @property
    def size(self) -> int | None:
        size: int = self.file.size
        return size

    def blocks(self) -> Iterator[bytes]:
        if self._started:
            # What the first pass left; a file can be read again, but a stream cannot, so
            # neither may be.
            return iter(())
        self._started = True
        return self.file.chunks(BLOCK_SIZE)

    def is_empty(self) -> bool:
        return not self.file.size

    def drain(self) -> int:
        return self.size or 0


def as_source(value: object) -> ChunkSource | None:
    """The chunk source for what the ``Upload`` scalar passed on, or ``None``."""
    if isinstance(value, ChunkSource):
        return value
    if isinstance(value, File):
        return FileSource(value)
    return None

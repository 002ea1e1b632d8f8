"""Where a chunk's bytes come from: what the ``Upload`` scalar hands a resolver.

graphene merges every scalar named ``Upload`` into one, so the value a resolver receives must
serve two kinds of reader at once:

- the upload service, which reads it as a ``ChunkSource``: one pass over its bytes, block by
  block, plus a peek to tell an empty chunk and a way to count what it did not read;
- a project's own mutations (often written for graphene-file-upload), which expect Django's
  ``UploadedFile``: ``read()``, ``chunks()``, ``size``, ``name``, ``content_type``, and
  ``instance.some_file_field.save(name, file)``.

So every value is both. Two kinds:

- ``StreamedPart`` (``chunked_graphql.multipart``): a file part still arriving in the request
  body. Read as a ``ChunkSource`` its bytes go from the socket to the storage once, with no
  temporary file in between; used as an ``UploadedFile`` it is first received whole.
- ``ReceivedFile``: a file that has already been received whole (any Django ``File``).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from django.core.files import File
from django.core.files.uploadedfile import UploadedFile

from .stores.base import BLOCK_SIZE


class ChunkSource(ABC):
    """The bytes of one chunk, readable once."""

    #: The file name the client gave the part (never used in a path).
    name: Any = ""
    _claimed = False

    def claim(self) -> bool:
        """Take the chunk for one upload operation; ``False`` if another operation of the same
        request took it already. One file part feeds at most one of the app's operations, so a
        request cannot store the same bytes many times over (a part the multipart ``map`` puts
        at several paths, or one variable used by several fields). Reading it as an
        ``UploadedFile`` claims nothing: a project's own mutations may share a part."""
        if self._claimed:
            return False
        self._claimed = True
        return True

    @property
    def known_size(self) -> int | None:
        """The size when known before reading (a received file), else ``None``."""
        return None

    @abstractmethod
    def blocks(self) -> Iterator[bytes]:
        """The bytes, block by block (at most ``BLOCK_SIZE`` each); may be iterated only once."""

    @abstractmethod
    def is_empty(self) -> bool:
        """Whether the chunk has no bytes at all (reads at most one block ahead)."""

    def drain(self) -> int:
        """Read and drop whatever ``blocks()`` has not yielded yet; return the chunk's size."""
        return sum(len(block) for block in self.blocks())


class ReceivedFile(UploadedFile, ChunkSource):
    """A file received whole (by Django's parser, graphene-file-upload's view, or the endpoint
    when a request carries several files), as an ``UploadedFile`` and a ``ChunkSource``."""

    def __init__(self, file: File) -> None:
        super().__init__(
            file.file,
            name=file.name,
            content_type=getattr(file, "content_type", None),
            size=file.size,
            charset=getattr(file, "charset", None),
            content_type_extra=getattr(file, "content_type_extra", None),
        )
        self.received = file
        self._started = False

    @property
    def known_size(self) -> int | None:
        size: int = self.received.size
        return size

    def blocks(self) -> Iterator[bytes]:
        if self._started:
            # What the first pass left; a file can be read again, but a stream cannot, so
            # neither may be.
            return iter(())
        self._started = True
        return self._read_and_rewind()

    def _read_and_rewind(self) -> Iterator[bytes]:
        try:
            yield from self.received.chunks(BLOCK_SIZE)
        finally:
            # Left at its start, as a project's own field that shares the part after the
            # upload's expects an unread file: its read() would otherwise return b"".
            with contextlib.suppress(ValueError, OSError):  # closed, or not seekable
                self.received.seek(0)

    def is_empty(self) -> bool:
        return not self.received.size

    def drain(self) -> int:
        return self.known_size or 0


# Where as_source keeps the ReceivedFile it made for a File.
_SOURCE = "_chunked_graphql_source"


def as_source(value: object) -> ChunkSource | None:
    """The chunk source for a value a scalar named ``Upload`` passed on, or ``None`` for
    anything that is not a file.

    A ``File`` gets one ``ReceivedFile`` however often it is asked for, so that it can be
    claimed once: another view (graphene-file-upload's) puts the same file at every path the
    multipart ``map`` names, and graphene-file-upload's scalar hands it to every field as it is.
    """
    if isinstance(value, ChunkSource):
        return value
    if isinstance(value, File):
        source: ReceivedFile | None = getattr(value, _SOURCE, None)
        if source is None:
            source = ReceivedFile(value)
            setattr(value, _SOURCE, source)
        return source
    return None

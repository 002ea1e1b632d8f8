"""File parts: streamed to the resolver as they arrive (``StreamedPart``), or received whole
into a temporary file (``spool``) when a request carries several."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from ..exceptions import ChunkReadError, RequestBodyError
from ..settings import upload_settings
from ..sources import ChunkSource, ReceivedFile
from .reader import READ_SIZE, BodyLimits, MultipartReader, disposition

_SPOOL_IN_MEMORY = 2_621_440  # as Django's FILE_UPLOAD_MAX_MEMORY_SIZE default


class StreamedPart(UploadedFile, ChunkSource):
    """A file part of the body, read as the resolver consumes it.

    As a ``ChunkSource`` (the upload service) its bytes are read once, straight from the
    socket. As an ``UploadedFile`` (a project's own mutation calling ``read()``, ``chunks()``,
    ``size``...) the part is first received whole into a temporary file, as Django would have
    done, and read from there; a part the service has begun to stream cannot be used so.

    When its last byte has been read, the rest of the body is read and checked too (Django's
    limits on fields and files), before ``blocks()`` ends: the service commits a chunk only after
    that, so a request that turns out to be malformed after its file stores nothing.
    """

    def __init__(
        self,
        reader: MultipartReader,
        name: str,
        rest: BodyLimits,
        content_type: str | None = None,
    ) -> None:
        self._spooled: Any = None
        super().__init__(None, name=name, content_type=content_type)
        self._reader = reader
        self._rest = rest
        self._blocks = reader.part_blocks()
        self._peeked: bytes | None = None
        self._exhausted = False
        self._consumed = 0

    # The UploadedFile side: the part received whole on first use.

    @property
    def file(self) -> Any:
        if self._spooled is None:
            if self._consumed:
                # The request's own doing (a field reading a part an upload streamed before it):
                # its message is for the client, as a malformed body's is.
                raise RequestBodyError("This file part has already been streamed to the storage.")
            self._spooled = spool_blocks(self.blocks(), self._reader, self.name or "")
        return self._spooled

    @file.setter
    def file(self, value: Any) -> None:
        self._spooled = value  # File.__init__ sets None: received lazily

    @property
    def size(self) -> int:
        size: int = self.file.size
        return size

    @size.setter
    def size(self, value: int | None) -> None:
        pass  # known once received

    # The ChunkSource side: streamed.

    def _pull(self) -> bytes | None:
        try:
            return next(self._blocks)
        except StopIteration:
            self._check_rest()
            return None
        except RequestBodyError as exc:
            raise ChunkReadError(str(exc)) from exc

    def _check_rest(self) -> None:
        try:
            while (headers := self._reader.next_part()) is not None:
                name, filename = disposition(headers)
                if filename is None:
                    self._rest.read_field(self._reader, name)
                else:
                    # Not in the map, so not used; counted against the limit all the same.
                    self._rest.count_file()
                    for _ in self._reader.part_blocks():
                        pass
        except RequestBodyError as exc:
            if self._reader.error is None:
                self._reader.error = exc
            raise ChunkReadError(str(exc)) from exc

    def is_empty(self) -> bool:
        if self._peeked is None and not self._exhausted:
            self._peeked = self._pull()
            self._exhausted = self._peeked is None
        return self._exhausted and not self._consumed and self._peeked is None

    def blocks(self) -> Iterator[bytes]:
        if self._spooled is not None:
            # Received whole already: the service reads the received copy, and leaves it at
            # its start for a project's field after it, as ReceivedFile does.
            self._spooled.seek(0)
            try:
                yield from iter(lambda: self._spooled.read(READ_SIZE), b"")
            finally:
                self._spooled.seek(0)
            return
        while True:
            if self._peeked is not None:
                block, self._peeked = self._peeked, None
            elif self._exhausted:
                return
            else:
                pulled = self._pull()
                if pulled is None:
                    self._exhausted = True
                    return
                block = pulled
            self._consumed += len(block)
            yield block

    def drain(self) -> int:
        for _ in self.blocks():
            pass
        return self._consumed


def spool(
    reader: MultipartReader, name: str, filename: str, content_type: str | None
) -> ReceivedFile:
    """Receive a whole file part, in memory up to 2.5 MB and in a temporary file beyond."""
    spooled = spool_blocks(reader.part_blocks(), reader, name)
    return ReceivedFile(
        UploadedFile(spooled, name=filename, size=spooled.size, content_type=content_type)
    )


def content_type(headers: dict[str, bytes]) -> str | None:
    value = headers.get("content-type")
    return value.decode("latin-1") if value else None


class Spooled(tempfile.SpooledTemporaryFile[bytes]):
    size = 0


def spool_blocks(blocks: Iterator[bytes], reader: MultipartReader, name: str) -> Spooled:
    """``blocks`` received into a temporary file (in memory while small), at most
    MAX_CHUNK_SIZE bytes of them."""
    limit: int = upload_settings.MAX_CHUNK_SIZE
    # Handed on open, as Django hands its uploaded files; closed with the request.
    spool = Spooled(max_size=_SPOOL_IN_MEMORY)
    for block in blocks:
        spool.size += len(block)
        if spool.size > limit:
            spool.close()
            error = RequestBodyError(
                f"Multipart body refused: file part {name!r} exceeds MAX_CHUNK_SIZE "
                f"({limit} bytes)."
            )
            if reader.error is None:
                reader.error = error
            raise error
        spool.write(block)
    spool.seek(0)
    return spool

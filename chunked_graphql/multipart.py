"""Reading request bodies: the GraphQL multipart request spec (``operations``, ``map`` and the
file parts, https://github.com/jaydenseric/graphql-multipart-request-spec), and Django's limits
on any body.

A multipart body is read as a stream (``python-multipart`` does the parsing), not through
Django's parser, which would first spool every file part over 2.5 MB to a temporary file. The
spec puts ``operations`` and ``map`` before the files, so by the time the file part begins the
operation is known, and when the request carries one mapped file (one chunk: the usual case)
that part is handed to the resolver as a ``StreamedPart``, still unread. The upload service then
moves its bytes from the socket to the storage in one pass. Any other shape (several files, a
file before ``map``) is received whole first, each file part spooled to memory or a temporary
file, as Django would.

Every way a body can be malformed or too large raises ``RequestBodyError`` with a message that
says what was wrong, so the endpoint can answer HTTP 400 with a JSON body instead of a 500 or
Django's HTML error page. A body that breaks off inside a streamed part is noticed by whoever
reads the part: ``StreamedPart`` raises ``ChunkReadError`` there, and ``MultipartRequest.error``
tells the endpoint afterwards.
"""

from __future__ import annotations

import json
import tempfile
from collections import deque
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, QueryDict
from django.http.request import UnreadablePostError
from django.utils.datastructures import MultiValueDict
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from .settings import upload_settings
from .sources import ChunkReadError, ChunkSource


class RequestBodyError(Exception):
    """The request body cannot be turned into GraphQL operations."""


_REFUSED = (SuspiciousOperation, BadRequest)  # Django's DATA_UPLOAD_MAX_* limits
_SPOOL_IN_MEMORY = 2_621_440  # as Django's FILE_UPLOAD_MAX_MEMORY_SIZE default
# How much of the body is read at a time: as much as gunicorn receives in one call (its
# SocketUnreader.max_body_chunk). gunicorn reads ahead up to that much and re-buffers whatever the
# caller did not take, so smaller reads copy the rest of its buffer again and again: 256 KiB
# reads cost a worker 5.1 ms of CPU per MiB against 3.6 ms with 1 MiB reads (8 MiB chunks), for
# about 2 MiB less peak memory.
READ_SIZE = 1024 * 1024


def load_body(request: HttpRequest) -> None:
    """Read a body that is not multipart now, so that Django's limits on its size and number
    of fields are reported here rather than as an HTML error page later."""
    try:
        request.body  # noqa: B018
        if request.content_type == "application/x-www-form-urlencoded":
            request.POST  # noqa: B018
    except UnreadablePostError as exc:
        raise RequestBodyError(f"The request body could not be read: {exc}") from exc
    except _REFUSED as exc:
        raise RequestBodyError(f"Request body refused: {exc}") from exc


# The stream --------------------------------------------------------------------------------


class MultipartReader:
    """Pull-based reading of a multipart body: part headers, then that part's data blocks.

    ``python-multipart`` is a push parser; this feeds it the request body a block at a time,
    only as far as the caller has asked to read, and queues what it reports.
    """

    def __init__(self, request: HttpRequest, boundary: bytes) -> None:
        self._request = request
        self._events: deque[tuple[str, Any]] = deque()
        self._headers: dict[str, bytes] = {}
        self._field = b""
        self._value = b""
        self._ended = False
        self.error: RequestBodyError | None = None
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    # Parser callbacks.

    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value
        self._field = self._value = b""

    def _on_headers_finished(self) -> None:
        self._events.append(("part", self._headers))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(("data", data[start:end]))

    def _on_part_end(self) -> None:
        self._events.append(("end", None))

    def _on_end(self) -> None:
        self._ended = True
        self._events.append(("eof", None))

    # Reading.

    def _next_event(self) -> tuple[str, Any]:
        while not self._events:
            self._feed()
        return self._events.popleft()

    def _feed(self) -> None:
        if self.error is not None:
            raise self.error
        try:
            block = self._request.read(READ_SIZE)
        except (OSError, UnreadablePostError) as exc:
            self._fail(f"The request body could not be read: {exc}")
        if not block:
            if self._ended:
                self._events.append(("eof", None))
                return
            self._fail("Malformed multipart body: it ends before its closing boundary.")
        try:
            self._parser.write(block)
        except MultipartParseError as exc:
            self._fail(f"Malformed multipart body: {exc}")

    def _fail(self, message: str) -> Any:
        self.error = RequestBodyError(message)
        raise self.error

    def next_part(self) -> dict[str, bytes] | None:
        """Skip the rest of the current part; return the next part's headers (lower-case
        names), or ``None`` at the end of the body."""
        while True:
            kind, payload = self._next_event()
            if kind == "part":
                return dict(payload)
            if kind == "eof":
                self._events.appendleft(("eof", None))
                return None

    def part_blocks(self) -> Iterator[bytes]:
        """The data of the current part, as it arrives."""
        while True:
            kind, payload = self._next_event()
            if kind == "data":
                if payload:
                    yield payload
            elif kind == "end":
                return
            else:
                self._events.appendleft((kind, payload))
                return

    def drain(self) -> None:
        """Read the body to its end, dropping it, so the client is not cut off mid-send."""
        try:
            while self.next_part() is not None:
                pass
        except RequestBodyError:
            pass


class StreamedPart(ChunkSource):
    """A file part of the body, read as the resolver consumes it.

    When its last byte has been read, the rest of the body is read and checked too (Django's
    limits on fields and files), before ``blocks()`` ends: the service commits a chunk only after
    that, so a request that turns out to be malformed after its file stores nothing.
    """

    def __init__(self, reader: MultipartReader, name: str, rest: _BodyLimits) -> None:
        self._reader = reader
        self._rest = rest
        self.name = name
        self._blocks = reader.part_blocks()
        self._peeked: bytes | None = None
        self._exhausted = False
        self._consumed = 0

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
                name, filename = _disposition(headers)
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


# The GraphQL multipart request ---------------------------------------------------------------


class MultipartRequest:
    """A parsed GraphQL multipart request: ``operations`` with each file in place."""

    def __init__(self, reader: MultipartReader, operations: Any, fields: QueryDict) -> None:
        self.reader = reader
        self.operations = operations
        self.fields = fields

    @property
    def error(self) -> RequestBodyError | None:
        """Set when the body turned out to be malformed while a resolver was reading it."""
        return self.reader.error

    def finish(self) -> None:
        """Read whatever the resolvers left of the body."""
        self.reader.drain()


class _BodyLimits:
    """Django's DATA_UPLOAD_MAX_* limits, counted over the whole body."""

    def __init__(self) -> None:
        self.fields = 0
        self.field_bytes = 0
        self.files = 0

    def read_field(self, reader: MultipartReader, name: str) -> str:
        max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        self.fields += 1
        if max_fields is not None and self.fields > max_fields:
            raise RequestBodyError(
                f"Multipart body refused: more than {max_fields} fields "
                "(DATA_UPLOAD_MAX_NUMBER_FIELDS)."
            )
        max_memory = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        limit = None if max_memory is None else max_memory - self.field_bytes
        text = _read_field(reader, name, limit)
        self.field_bytes += len(text)
        return text

    def count_file(self) -> None:
        max_files = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        self.files += 1
        if max_files is not None and self.files > max_files:
            raise RequestBodyError(
                f"Multipart body refused: more than {max_files} files "
                "(DATA_UPLOAD_MAX_NUMBER_FILES)."
            )


def parse_multipart_operations(request: HttpRequest, *, batch: bool = False) -> MultipartRequest:
    """Read the request up to its single mapped file part (streamed), or all of it."""
    boundary = _boundary(request)
    reader = MultipartReader(request, boundary)
    fields = QueryDict(mutable=True)
    files: MultiValueDict[str, Any] = MultiValueDict()
    operations: Any = None
    files_map: dict[str, list[str]] | None = None
    limits = _BodyLimits()

    while (headers := reader.next_part()) is not None:
        name, filename = _disposition(headers)
        if filename is None:
            text = limits.read_field(reader, name)
            fields.appendlist(name, text)
            if name == "operations" and operations is None:
                operations = _operations(text, batch)
            elif name == "map" and files_map is None:
                files_map = _files_map(text)
            continue

        limits.count_file()
        if (
            operations is not None
            and files_map is not None
            and not files
            and list(files_map) == [name]
            and len(files_map[name]) == 1
        ):
            _place(operations, files_map[name][0], StreamedPart(reader, filename, limits))
            return MultipartRequest(reader, operations, fields)
        files.appendlist(name, _spool(reader, name, filename))

    if operations is None:
        raise RequestBodyError("The multipart body has no 'operations' field.")
    if files_map is None:
        raise RequestBodyError("The multipart body has no 'map' field.")
    for key, paths in files_map.items():
        value: object
        if key in files:
            value = files[key]
        elif key in fields:
            # Sent, but as a text part: not a file, which the Upload scalar turns into a
            # missing chunk, a typed error.
            value = fields[key]
        else:
            raise RequestBodyError(f"'map' names the part {key!r}, which was not sent.")
        for path in paths:
            _place(operations, path, value)
    return MultipartRequest(reader, operations, fields)


def _boundary(request: HttpRequest) -> bytes:
    content_type = request.META.get("CONTENT_TYPE", "")
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary", b"")
    # RFC 2046: 1 to 70 characters.
    if not boundary or len(boundary) > 70:
        raise RequestBodyError("Malformed multipart body: invalid or missing boundary.")
    return boundary


def _disposition(headers: dict[str, bytes]) -> tuple[str, str | None]:
    disposition, params = parse_options_header(headers.get("content-disposition", b""))
    if disposition != b"form-data" or b"name" not in params:
        raise RequestBodyError("Malformed multipart body: a part has no form-data name.")
    try:
        name = params[b"name"].decode()
        filename = params[b"filename"].decode() if b"filename" in params else None
    except UnicodeDecodeError as exc:
        raise RequestBodyError("Malformed multipart body: a part name is not UTF-8.") from exc
    return name, filename


def _read_field(reader: MultipartReader, name: str, limit: int | None) -> str:
    data = bytearray()
    for block in reader.part_blocks():
        data += block
        if limit is not None and len(data) > limit:
            raise RequestBodyError(
                "Multipart body refused: its fields exceed DATA_UPLOAD_MAX_MEMORY_SIZE "
                f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)."
            )
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise RequestBodyError(f"Malformed multipart body: field {name!r} is not UTF-8.") from exc


def _spool(reader: MultipartReader, name: str, filename: str) -> UploadedFile:
    """Receive a whole file part, in memory up to 2.5 MB and in a temporary file beyond."""
    limit: int = upload_settings.MAX_CHUNK_SIZE
    # Handed on open, as Django hands its uploaded files; closed with the request.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    for block in reader.part_blocks():
        size += len(block)
        if size > limit:
            spool.close()
            raise RequestBodyError(
                f"Multipart body refused: file part {name!r} exceeds MAX_CHUNK_SIZE "
                f"({limit} bytes)."
            )
        spool.write(block)
    spool.seek(0)
    return UploadedFile(spool, name=filename, size=size)


def _operations(raw: str, batch: bool) -> Any:
    operations = _json(raw, "operations")
    if batch:
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise RequestBodyError("'operations' must be a JSON array of objects.")
    elif not isinstance(operations, dict):
        raise RequestBodyError("'operations' must be a JSON object.")
    return operations


def _files_map(raw: str) -> dict[str, list[str]]:
    files_map = _json(raw, "map")
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(path, str) for path in paths)
        for paths in files_map.values()
    ):
        raise RequestBodyError(
            "'map' must be a JSON object mapping file field names to arrays of paths."
        )
    return files_map


def _json(raw: str, name: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise RequestBodyError(f"{name!r} is not valid JSON: {exc}") from exc


def _place(operations: Any, path: str, file: Any) -> None:
    """Replace the ``null`` at the dotted ``path`` (e.g. ``variables.file``) by ``file``."""
    *parents, last = path.split(".")
    container = operations
    for segment in parents:
        container = _step(container, segment, path)
    key = _key(container, last, path)
    if container[key] is not None:
        raise RequestBodyError(f"'map' path {path!r} does not lead to a null placeholder.")
    container[key] = file


def _step(container: Any, segment: str, path: str) -> Any:
    return container[_key(container, segment, path)]


def _key(container: Any, segment: str, path: str) -> Any:
    if isinstance(container, dict) and segment in container:
        return segment
    if isinstance(container, list) and segment.isdecimal() and int(segment) < len(container):
        return int(segment)
    raise RequestBodyError(f"'map' path {path!r} leads nowhere in 'operations'.")

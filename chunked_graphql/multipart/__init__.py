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
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, QueryDict
from django.http.request import UnreadablePostError
from django.utils.datastructures import MultiValueDict
from python_multipart.multipart import parse_options_header

from ..exceptions import RequestBodyError
from ..failures import NESTED_TOO_DEEPLY
from .parts import StreamedPart, content_type, spool
from .reader import BodyLimits, MultipartReader, disposition

__all__ = ["MultipartRequest", "load_body", "parse_multipart_operations"]

_REFUSED = (SuspiciousOperation, BadRequest)  # Django's DATA_UPLOAD_MAX_* limits


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


def parse_multipart_operations(request: HttpRequest, *, batch: bool = False) -> MultipartRequest:
    """Read the request up to its single mapped file part (streamed), or all of it."""
    boundary = _boundary(request)
    reader = MultipartReader(request, boundary)
    fields = QueryDict(mutable=True)
    files: MultiValueDict[str, Any] = MultiValueDict()
    operations: Any = None
    files_map: dict[str, list[str]] | None = None
    limits = BodyLimits()

    while (headers := reader.next_part()) is not None:
        name, filename = disposition(headers)
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
            part = StreamedPart(reader, filename, limits, content_type(headers))
            _place(operations, files_map[name][0], part)
            return MultipartRequest(reader, operations, fields)
        files.appendlist(name, spool(reader, name, filename, content_type(headers)))

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
    except RecursionError:  # nested beyond what json can read
        raise RequestBodyError(NESTED_TOO_DEEPLY) from None


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

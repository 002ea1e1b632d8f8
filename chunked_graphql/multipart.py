"""Reading request bodies: the GraphQL multipart request spec (``operations``, ``map`` and the
file parts, https://github.com/jaydenseric/graphql-multipart-request-spec), and Django's limits
on any body.

Every way a body can be malformed or too large raises ``RequestBodyError`` with a message that
says what was wrong, so the endpoint can answer HTTP 400 with a JSON body instead of a 500 or
Django's HTML error page.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.http.request import UnreadablePostError


class RequestBodyError(Exception):
    """The request body cannot be turned into GraphQL operations."""


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


def parse_multipart_operations(request: HttpRequest, *, batch: bool = False) -> Any:
    """Return the request's operations with each mapped file put in place of its ``null``."""
    try:
        fields, files = request.POST, request.FILES
    except (MultiPartParserError, UnreadablePostError) as exc:
        raise RequestBodyError(f"Malformed multipart body: {exc}") from exc
    except _REFUSED as exc:
        raise RequestBodyError(f"Multipart body refused: {exc}") from exc

    operations = _json_field(fields, "operations")
    if batch:
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise RequestBodyError("'operations' must be a JSON array of objects.")
    elif not isinstance(operations, dict):
        raise RequestBodyError("'operations' must be a JSON object.")

    files_map = _json_field(fields, "map")
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(path, str) for path in paths)
        for paths in files_map.values()
    ):
        raise RequestBodyError(
            "'map' must be a JSON object mapping file field names to arrays of paths."
        )
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
    return operations


def _json_field(fields: Any, name: str) -> Any:
    raw = fields.get(name)
    if raw is None:
        raise RequestBodyError(f"The multipart body has no {name!r} field.")
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

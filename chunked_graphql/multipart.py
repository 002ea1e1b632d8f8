"""The GraphQL multipart request spec: ``operations``, ``map`` and the file parts.

https://github.com/jaydenseric/graphql-multipart-request-spec

Every way a body can break the spec raises ``MultipartRequestError`` with a message that says
what was wrong, so the endpoint can answer HTTP 400 with a JSON body instead of a 500.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.http.request import UnreadablePostError


class MultipartRequestError(Exception):
    """The multipart body cannot be turned into GraphQL operations."""


def parse_multipart_operations(request: HttpRequest, *, batch: bool = False) -> Any:
    """Return the request's operations with each mapped file put in place of its ``null``."""
    try:
        fields, files = request.POST, request.FILES
    except (MultiPartParserError, UnreadablePostError) as exc:
        raise MultipartRequestError(f"Malformed multipart body: {exc}") from exc
    except (SuspiciousOperation, BadRequest) as exc:
        # Django's limits: DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS/FILES.
        raise MultipartRequestError(f"Multipart body refused: {exc}") from exc

    operations = _json_field(fields, "operations")
    if batch:
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise MultipartRequestError("'operations' must be a JSON array of objects.")
    elif not isinstance(operations, dict):
        raise MultipartRequestError("'operations' must be a JSON object.")

    files_map = _json_field(fields, "map") if "map" in fields else {}
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(path, str) for path in paths)
        for paths in files_map.values()
    ):
        raise MultipartRequestError(
            "'map' must be a JSON object mapping file field names to arrays of paths."
        )
    for key, paths in files_map.items():
        if key not in files:
            raise MultipartRequestError(f"'map' names the file field {key!r}, which was not sent.")
        for path in paths:
            _place(operations, path, files[key])
    return operations


def _json_field(fields: Any, name: str) -> Any:
    raw = fields.get(name)
    if raw is None:
        raise MultipartRequestError(f"The multipart body has no {name!r} field.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MultipartRequestError(f"{name!r} is not valid JSON: {exc}") from exc


def _place(operations: Any, path: str, file: Any) -> None:
    """Replace the ``null`` at the dotted ``path`` (e.g. ``variables.file``) by ``file``."""
    *parents, last = path.split(".")
    container = operations
    for segment in parents:
        container = _step(container, segment, path)
    key = _key(container, last, path)
    if container[key] is not None:
        raise MultipartRequestError(f"'map' path {path!r} does not lead to a null placeholder.")
    container[key] = file


def _step(container: Any, segment: str, path: str) -> Any:
    return container[_key(container, segment, path)]


def _key(container: Any, segment: str, path: str) -> Any:
    if isinstance(container, dict) and segment in container:
        return segment
    if isinstance(container, list) and segment.isdecimal() and int(segment) < len(container):
        return int(segment)
    raise MultipartRequestError(f"'map' path {path!r} leads nowhere in 'operations'.")

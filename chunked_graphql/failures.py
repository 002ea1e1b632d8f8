"""What the endpoint answers when a request's parameters are malformed, or when something fails
that nobody meant to fail.

- ``check_params``: ``query``, ``variables`` and ``operationName`` of the wrong JSON type
  (``{"query": 123}``, ``{"variables": "[]"}``...) are answered with HTTP 400 and a message
  saying which, instead of the exception graphql-core would raise deep inside (a 500).
- ``mask_unexpected``: an exception a resolver did not mean to raise (anything but a
  ``GraphQLError``, such as the ``STORAGE_ERROR`` one, or a ``RequestBodyError``) is logged on
  the ``chunked_graphql`` logger with its traceback, and the client reads only
  ``INTERNAL_ERROR``. graphene-django would put ``str(exception)`` in ``errors[].message``,
  which can carry file paths, SQL or settings. Typed errors are results, not exceptions, and
  pass untouched.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponseBadRequest
from graphene_django.views import HttpError
from graphql import ExecutionResult, GraphQLError

from .exceptions import RequestBodyError

__all__ = ["INTERNAL_ERROR", "NESTED_TOO_DEEPLY", "check_params", "mask_unexpected"]

logger = logging.getLogger("chunked_graphql")

INTERNAL_ERROR = "Internal error; it has been logged."
NESTED_TOO_DEEPLY = "The request body is nested too deeply to be read."

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_TYPES.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


def bad_request(message: str) -> HttpError:
    return HttpError(HttpResponseBadRequest(message))


def check_params(query: Any, variables: Any, operation_name: Any) -> Any:
    """``variables`` as execution takes them (``None`` for none); raise ``HttpError`` (HTTP
    400) when a parameter has the wrong type."""
    if query is not None and not isinstance(query, str):
        raise bad_request(f"'query' must be a string, not {_json_type(query)}.")
    if operation_name is not None and not isinstance(operation_name, str):
        raise bad_request(f"'operationName' must be a string, not {_json_type(operation_name)}.")
    if variables is None or variables == "":
        return None
    if not isinstance(variables, dict):
        raise bad_request(f"'variables' must be a JSON object, not {_json_type(variables)}.")
    return variables


def _unexpected(error: Exception) -> BaseException | None:
    """The exception behind ``error`` if no one meant it for the client."""
    if not isinstance(error, GraphQLError):
        return error
    original = error.original_error
    # Errors without a path (syntax, validation, variable values) describe the request.
    if error.path is None or original is None:
        return None
    if isinstance(original, GraphQLError | RequestBodyError):
        return None
    return original


def mask_unexpected(request: HttpRequest, result: ExecutionResult) -> ExecutionResult:
    """``result`` with each unexpected error logged and replaced by ``INTERNAL_ERROR``."""
    if not result.errors:
        return result
    errors: list[GraphQLError] = []
    for error in result.errors:
        original = _unexpected(error)
        if original is None:
            errors.append(error)
            continue
        path = getattr(error, "path", None)
        logger.error(
            "Unexpected error in a GraphQL request to %s%s",
            request.path,
            f" at {'.'.join(map(str, path))}" if path else "",
            exc_info=(type(original), original, original.__traceback__),
        )
        if isinstance(error, GraphQLError):
            errors.append(
                GraphQLError(INTERNAL_ERROR, error.nodes, error.source, error.positions, path)
            )
        else:
            errors.append(GraphQLError(INTERNAL_ERROR))
    return ExecutionResult(result.data, errors, result.extensions)

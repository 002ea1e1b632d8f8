"""System checks: an invalid setting fails loudly at start-up, with a stable id.

======================  ==========================================================================
id                      problem
======================  ==========================================================================
chunked_graphql.E001    EXPIRATION_DELTA is not a positive ``timedelta``
chunked_graphql.E002    PATH is not a relative path inside the storage root, or too long
chunked_graphql.E003    CHECKSUM is not a hashlib algorithm with a fixed-size digest
chunked_graphql.E004    COMPLETE_EXT or INCOMPLETE_EXT is not a plain extension of ≤ 16 chars
chunked_graphql.E005    STORAGE_CLASS is not a Storage subclass, dotted path or factory
chunked_graphql.E006    USER_RESTRICTED or ABSTRACT_MODEL is not a bool
chunked_graphql.E007    MAX_BYTES is neither None nor a positive integer
chunked_graphql.E008    COMPLETION_HOOK is not a callable (or importable dotted path to one)
chunked_graphql.E009    ABSTRACT_MODEL is on but no single upload model can be found
chunked_graphql.E010    MAX_CHUNK_SIZE is not a positive integer
chunked_graphql.E020    MAX_QUERY_BYTES is neither None nor a positive integer
chunked_graphql.E021    MAX_QUERY_TOKENS is neither None nor a positive integer
chunked_graphql.E022    MAX_QUERY_DEPTH is neither None nor a positive integer
chunked_graphql.E023    MAX_QUERY_FIELDS is neither None nor a positive integer
chunked_graphql.E024    MAX_UPLOAD_FIELDS is neither None nor a positive integer
chunked_graphql.E025    GRAPHIQL is neither None nor a bool
chunked_graphql.E026    INTROSPECTION is neither None nor a bool
chunked_graphql.E030    MIN_UPLOAD_RATE is neither None nor a positive number (bytes per second)
chunked_graphql.E031    REQUEST_GRACE is neither None nor a positive number of seconds
chunked_graphql.E032    STALL_TIMEOUT is neither None nor a positive number of seconds
chunked_graphql.E033    REQUEST_TIME_LIMIT is neither None nor a positive number of seconds
chunked_graphql.E034    STALL_TIMEOUT is shorter than REQUEST_GRACE
chunked_graphql.E040    MAX_PAGE_SIZE is not a positive integer
chunked_graphql.E050    MAX_INCOMPLETE_UPLOADS is neither None nor a positive integer
chunked_graphql.E051    MAX_INCOMPLETE_BYTES is neither None nor a positive integer
chunked_graphql.W001    a SQLite database without ``"transaction_mode": "IMMEDIATE"``
chunked_graphql.W002    the URL ``chunked_graphql:upload`` cannot be reversed
======================  ==========================================================================
"""

from __future__ import annotations

import datetime
import math
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from .hashing import is_supported
from .settings import upload_settings
from .stores.names import storage_directory

MAX_NAME_LENGTH = 255  # the model's FileField max_length
MAX_EXT_LENGTH = 16
UUID_AND_EXT_LENGTH = 1 + 36 + MAX_EXT_LENGTH  # "/", a hyphenated UUID, the extension


def _error(name: str, message: str, check_id: str, hint: str | None = None) -> checks.Error:
    source = upload_settings.source(name) or f"CHUNKED_GRAPHQL_{name}"
    return checks.Error(f"{source} {message}", hint=hint, id=check_id)


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return list(_setting_errors())


def _setting_errors() -> Iterator[checks.CheckMessage]:
    raw = upload_settings.raw

    delta = raw("EXPIRATION_DELTA")
    if not isinstance(delta, datetime.timedelta) or delta <= datetime.timedelta(0):
        yield _error(
            "EXPIRATION_DELTA",
            f"must be a positive timedelta, not {delta!r}.",
            "chunked_graphql.E001",
        )

    yield from _path_errors(raw("PATH"))

    algorithm = raw("CHECKSUM")
    if not is_supported(algorithm):
        yield _error(
            "CHECKSUM",
            f"must name a hashlib algorithm with a fixed-size digest, not {algorithm!r}.",
            "chunked_graphql.E003",
            hint="For example 'md5', 'sha1', 'sha256' or 'blake2b'.",
        )

    for name in ("COMPLETE_EXT", "INCOMPLETE_EXT"):
        ext = raw(name)
        if (
            not isinstance(ext, str)
            or any(c in "/\\" or unicodedata.category(c) == "Cc" for c in ext)
            or ".." in ext
            or len(ext) > MAX_EXT_LENGTH
        ):
            yield _error(
                name,
                f"must be a file extension such as '.part', not {ext!r}.",
                "chunked_graphql.E004",
            )

    for name, check_id, resolve in (
        ("STORAGE_CLASS", "chunked_graphql.E005", upload_settings.storage),
        ("COMPLETION_HOOK", "chunked_graphql.E008", upload_settings.completion_hook),
    ):
        try:
            resolve()
        except ImproperlyConfigured as exc:
            yield checks.Error(str(exc), id=check_id)
        except Exception as exc:  # a storage whose constructor fails, for one
            yield _error(name, f"could not be set up: {exc!r}.", check_id)

    for name in ("USER_RESTRICTED", "ABSTRACT_MODEL"):
        if not isinstance(raw(name), bool):
            yield _error(name, f"must be True or False, not {raw(name)!r}.", "chunked_graphql.E006")

    max_bytes = raw("MAX_BYTES")
    if max_bytes is not None and (
        not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0
    ):
        yield _error(
            "MAX_BYTES",
            f"must be None or a positive integer, not {max_bytes!r}.",
            "chunked_graphql.E007",
        )

    max_chunk_size = raw("MAX_CHUNK_SIZE")
    if (
        not isinstance(max_chunk_size, int)
        or isinstance(max_chunk_size, bool)
        or max_chunk_size <= 0
    ):
        yield _error(
            "MAX_CHUNK_SIZE",
            f"must be a positive integer, not {max_chunk_size!r}.",
            "chunked_graphql.E010",
        )

    max_page_size = raw("MAX_PAGE_SIZE")
    if not isinstance(max_page_size, int) or isinstance(max_page_size, bool) or max_page_size <= 0:
        yield _error(
            "MAX_PAGE_SIZE",
            f"must be a positive integer, not {max_page_size!r}.",
            "chunked_graphql.E040",
        )

    # The per-user quotas on incomplete uploads (services/quotas.py).
    for name, check_id in (
        ("MAX_INCOMPLETE_UPLOADS", "chunked_graphql.E050"),
        ("MAX_INCOMPLETE_BYTES", "chunked_graphql.E051"),
    ):
        quota = raw(name)
        if quota is not None and (
            not isinstance(quota, int) or isinstance(quota, bool) or quota <= 0
        ):
            yield _error(name, f"must be None or a positive integer, not {quota!r}.", check_id)
    yield from _request_limit_errors()
    yield from _deadline_errors()

    if raw("ABSTRACT_MODEL") is True:
        from .models import get_upload_model

        try:
            get_upload_model()
        except ImproperlyConfigured as exc:
            yield checks.Error(str(exc), id="chunked_graphql.E009")


# The limits of chunked_graphql.limits and the two switches, each with its own id.
_REQUEST_LIMITS = {
    "MAX_QUERY_BYTES": "E020",
    "MAX_QUERY_TOKENS": "E021",
    "MAX_QUERY_DEPTH": "E022",
    "MAX_QUERY_FIELDS": "E023",
    "MAX_UPLOAD_FIELDS": "E024",
}
_REQUEST_SWITCHES = {"GRAPHIQL": "E025", "INTROSPECTION": "E026"}


def _request_limit_errors() -> Iterator[checks.CheckMessage]:
    for name, code in _REQUEST_LIMITS.items():
        value = upload_settings.raw(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value <= 0
        ):
            yield _error(
                name,
                f"must be None or a positive integer, not {value!r}.",
                f"chunked_graphql.{code}",
            )
    for name, code in _REQUEST_SWITCHES.items():
        value = upload_settings.raw(name)
        if value is not None and not isinstance(value, bool):
            yield _error(
                name,
                f"must be None (on while DEBUG is on), True or False, not {value!r}.",
                f"chunked_graphql.{code}",
            )


# The deadlines on request bodies (chunked_graphql.deadlines), each None or a positive number.
DEADLINE_CHECKS = {
    "MIN_UPLOAD_RATE": ("chunked_graphql.E030", "bytes per second"),
    "REQUEST_GRACE": ("chunked_graphql.E031", "seconds"),
    "STALL_TIMEOUT": ("chunked_graphql.E032", "seconds"),
    "REQUEST_TIME_LIMIT": ("chunked_graphql.E033", "seconds"),
}


def _is_positive_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _deadline_errors() -> Iterator[checks.CheckMessage]:
    raw = upload_settings.raw
    valid = True
    for name, (check_id, unit) in DEADLINE_CHECKS.items():
        value = raw(name)
        if value is not None and not _is_positive_number(value):
            valid = False
            yield _error(
                name, f"must be None or a positive number of {unit}, not {value!r}.", check_id
            )
    grace, stall = raw("REQUEST_GRACE"), raw("STALL_TIMEOUT")
    if valid and grace is not None and stall is not None and stall < grace:
        yield _error(
            "STALL_TIMEOUT",
            f"({stall!r} s) must not be shorter than REQUEST_GRACE ({grace!r} s).",
            "chunked_graphql.E034",
            hint="A body may pause this long once it is ahead; it waits REQUEST_GRACE at first.",
        )


def _path_errors(path: object) -> Iterator[checks.CheckMessage]:
    if not isinstance(path, str):
        yield _error("PATH", f"must be a string, not {path!r}.", "chunked_graphql.E002")
        return
    try:
        directory = storage_directory(datetime.datetime(2000, 1, 2, 3, 4, 5).strftime(path))
    except ValueError:
        yield _error(
            "PATH",
            f"must be a relative path inside the storage root, not {path!r}.",
            "chunked_graphql.E002",
        )
        return
    if len(directory) + UUID_AND_EXT_LENGTH > MAX_NAME_LENGTH:
        yield _error(
            "PATH",
            f"is too long: stored names (PATH/<id><ext>) must fit in {MAX_NAME_LENGTH} characters.",
            "chunked_graphql.E002",
        )


# Untagged so it runs without --database: it reads settings only, never a connection.
@checks.register()
def check_sqlite_transaction_mode(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    warnings: list[checks.CheckMessage] = []
    databases: dict[str, Any] = settings.DATABASES
    for alias, config in databases.items():
        if not config.get("ENGINE", "").endswith("sqlite3"):
            continue
        if config.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE":
            warnings.append(
                checks.Warning(
                    f"Database {alias!r} is SQLite without transaction_mode IMMEDIATE: "
                    "concurrent chunks of one upload can fail with 'database is locked'.",
                    hint=(
                        f'Set DATABASES["{alias}"]["OPTIONS"] = '
                        '{"transaction_mode": "IMMEDIATE", "timeout": 20}.'
                    ),
                    id="chunked_graphql.W001",
                )
            )
    return warnings


@checks.register(checks.Tags.urls)
def check_upload_url(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        reverse("chunked_graphql:upload", kwargs={"upload_id": "0" * 32})
    except NoReverseMatch:
        return [
            checks.Warning(
                "The URL 'chunked_graphql:upload' cannot be reversed, so uploads' url field "
                "will be empty.",
                hint='Include the app\'s URLs: path("graphql/", include("chunked_graphql.urls")).',
                id="chunked_graphql.W002",
            )
        ]
    return []

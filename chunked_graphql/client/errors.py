"""What can go wrong on the client side, as exceptions a caller can tell apart.

ClientError                 every failure of an upload; ``str()`` is one line for a user
├── ServerUnreachable       no HTTP answer at all (refused, DNS, timeout): worth retrying
├── ServerError             an HTTP answer that is not a GraphQL result we can use (``transient``
│                           for 5xx, 429 and the server's STORAGE_ERROR and UPLOAD_BUSY)
│   ├── NotAnEndpoint       the URL answers, but not as a GraphQL endpoint (an HTML page, a 404)
│   └── AuthenticationFailed  401/403: wrong token, failed sign-in, CSRF refused
│       └── LoginPageNotFound  no sign-in page where SessionAuth looked for one
├── UploadRejected          a typed error of the API (``code``: the schema's UploadErrorCode)
└── LocalFileError          the file cannot be read, is empty, or changed while uploading
"""

from __future__ import annotations

import re
from typing import Any


class ClientError(Exception):
    """Base of the client's errors. ``transient`` says whether retrying may help."""

    transient: bool = False

    def __init__(self, message: str) -> None:
        # One line, always: the CLI prints it as is.
        self.message = " ".join(message.split())
        super().__init__(self.message)


class ServerUnreachable(ClientError):
    transient = True


class ServerError(ClientError):
    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        transient: bool = False,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        #: The GraphQL ``errors`` of the answer, if it had any.
        self.errors = errors or []
        # A restarting server, a proxy timing out, rate limiting, the server's storage failing
        # for a moment (a GraphQL error with code STORAGE_ERROR) or an earlier copy of a chunk
        # still arriving (UPLOAD_BUSY): worth another try.
        self.transient = transient or (status is not None and (status >= 500 or status == 429))

    @property
    def schema_lacks_it(self) -> bool:
        """Whether the server refused the operation because its schema does not have a field,
        argument or type the operation uses: a server older than the client."""
        return bool(self.errors) and all(
            isinstance(error, dict) and _UNKNOWN_TO_SCHEMA.match(str(error.get("message", "")))
            for error in self.errors
        )


# graphql-core's validation messages for names a schema does not have.
_UNKNOWN_TO_SCHEMA = re.compile(
    r"^(Cannot query field|Unknown argument|Unknown type|Fragment cannot be spread here)"
)


class NotAnEndpoint(ServerError):
    """The first answer from the endpoint URL is not GraphQL's JSON: a wrong URL, not a server
    having a bad moment, so retrying cannot help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, status)
        self.transient = False


class AuthenticationFailed(ServerError):
    pass


class LoginPageNotFound(AuthenticationFailed):
    pass


class UploadRejected(ClientError):
    """The server answered with one of the API's typed errors; that request changed nothing."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.server_message = message
        self.http_status = http_status
        self.details = details or {}


class LocalFileError(ClientError):
    pass

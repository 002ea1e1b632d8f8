"""Token authentication for scripts: ``Authorization: Bearer <token>``.

``manage.py ensure_demo_user`` prints a token for the demo account. A token is the user's id
and session-auth hash, signed with the SECRET_KEY and timestamped, so it needs no table, expires
after ``EXAMPLE_SITE_TOKEN_MAX_AGE`` seconds, and stops working when the password changes.

The header is read as RFC 9110 §11 defines credentials: the scheme is case-insensitive and the
token is a ``token68``. A ``Bearer`` header that does not parse, or whose token is invalid or
expired, is answered 401 at once instead of leaving the request anonymous; other schemes are
left to other authentication (Basic is deliberately not accepted, see below).

Browsers never attach this header on their own (unlike cookies, or cached HTTP Basic
credentials), so a request authenticated by it cannot be forged cross-site and needs no CSRF
token. Real projects use their own scheme; anything that sets ``request.user`` works with
chunked_graphql.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

SALT = "example_site.auth.token"
DEFAULT_MAX_AGE = 24 * 60 * 60  # seconds

# RFC 9110 §11.3-11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
_CREDENTIALS = re.compile(r"(?P<scheme>[!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(?P<rest>.*))?\Z")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*\Z")


def _signer() -> signing.TimestampSigner:
    # "." rather than signing's default ":" keeps the token a token68.
    return signing.TimestampSigner(salt=SALT, sep=".")


def make_token(user: Any) -> str:
    return _signer().sign_object([user.pk, user.get_session_auth_hash()])


def max_age() -> int:
    return int(getattr(settings, "EXAMPLE_SITE_TOKEN_MAX_AGE", DEFAULT_MAX_AGE))


def user_for_token(token: str) -> Any:
    """The active user ``token`` was made for, if it has not expired; else ``None``."""
    try:
        pk, auth_hash = _signer().unsign_object(token, max_age=max_age())
        user = get_user_model()._default_manager.get(pk=pk, is_active=True)
    except (signing.BadSignature, ValueError, TypeError, get_user_model().DoesNotExist):
        return None
    return user if constant_time_compare(auth_hash, user.get_session_auth_hash()) else None


def bearer_token(header: str | None) -> str | None:
    """The token of a ``Bearer`` Authorization header; ``""`` for a header that is malformed
    (no scheme at all, or a Bearer token that is not a token68); ``None`` when the header is
    absent or of another scheme."""
    if header is None:
        return None
    match = _CREDENTIALS.match(header.strip(" \t"))
    if match is None:
        return ""
    if match["scheme"].lower() != "bearer":
        return None
    token = (match["rest"] or "").strip(" ")
    return token if _TOKEN68.match(token) else ""


class TokenAuthenticationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # META rather than request.headers, which would copy every header of every request.
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token is not None:
            user = user_for_token(token) if token else None
            if user is None:
                response = HttpResponse(
                    json.dumps({"errors": [{"message": "Invalid or expired token."}]}),
                    status=401,
                    content_type="application/json",
                )
                response["WWW-Authenticate"] = "Bearer"
                return response
            request.user = user
        return self.get_response(request)

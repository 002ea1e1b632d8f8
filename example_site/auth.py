"""Token authentication for scripts: ``Authorization: Bearer <token>``.

``manage.py ensure_demo_user`` prints a token for the demo account. A token is the user's id
and session-auth hash signed with the SECRET_KEY, so it needs no table and stops working when
the password changes.

Browsers never attach this header on their own (unlike cookies, or cached HTTP Basic
credentials), so a request authenticated by it cannot be forged cross-site and needs no CSRF
token. Real projects use their own scheme; anything that sets ``request.user`` works with
chunked_graphql.
"""

import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

SALT = "example_site.auth.token"


def make_token(user: Any) -> str:
    return signing.dumps([user.pk, user.get_session_auth_hash()], salt=SALT)


def user_for_token(token: str) -> Any:
    """The active user ``token`` was made for, or ``None``."""
    try:
        pk, auth_hash = signing.loads(token, salt=SALT)
        user = get_user_model()._default_manager.get(pk=pk, is_active=True)
    except (signing.BadSignature, ValueError, TypeError, get_user_model().DoesNotExist):
        return None
    return user if constant_time_compare(auth_hash, user.get_session_auth_hash()) else None


class TokenAuthenticationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = user_for_token(header.removeprefix("Bearer ").strip())
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

"""HTTP Basic authentication for scripts (``curl -u demo:demo-upload``).

A request authenticated by a header carries no session cookie, so it cannot be forged
cross-site and needs no CSRF token. Real projects would use their own token scheme; anything that
sets ``request.user`` works with chunked_graphql.
"""

import base64
import binascii
import json
from collections.abc import Callable

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse


class BasicAuthenticationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user = None
            try:
                username, _, password = (
                    base64.b64decode(header[6:], validate=True).decode().partition(":")
                )
                user = authenticate(request, username=username, password=password)
            except (binascii.Error, UnicodeDecodeError):
                pass
            if user is None:
                response = HttpResponse(
                    json.dumps({"errors": [{"message": "Invalid username or password."}]}),
                    status=401,
                    content_type="application/json",
                )
                response["WWW-Authenticate"] = 'Basic realm="chunked_graphql example"'
                return response
            request.user = user
        return self.get_response(request)

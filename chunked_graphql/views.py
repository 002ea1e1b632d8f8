"""The GraphQL endpoint: graphene-django's view with a robust multipart parser and CSRF.

Three things differ from graphene-file-upload's ``FileUploadGraphQLView``:

- Every malformed request (bad multipart body, ``operations``/``map`` that is not JSON, a map
  naming a missing part or a path that leads nowhere) gets HTTP 400 with ``{"errors": [...]}``,
  never a 500 or an HTML page.
- CSRF is checked here, after the body is parsed, instead of by ``CsrfViewMiddleware``: the
  middleware parses a multipart body itself and answers Django's HTML 400 when it cannot. The
  check applies to requests authenticated by the session cookie, which is where a cross-site
  request could borrow a user's credentials; requests carrying no session (scripts using token
  headers, anonymous clients) need no token. ``csrf_required`` is the hook to change that.
- When routed with an ``upload_id`` (see ``chunked_graphql.urls``), that id addresses the upload
  for mutations that omit ``uploadId``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.datastructures import MultiValueDict
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError

from .multipart import (
    MultipartRequest,
    RequestBodyError,
    load_body,
    parse_multipart_operations,
)

_URL_UPLOAD_ID = "chunked_graphql_upload_id"


def url_upload_id(request: Any) -> str | None:
    """The upload id in the URL this request was posted to, if any."""
    return getattr(request, _URL_UPLOAD_ID, None)


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> Any:
        return reason


def csrf_failure(request: HttpRequest) -> str | None:
    """Why ``request`` fails Django's CSRF protection, or ``None`` if it passes."""
    check = _CsrfCheck(_no_view)
    check.process_request(request)
    reason: Any = check.process_view(request, _no_view, (), {})
    return reason


def _no_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@method_decorator(csrf_exempt, name="dispatch")
class ChunkedUploadGraphQLView(GraphQLView):
    """graphene-django's ``GraphQLView`` speaking the GraphQL multipart request spec."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        setattr(request, _URL_UPLOAD_ID, kwargs.pop("upload_id", None))
        # Read before graphene-django's dispatch runs: its ensure_csrf_cookie decorator reads
        # request.POST, and Django would answer a malformed or oversized body with an HTML 400.
        # A multipart body is read only up to its file part, which the resolver streams.
        self._multipart: MultipartRequest | None = None
        if request.method == "POST":
            try:
                if self.get_content_type(request) == "multipart/form-data":
                    self._multipart = parse_multipart_operations(request, batch=self.batch)
                    # The text fields, for code that reads request.POST (a csrfmiddlewaretoken
                    # field); files are not repeated there.
                    request._post = self._multipart.fields  # type: ignore[attr-defined]
                    request._files = MultiValueDict()  # type: ignore[attr-defined]
                else:
                    load_body(request)
            except RequestBodyError as exc:
                return self.error_response(request, HttpResponseBadRequest(), str(exc))
        response: HttpResponse = super().dispatch(request, *args, **kwargs)
        if self._multipart is not None:
            if self._multipart.error is not None:
                # The body broke off (or went wrong) inside the file part while a resolver read
                # it; the service committed nothing, and this is the client's request at fault.
                return self.error_response(
                    request, HttpResponseBadRequest(), str(self._multipart.error)
                )
            self._multipart.finish()
        return response

    def parse_body(self, request: HttpRequest) -> Any:
        if self._multipart is not None:
            data = self._multipart.operations
        else:
            data = super().parse_body(request)
        if request.method == "POST" and self.csrf_required(request):
            reason = csrf_failure(request)
            if reason:
                raise HttpError(HttpResponseForbidden(f"CSRF Failed: {reason}"))
        return data

    def error_response(
        self, request: HttpRequest, response: HttpResponse, message: str
    ) -> HttpResponse:
        """``response`` carrying ``{"errors": [{"message": message}]}``, as graphene-django
        answers requests it cannot execute."""
        response["Content-Type"] = "application/json"
        response.content = self.json_encode(request, {"errors": [{"message": message}]})
        return response

    def csrf_required(self, request: HttpRequest) -> bool:
        """Whether this request must pass the CSRF check: it carries the session cookie of a
        signed-in user. Override for other cookie-based authentication."""
        user = getattr(request, "user", None)
        return bool(
            settings.SESSION_COOKIE_NAME in request.COOKIES
            and user is not None
            and user.is_authenticated
        )

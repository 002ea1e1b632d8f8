"""The GraphQL endpoint: graphene-django's view with a robust multipart parser and CSRF.

What differs from graphene-file-upload's ``FileUploadGraphQLView``:

- Every malformed request (bad multipart body, ``operations``/``map`` that is not JSON, a map
  naming a missing part or a path that leads nowhere) gets HTTP 400 with ``{"errors": [...]}``,
  never a 500 or an HTML page.
- CSRF is checked here, after the body is parsed, instead of by ``CsrfViewMiddleware``: the
  middleware parses a multipart body itself and answers Django's HTML 400 when it cannot. The
  check applies to requests authenticated by the session cookie, which is where a cross-site
  request could borrow a user's credentials; requests carrying no session (scripts using token
  headers, anonymous clients) need no token. ``csrf_required`` is the hook to change that.
- Each query text is parsed and validated once per process, not on every request, and is
  first held to the limits of ``chunked_graphql.limits`` (size, tokens, fields, depth, upload
  fields; introspection and GraphiQL off unless DEBUG): a refusal is a 400 that costs
  milliseconds and executes nothing.
- Parameters of the wrong type and bodies nested too deeply are a 400, and an exception no
  resolver meant to raise is logged and answered without its details (``failures``).

When routed with an ``upload_id`` (see ``chunked_graphql.urls``), that id addresses the upload
for mutations that omit ``uploadId``: the resolvers read it from ``request.resolver_match``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
)
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils.datastructures import MultiValueDict
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django.constants import MUTATION_ERRORS_FLAG
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    validate,
    validate_schema,
)

from . import documents, failures, limits
from .deadlines import body_deadline
from .exceptions import RequestBodyError
from .multipart import MultipartRequest, load_body, parse_multipart_operations

# Documents that passed validation, by query text (and schema, rules and limits); a document
# is never changed by execution. Bounded in number and in memory (documents.DocumentCache).
_DOCUMENTS = documents.DocumentCache()


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


# graphene-django's dispatch without its ensure_csrf_cookie decorator (method_decorator keeps
# the undecorated function as __wrapped__); the endpoint sets the cookie itself, see
# _with_csrf_cookie. None if a graphene-django release decorates it otherwise.
_GRAPHENE_DISPATCH: Any = getattr(GraphQLView.dispatch, "__wrapped__", None)


def _with_csrf_cookie(request: HttpRequest, respond: Any) -> HttpResponse:
    """``respond()``'s response with the CSRF cookie set, or renewed, as graphene-django's
    ``ensure_csrf_cookie`` does it, without the work that decorator throws away: a masked token
    (32 random characters) and a CSRF check whose verdict it ignores. The check that counts is
    ``csrf_failure``'s, for the requests that need one."""
    cookie = CsrfViewMiddleware(_no_view)
    cookie.process_request(request)
    if "CSRF_COOKIE" in request.META:
        # What get_token does with a valid cookie, short of masking it.
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    else:
        get_token(request)  # a new secret
    response: HttpResponse = respond()
    cookie.process_response(request, response)  # sets the cookie on this response
    return response


@method_decorator(csrf_exempt, name="dispatch")
class ChunkedUploadGraphQLView(GraphQLView):
    """graphene-django's ``GraphQLView`` speaking the GraphQL multipart request spec."""

    # GraphiQL from the app's own static files rather than a CDN, so it renders offline.
    graphiql_template = "chunked_graphql/graphiql.html"

    @body_deadline  # a body arriving too slowly is cut off, not waited for (deadlines.py)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Read before graphene-django's dispatch runs: the CSRF check reads request.POST, and
        # Django would answer a malformed or oversized body with an HTML 400.
        # A multipart body is read only up to its file part, which the resolver streams.
        self._multipart: MultipartRequest | None = None
        self.graphiql: bool = bool(self.graphiql) and limits.graphiql_enabled()
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
        response: HttpResponse
        if _GRAPHENE_DISPATCH is None:
            response = super().dispatch(request, *args, **kwargs)
        else:
            response = _with_csrf_cookie(
                request, lambda: _GRAPHENE_DISPATCH(self, request, *args, **kwargs)
            )
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
            try:
                data = super().parse_body(request)
            except RecursionError:
                raise failures.bad_request(failures.NESTED_TOO_DEEPLY) from None
            except UnicodeDecodeError as exc:  # an application/graphql body
                raise failures.bad_request(f"The request body is not UTF-8: {exc}") from None
        if request.method == "POST" and self.csrf_required(request):
            reason = csrf_failure(request)
            if reason:
                raise HttpError(HttpResponseForbidden(f"CSRF Failed: {reason}"))
        return data

    def get_graphql_params(self, request: HttpRequest, data: Any) -> Any:
        if not hasattr(data, "get"):  # an entry of a batch that is not an object
            raise failures.bad_request("Each operation must be a JSON object.")
        query, variables, operation_name, id_ = super().get_graphql_params(request, data)
        variables = failures.check_params(query, variables, operation_name)
        return query, variables, operation_name, id_

    def execute_graphql_request(
        self,
        request: HttpRequest,
        data: Any,
        query: str | None,
        variables: Any,
        operation_name: str | None,
        show_graphiql: bool = False,
    ) -> Any:
        """graphene-django's ``execute_graphql_request`` (3.2.3, which it follows step by step)
        with one difference: the query text's parsed document and its validation errors come
        from ``_checked_document``, remembered per process. Clients send the same few mutations
        over and over (one per chunk), and parsing and validating a document costs more than
        executing it. Upstream has no hook between those steps, hence the copy. An exception
        no resolver meant to raise is logged and masked (``failures.mask_unexpected``)."""
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseBadRequest("Must provide query string."))
        schema = self.schema.graphql_schema
        schema_errors = validate_schema(schema)
        if schema_errors:
            return ExecutionResult(data=None, errors=schema_errors)
        try:
            document, validation_errors = self._checked_document(schema, query)
        except GraphQLError as exc:
            return ExecutionResult(errors=[exc])
        operation = get_operation_ast(document, operation_name)
        kind = operation.operation if operation is not None else None
        if request.method == "GET" and kind is not None and kind != OperationType.QUERY:
            if show_graphiql:
                return None
            raise HttpError(
                HttpResponseNotAllowed(
                    ["POST"], f"Can only perform a {kind.value} operation from a POST request."
                )
            )
        if validation_errors:
            return ExecutionResult(data=None, errors=validation_errors)
        options: dict[str, Any] = {
            "root_value": self.get_root_value(request),
            "context_value": self.get_context(request),
            "variable_values": variables,
            "operation_name": operation_name,
            "middleware": self.get_middleware(request),
        }
        if self.execution_context_class:
            options["execution_context_class"] = self.execution_context_class
        atomic = graphene_settings.ATOMIC_MUTATIONS is True or (
            connection.settings_dict.get("ATOMIC_MUTATIONS", False) is True
        )
        try:
            if kind == OperationType.MUTATION and atomic:
                with transaction.atomic():
                    result = execute(schema, document, **options)
                    if getattr(request, MUTATION_ERRORS_FLAG, False) is True:
                        transaction.set_rollback(True)
            else:
                result = execute(schema, document, **options)
        except Exception as exc:
            # As graphene-django does: the error becomes an "errors" entry.
            result = ExecutionResult(errors=[exc])  # type: ignore[list-item]
        return failures.mask_unexpected(request, result)  # type: ignore[arg-type]

    def _checked_document(self, schema: Any, query: str) -> tuple[DocumentNode, list[Any]]:
        """The parsed document and its validation errors. The limits are checked first
        (``limits.QueryRefused``, a ``GraphQLError``), then graphql-core's rules; a document
        that passes is remembered, and errors are found again every time."""
        rules = limits.validation_rules(self.validation_rules)
        key = (id(schema), rules, limits.limit_values(), query)
        document = _DOCUMENTS.get(key)
        if document is not None:
            return document, []
        document = limits.parse_query(query)
        limits.check_document(schema, document)
        try:
            errors = validate(schema, document, rules, graphene_settings.MAX_VALIDATION_ERRORS)
        except RecursionError:
            raise limits.nested_too_deeply() from None
        if not errors:
            _DOCUMENTS.put(key, document, documents.document_cost(query, document))
        return document, errors

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

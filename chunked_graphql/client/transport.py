"""GraphQL over HTTP with requests: JSON bodies for plain operations, the GraphQL multipart
request spec for operations carrying a file, and the authentication schemes the server accepts.

Authentication, one of:

- ``HeaderAuth`` / ``BearerAuth``: a header on every request (token-based projects). Browsers
  never send such a header by themselves, so the server asks for no CSRF token.
- ``SessionAuth``: sign in through Django's login form like a browser, then send the session
  cookie with the CSRF cookie and the matching ``X-CSRFToken`` header on every POST.

Every failure becomes a :mod:`chunked_graphql.client.errors` exception with a one-line message.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from .errors import (
    AuthenticationFailed,
    LoginPageNotFound,
    NotAnEndpoint,
    ServerError,
    ServerUnreachable,
)

USER_AGENT = "chunked-graphql-client/0.1"
# extensions.code of the server's GraphQL errors after which the same request may be sent again:
# its storage failed, or another request (an earlier copy of the same chunk, still arriving) was
# writing the same bytes. Either way the upload kept its last good offset.
STORAGE_ERROR = "STORAGE_ERROR"
# Answers that may come as HTML from in front of a real endpoint, so do not tell that the URL is
# wrong: a proxy's or rate limiter's while the server is down, starting or busy (worth retrying),
# and an authentication layer's 401.
NOT_ENDPOINT_UNLESS_JSON = frozenset({401, 429, 502, 503, 504})
# Django's default LOGIN_URL, looked for on the endpoint's site.
DEFAULT_LOGIN_PATH = "/accounts/login/"
UPLOAD_BUSY = "UPLOAD_BUSY"
RETRYABLE_CODES = frozenset({STORAGE_ERROR, UPLOAD_BUSY})


class Auth(Protocol):
    def prepare(self, session: requests.Session, endpoint: str, timeout: float) -> None:
        """Run once before the first request (sign in, fetch cookies)."""

    def headers(self, session: requests.Session) -> dict[str, str]:
        """Headers to add to each request."""


class NoAuth:
    """Anonymous requests (servers with ``USER_RESTRICTED = False``)."""

    def prepare(self, session: requests.Session, endpoint: str, timeout: float) -> None:
        pass

    def headers(self, session: requests.Session) -> dict[str, str]:
        return {}


class HeaderAuth:
    """Fixed headers, e.g. ``{"X-Api-Key": "…"}``."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def prepare(self, session: requests.Session, endpoint: str, timeout: float) -> None:
        pass

    def headers(self, session: requests.Session) -> dict[str, str]:
        return dict(self._headers)


class BearerAuth(HeaderAuth):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        super().__init__({"Authorization": f"Bearer {token}"})


class SessionAuth:
    """Django session sign-in plus CSRF, as a browser does it.

    ``login_url`` defaults to Django's default ``LOGIN_URL``, ``/accounts/login/``, on the
    endpoint's site; a relative one (``/admin/login/``) is taken relative to the endpoint.
    """

    def __init__(
        self,
        username: str,
        password: str,
        login_url: str | None = None,
        csrf_cookie_name: str = "csrftoken",
    ) -> None:
        self.username = username
        self.password = password
        self.login_url = login_url
        self.csrf_cookie_name = csrf_cookie_name

    def prepare(self, session: requests.Session, endpoint: str, timeout: float) -> None:
        login_url = urljoin(endpoint, self.login_url or DEFAULT_LOGIN_PATH)
        # The form page sets the CSRF cookie that the sign-in POST must echo.
        page = _send(session, "GET", login_url, timeout=timeout)
        if page.status_code == 404:
            raise LoginPageNotFound(f"no login page at {login_url} (HTTP 404)", 404)
        if page.status_code == 200 and self.csrf_cookie_name not in session.cookies:
            raise LoginPageNotFound(
                f"no login page at {login_url} (it sets no {self.csrf_cookie_name} cookie, "
                "so it is not a Django login form)",
                200,
            )
        if page.status_code != 200:
            raise AuthenticationFailed(
                f"Could not open the sign-in page {login_url} (HTTP {page.status_code}).",
                page.status_code,
            )
        answer = _send(
            session,
            "POST",
            login_url,
            data={
                "username": self.username,
                "password": self.password,
                "csrfmiddlewaretoken": session.cookies.get(self.csrf_cookie_name, ""),
            },
            # Django checks the Referer of HTTPS requests against the host.
            headers={"Referer": login_url},
            allow_redirects=False,
            timeout=timeout,
        )
        # Django's LoginView redirects on success and shows the form again on failure.
        if answer.status_code not in (301, 302, 303):
            raise AuthenticationFailed(
                f"Sign-in as {self.username!r} at {login_url} failed "
                f"(HTTP {answer.status_code}): check the username and password.",
                answer.status_code,
            )

    def headers(self, session: requests.Session) -> dict[str, str]:
        # Read on every request: Django rotates the token at sign-in.
        token = session.cookies.get(self.csrf_cookie_name)
        return {"X-CSRFToken": token} if token else {}


def _send(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        return session.request(method, url, **kwargs)
    except requests.Timeout as exc:
        raise ServerUnreachable(
            f"No answer from {url} in time ({exc.__class__.__name__})."
        ) from exc
    except requests.ConnectionError as exc:
        raise ServerUnreachable(f"Cannot reach {url}: {_reason(exc)}") from exc
    except requests.RequestException as exc:
        raise ServerError(f"Request to {url} failed: {exc}") from exc


def _reason(exc: Exception) -> str:
    """The innermost cause of a connection error, without urllib3's object reprs."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Connection reset"):
        if marker in text:
            return marker.lower()
    return text.split(": ")[-1].strip("')\"") or exc.__class__.__name__


class Transport:
    """Posts GraphQL operations to one endpoint with one authenticated ``requests.Session``.

    A ``requests.Session`` is not meant to be shared by threads: each thread sending at the same
    time uses a :meth:`fork` of its own, with its own connections.
    """

    def __init__(
        self,
        endpoint: str,
        auth: Auth | None = None,
        timeout: float = 120.0,
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.auth: Auth = auth or NoAuth()
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self._prepared = False
        # Whether the endpoint has answered with GraphQL's JSON at least once.
        self._answered = False

    def fork(self) -> Transport:
        """Another transport to the same endpoint, with its own session (its own connections)
        carrying this one's cookies and headers: signed in already, if this one is."""
        session = requests.Session()
        session.headers.update(self.session.headers)
        session.cookies.update(self.session.cookies)
        session.auth = self.session.auth
        session.verify = self.session.verify
        session.cert = self.session.cert
        session.proxies.update(self.session.proxies)
        other = copy.copy(self)
        other.session = session
        return other

    def close(self) -> None:
        self.session.close()

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        file: tuple[str, bytes] | None = None,
        file_variable: str = "file",
        url: str | None = None,
    ) -> dict[str, Any]:
        """Run one operation and return its ``data``.

        With ``file`` (a name and the bytes) the request is a multipart request: ``operations``
        with ``null`` at ``variables.<file_variable>``, ``map`` pointing there, then the part.
        """
        if not self._prepared:
            self.auth.prepare(self.session, self.endpoint, self.timeout)
            self._prepared = True
        target = url or self.endpoint
        headers = {
            "Accept": "application/json",
            "Referer": target,
            **self.auth.headers(self.session),
        }
        variables = dict(variables or {})
        if file is None:
            response = _send(
                self.session,
                "POST",
                target,
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=self.timeout,
                # A redirected POST loses its body; it means the URL is not the endpoint.
                allow_redirects=False,
            )
        else:
            variables[file_variable] = None
            name, content = file
            # The spec fixes the order: operations, map, then the files.
            operations = json.dumps({"query": query, "variables": variables})
            files_map = json.dumps({"0": [f"variables.{file_variable}"]})
            parts: list[tuple[str, tuple[str | None, Any, str]]] = [
                ("operations", (None, operations, "application/json")),
                ("map", (None, files_map, "application/json")),
                ("0", (name, content, "application/octet-stream")),
            ]
            response = _send(
                self.session,
                "POST",
                target,
                files=parts,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        return self._data(response, target)

    def _data(self, response: requests.Response, target: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            self._answered = True
        elif not self._answered and response.status_code not in NOT_ENDPOINT_UNLESS_JSON:
            # The endpoint answers every request with JSON, its errors included; an HTML page
            # (Django's 404, the trailing-slash 500 of DEBUG, a redirect, the CSRF middleware's
            # 403 of a view that is not the endpoint) means a wrong URL.
            raise NotAnEndpoint(_not_an_endpoint(target, response), response.status_code)
        message = _error_message(body) or _text_excerpt(response)
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                f"The server refused the request (HTTP {response.status_code}): {message}",
                response.status_code,
            )
        if response.status_code != 200 or not isinstance(body, dict):
            # A document the schema refuses (a server older than the client) is a 400 whose
            # body holds the GraphQL errors.
            raise ServerError(
                f"Unexpected answer from {response.url} (HTTP {response.status_code}): {message}",
                response.status_code,
                errors=_errors(body),
            )
        if body.get("errors") or not isinstance(body.get("data"), dict):
            raise ServerError(
                f"The server reported an error: {message}",
                response.status_code,
                transient=_error_code(body) in RETRYABLE_CODES,
                errors=_errors(body),
            )
        data: dict[str, Any] = body["data"]
        return data


def _not_an_endpoint(url: str, response: requests.Response) -> str:
    what = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    location = response.headers.get("Location")
    if response.is_redirect and location:
        what += f", redirecting to {urljoin(url, location)}"
    scheme, netloc, path, _, _ = urlsplit(url)
    # Django's URLs end in a slash; without one the path is most likely the endpoint's less it.
    likely = path + "/" if path.strip("/") and not path.endswith("/") else "/graphql/"
    likely_url = urlunsplit((scheme, netloc, likely, "", ""))
    hint = (
        f"the endpoint is usually {likely_url}"
        if likely_url != url
        else "check where the project's URLconf includes chunked_graphql.urls"
    )
    if response.status_code >= 500:
        # Perhaps the endpoint, failing: what it said tells which (e.g. DEBUG's first line).
        return (
            f"{url} is not a GraphQL endpoint or failed (HTTP {response.status_code}, {what}: "
            f"{_page_excerpt(response)}); {hint}"
        )
    return f"{url} is not a GraphQL endpoint (HTTP {response.status_code}, {what}); {hint}"


def _page_excerpt(response: requests.Response) -> str:
    """An HTML page's title, or the start of any other body."""
    title = re.search(r"<title[^>]*>(.*?)</title>", response.text, re.I | re.S)
    text = " ".join((title[1] if title else response.text).split())
    return (text[:160] + "…" if len(text) > 160 else text) or "empty body"


def _errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [error for error in errors if isinstance(error, dict)]


def _error_code(body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        extensions = errors[0].get("extensions")
        if isinstance(extensions, dict) and isinstance(extensions.get("code"), str):
            return str(extensions["code"])
    return None


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            return str(first.get("message", ""))
    return ""


def _text_excerpt(response: requests.Response) -> str:
    text = " ".join(response.text.split())
    return text[:200] or response.reason or "empty body"

"""Deadlines on request bodies: a client that sends its body too slowly is cut off, so that it
cannot hold a worker.

A sync gunicorn worker (and each thread of a gthread worker) serves one request at a time, and
reading a body blocks: gunicorn's ``Body.read(n)`` loops until it holds ``n`` bytes, so a client
trickling one byte a second keeps the worker for as long as it likes, and the app never regains
control from inside the read. The deadline is therefore enforced on the connection:

- ``BodyBudget`` is the arithmetic, with no clock or thread of its own. Only the time the server
  spends waiting for the body (blocked in ``recv``) counts, not the time it spends storing what
  arrived or waiting for a lock. A body starts with ``REQUEST_GRACE`` seconds of waiting; each
  byte received earns ``1 / MIN_UPLOAD_RATE`` seconds more, banked up to ``STALL_TIMEOUT``. When
  a wait uses the balance up, or the body is still arriving ``REQUEST_TIME_LIMIT`` seconds after
  the request began, the request is cut off. A body that keeps up the minimum rate on average and
  never pauses for longer than ``STALL_TIMEOUT`` is never cut off; one that trickles is cut off
  after about ``REQUEST_GRACE`` seconds.
- ``watching(request)`` puts that budget on a request served by gunicorn over HTTP/1. gunicorn
  hands the client socket over in the environ (``gunicorn.socket``), and reads the body from it
  through a ``SocketUnreader`` reachable from ``wsgi.input``. That reader's socket is wrapped for
  the request (``_WatchedSocket``), so each ``recv`` is seen as it begins and ends. One watchdog
  thread per process shuts the socket down for reading (``shutdown(SHUT_RD)``) once a wait runs
  past its deadline: the blocked ``recv`` returns, the read raises ``BodyTooSlow`` (an
  ``OSError``), and the request fails as a body that broke off does. The service drops the
  partial chunk (``ChunkStore.abandon``), and the endpoint answers HTTP 400. Writing stays open,
  so the answer can still be sent, and the connection is not used again.
- Where gunicorn's reader is not found, a plain deadline applies instead: ``REQUEST_GRACE`` plus
  ``Content-Length / MIN_UPLOAD_RATE`` from the start of the request, at most
  ``REQUEST_TIME_LIMIT``. Under another server (no ``gunicorn.socket``) or over HTTP/2 (one
  connection carries many requests) nothing is enforced here: the server's or the proxy's own
  timeouts apply.

The endpoint's ``dispatch`` is decorated with ``body_deadline``; ``SlowClientMiddleware`` puts the
same deadlines on every view of a project.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.http import HttpRequest, HttpResponse

from .settings import upload_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds between the watchdog's looks at the requests it watches.
POLL_INTERVAL = 0.1
_WATCHED = "_chunked_graphql_deadline"  # set on a request once its body is watched


class BodyTooSlow(OSError):
    """The request body arrived too slowly, and the server stopped waiting for it."""


@dataclass(frozen=True)
class Limits:
    """The configured limits, in bytes per second and seconds; ``None`` turns one off."""

    min_rate: float | None = None
    grace: float | None = None
    stall: float | None = None
    time_limit: float | None = None

    @classmethod
    def configured(cls) -> Limits:
        return cls(
            min_rate=upload_settings.MIN_UPLOAD_RATE,
            grace=upload_settings.REQUEST_GRACE,
            stall=upload_settings.STALL_TIMEOUT,
            time_limit=upload_settings.REQUEST_TIME_LIMIT,
        )

    @property
    def enforced(self) -> bool:
        return self.grace is not None or self.time_limit is not None

    def overall(self, content_length: int | None) -> float | None:
        """Seconds from the start of a request by which a body of ``content_length`` bytes must
        have arrived, for where its progress cannot be seen: ``REQUEST_GRACE`` plus the time the
        body takes at ``MIN_UPLOAD_RATE``, at most ``REQUEST_TIME_LIMIT``."""
        candidates: list[float] = []
        if self.grace is not None and self.min_rate is not None and content_length is not None:
            candidates.append(self.grace + content_length / self.min_rate)
        if self.time_limit is not None:
            candidates.append(self.time_limit)
        return min(candidates, default=None)


class Deadline(Protocol):
    def overdue(self, now: float) -> bool: ...

    def reason(self, now: float) -> str: ...


class BodyBudget:
    """How long the server may still wait for a request's body, from what it has received.

    Times are ``time.monotonic()`` values passed in by the caller. The waiting balance starts at
    ``grace`` (at most ``stall``), shrinks by the time each wait takes, and grows by
    ``received / min_rate`` when a wait ends with bytes, to at most ``stall``. Without a minimum
    rate, any bytes fill it up to ``stall`` (no limit without one); without a grace there is no
    balance at all, only the time limit."""

    def __init__(self, limits: Limits, started: float) -> None:
        self.limits = limits
        self.started = started
        self.received = 0
        self.waited = 0.0
        self.balance = None if limits.grace is None else _capped(limits.grace, limits.stall)
        self.waiting_since: float | None = None

    def begin_wait(self, now: float) -> None:
        self.waiting_since = now

    def end_wait(self, now: float, received: int) -> None:
        """The wait begun by ``begin_wait`` ended at ``now`` with ``received`` bytes."""
        since = self.waiting_since if self.waiting_since is not None else now
        self.waiting_since = None
        self.waited += now - since
        self.received += received
        if self.balance is not None:
            earned = 0.0
            if received:
                rate = self.limits.min_rate
                earned = math.inf if rate is None else received / rate
            self.balance = _capped(self.balance - (now - since) + earned, self.limits.stall)

    def deadline(self) -> float | None:
        """When the current wait runs out of budget, or ``None`` when the server is not waiting
        or nothing limits it."""
        # Called twice for every read of the body: no lists, no min().
        since = self.waiting_since
        if since is None:
            return None
        at = None if self.balance is None else since + self.balance
        limit = self.limits.time_limit
        if limit is not None:
            end = self.started + limit
            if at is None or end < at:
                at = end
        return at

    def overdue(self, now: float) -> bool:
        deadline = self.deadline()
        return deadline is not None and now >= deadline

    def reason(self, now: float) -> str:
        limit = self.limits.time_limit
        if limit is not None and now >= self.started + limit:
            return f"it was still arriving after {limit:g} s, and the server stopped waiting for it"
        waited = self.waited + (now - self.waiting_since if self.waiting_since is not None else 0)
        return (
            f"it arrived too slowly ({self.received} bytes in {waited:.1f} s of waiting), and "
            "the server stopped waiting for it"
        )


class FixedDeadline:
    """The deadline of a body whose progress cannot be seen: a moment, whatever arrives."""

    def __init__(self, at: float) -> None:
        self.at = at

    def overdue(self, now: float) -> bool:
        return now >= self.at

    def reason(self, now: float) -> str:
        return "it did not arrive in time, and the server stopped waiting for it"


def _capped(value: float, cap: float | None) -> float:
    return value if cap is None else min(value, cap)


class _Watch:
    """One request's deadline and its client socket, cut off once the deadline passes."""

    def __init__(self, deadline: Deadline, sock: socket.socket) -> None:
        self.deadline = deadline
        self.sock = sock
        self.cut: str | None = None
        self._lock = threading.Lock()

    def begin(self) -> None:
        with self._lock:
            if self.cut is None and isinstance(self.deadline, BodyBudget):
                now = time.monotonic()
                self.deadline.begin_wait(now)
                self._check(now)
            self._raise_if_cut()

    def end(self, received: int) -> None:
        with self._lock:
            if self.cut is None:
                now = time.monotonic()
                # A wait that ran past its deadline is cut off even if bytes came before the
                # watchdog looked: the outcome must not depend on when it looks.
                self._check(now)
                if self.cut is None and isinstance(self.deadline, BodyBudget):
                    self.deadline.end_wait(now, received)
            self._raise_if_cut()

    def check(self, now: float) -> None:
        """The watchdog's look: cut the connection off if the deadline has passed."""
        with self._lock:
            self._check(now)

    def _check(self, now: float) -> None:
        if self.cut is not None or not self.deadline.overdue(now):
            return
        self.cut = self.deadline.reason(now)
        logger.info("Cut off a request whose body %s.", self.cut)
        # The plain socket's method, also for an SSL socket: its own shutdown would drop the
        # SSL object under the thread reading from it. An error: the client has gone already.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_RD)

    def _raise_if_cut(self) -> None:
        if self.cut is not None:
            raise BodyTooSlow(self.cut)


class _WatchedSocket:
    """The client socket as gunicorn's ``SocketUnreader`` reads a body from it, each ``recv``
    reported to the request's watch."""

    def __init__(self, sock: socket.socket, watch: _Watch) -> None:
        self._sock = sock
        self._watch = watch

    def recv(self, size: int, *flags: int) -> bytes:
        self._watch.begin()
        try:
            data = self._sock.recv(size, *flags)
        except OSError:
            self._watch.end(0)  # raises BodyTooSlow if this was the cut
            raise
        self._watch.end(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Watchdog:
    """One thread per process, looking at every watched request while there are any."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._watches: set[_Watch] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._wake:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="chunked-graphql-deadlines", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def remove(self, watch: _Watch) -> None:
        with self._wake:
            self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._watches:
                    self._wake.wait()
                watches = list(self._watches)
            now = time.monotonic()
            for watch in watches:
                try:
                    watch.check(now)
                except Exception:  # never let one request stop the watchdog
                    logger.exception("The deadline watchdog failed on a request")
            time.sleep(POLL_INTERVAL)


_watchdog = _Watchdog()
# A forked child (a gunicorn worker of a preloaded app) starts with no thread and no watches.
os.register_at_fork(after_in_child=_watchdog.reset)


def _content_length(meta: dict[str, Any]) -> int | None:
    try:
        return int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def has_body(meta: dict[str, Any]) -> bool:
    """Whether the request announces a body: a Content-Length above 0, or a chunked one."""
    length = _content_length(meta)
    return bool(length) or "chunked" in str(meta.get("HTTP_TRANSFER_ENCODING", "")).lower()


def socket_unreader(meta: dict[str, Any], sock: object) -> Any | None:
    """gunicorn's ``SocketUnreader`` that reads this request's body from ``sock``, if found:
    ``wsgi.input`` is a ``Body`` whose reader holds it (``LengthReader``, ``EOFReader``) or holds
    the request that does (``ChunkedReader``)."""
    reader = getattr(meta.get("wsgi.input"), "reader", None)
    for holder in (reader, getattr(reader, "req", None)):
        unreader = getattr(holder, "unreader", None)
        if unreader is not None and getattr(unreader, "sock", None) is sock:
            return unreader
    return None


@contextlib.contextmanager
def watching(request: HttpRequest) -> Iterator[None]:
    """Hold the request's body to the configured deadlines while the block runs."""
    meta = request.META
    sock = meta.get("gunicorn.socket")
    limits = Limits.configured()
    if (
        getattr(request, _WATCHED, False)
        or not isinstance(sock, socket.socket)
        or not str(meta.get("SERVER_PROTOCOL", "")).startswith("HTTP/1")
        or not has_body(meta)
        or not limits.enforced
    ):
        yield
        return
    started = time.monotonic()
    unreader = socket_unreader(meta, sock)
    deadline: Deadline
    if unreader is not None:
        deadline = BodyBudget(limits, started)
    else:
        overall = limits.overall(_content_length(meta))
        if overall is None:
            yield
            return
        deadline = FixedDeadline(started + overall)
    watch = _Watch(deadline, sock)
    setattr(request, _WATCHED, True)
    if unreader is not None:
        unreader.sock = _WatchedSocket(sock, watch)
    _watchdog.add(watch)
    try:
        yield
    finally:
        _watchdog.remove(watch)
        if unreader is not None:
            unreader.sock = sock


def body_deadline(method: Callable[..., T]) -> Callable[..., T]:
    """Decorate a view method taking the request first (``dispatch``) to run it under
    ``watching``."""

    @functools.wraps(method)
    def wrapper(view: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> T:
        with watching(request):
            return method(view, request, *args, **kwargs)

    return wrapper


class SlowClientMiddleware:
    """The same deadlines on the bodies of every view of a project (the app's endpoint has
    them already)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with watching(request):
            return self.get_response(request)

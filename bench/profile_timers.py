"""The timers of the per-chunk profile (``bench/profile_chunk.py``): the categories a chunk
request's time is split into, the clock that adds up each one's wall and CPU time exclusively,
and the functions of the tree measured that they are put on.

The measuring process (``bench/profile_worker.py``) loads this file from beside itself, not
through ``import bench``: on its ``sys.path`` the ``bench`` package is the measured tree's. So it
imports only the standard library at the top, and the tree's code where the timers go on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

# The categories, in the order the table shows them.
BYTES = ("body reads", "md5", "store writes")
SERVICE = ("service SQL", "service Python")
OUTSIDE = (
    "multipart",
    "GraphQL document",
    "GraphQL execution",
    "answer encoding",
    "deadlines",
    "view",
    "Django",
    "gunicorn",
)
CATEGORIES = BYTES + SERVICE + OUTSIDE


class Clock:
    """Exclusive timers: while a timed call runs inside another, only the inner one counts.
    Each category adds up the serving thread's wall time and its CPU time."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._stack: list[list[Any]] = []

    def enter(self, category: str) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        if self._stack:
            top = self._stack[-1]
            self.wall[top[0]] += wall - top[1]
            self.cpu[top[0]] += cpu - top[2]
        self._stack.append([category, wall, cpu])

    def leave(self) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        category, wall_started, cpu_started = self._stack.pop()
        self.wall[category] += wall - wall_started
        self.cpu[category] += cpu - cpu_started
        if self._stack:
            self._stack[-1][1:] = [wall, cpu]

    def reset(self) -> None:
        self.wall.clear()
        self.cpu.clear()
        self._stack.clear()

    def timed(self, category: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.enter(category)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        # Attributes such as csrf_exempt go on with the function.
        return functools.update_wrapper(wrapper, function)

    def timed_context(self, category: str, factory: Callable[..., Any]) -> Callable[..., Any]:
        """A context manager factory whose entering and leaving count, not its body."""

        @contextlib.contextmanager
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            self.enter(category)
            try:
                manager = factory(*args, **kwargs)
                value = manager.__enter__()
            finally:
                self.leave()
            try:
                yield value
            except BaseException:
                self.enter(category)
                try:
                    if not manager.__exit__(*sys.exc_info()):
                        raise
                finally:
                    self.leave()
            else:
                self.enter(category)
                try:
                    manager.__exit__(None, None, None)
                finally:
                    self.leave()

        return wrapper


def _patch(owner: Any, name: str, clock: Clock, category: str, *, context: bool = False) -> bool:
    """Time ``owner.name`` (a function or method) if it exists in this tree."""
    function = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if function is None:
        return False
    if isinstance(function, staticmethod):
        function = function.__func__
        wrapped: Any = staticmethod(clock.timed(category, function))
    elif context:
        wrapped = clock.timed_context(category, function)
    else:
        wrapped = clock.timed(category, function)
    setattr(owner, name, wrapped)
    return True


class _TimedFile:
    """The file-system store's unbuffered file, its writes timed."""

    def __init__(self, clock: Clock, raw: Any) -> None:
        self._clock = clock
        self._raw = raw

    def write(self, data: Any) -> Any:
        self._clock.enter("store writes")
        try:
            return self._raw.write(data)
        finally:
            self._clock.leave()

    def __enter__(self) -> _TimedFile:
        self._raw.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self._raw.__exit__(*exc_info)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _TimedOs:
    """``os`` as the file-system store sees it: writes, syncs and cache advice timed."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.fdatasync = clock.timed("store writes", os.fdatasync)
        self.posix_fadvise = clock.timed("store writes", os.posix_fadvise)

    def fdopen(self, *args: Any, **kwargs: Any) -> Any:
        return _TimedFile(self._clock, os.fdopen(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def install_timers(clock: Clock) -> list[str]:
    """Put the timers on this tree's functions; the names of those found."""
    from django.db import connections
    from graphene_django.views import GraphQLView
    from gunicorn.http.body import Body

    from chunked_graphql import deadlines, hashing, services, views
    from chunked_graphql.multipart import parts, reader
    from chunked_graphql.stores import filesystem

    found = []

    def patch(owner: Any, name: str, category: str, **options: Any) -> None:
        if _patch(owner, name, clock, category, **options):
            found.append(f"{getattr(owner, '__name__', owner)}.{name}")

    patch(Body, "read", "body reads")
    patch(hashing.ResumableHash, "update", "md5")
    filesystem.os = _TimedOs(clock)  # type: ignore[attr-defined]
    found.append("filesystem.os")
    patch(services, "upload_chunk", "service Python")
    patch(reader.MultipartParser, "write", "multipart")
    patch(reader.MultipartReader, "_feed", "multipart")
    patch(reader.MultipartReader, "next_part", "multipart")
    patch(parts.StreamedPart, "_pull", "multipart")
    patch(views, "parse_multipart_operations", "multipart")
    patch(views.ChunkedUploadGraphQLView, "_checked_document", "GraphQL document")
    patch(views, "validate_schema", "GraphQL document")
    patch(views, "execute", "GraphQL execution")
    patch(GraphQLView, "json_encode", "answer encoding")
    patch(views.ChunkedUploadGraphQLView, "json_encode", "answer encoding")
    patch(views.ChunkedUploadGraphQLView, "dispatch", "view")
    patch(deadlines, "watching", "deadlines", context=True)
    patch(deadlines._WatchedSocket, "recv", "deadlines")

    def sql(execute: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
        clock.enter("service SQL")
        try:
            return execute(sql, params, many, context)
        finally:
            clock.leave()

    connection = connections["default"]
    connection.execute_wrappers.append(sql)
    patch(type(connection), "_commit", "service SQL")
    return found


#: What install_timers times, as it names them.
TIMED = (
    "Body.read",
    "ResumableHash.update",
    "filesystem.os",
    "chunked_graphql.services.upload_chunk",
    "MultipartParser.write",
    "MultipartReader._feed",
    "MultipartReader.next_part",
    "StreamedPart._pull",
    "chunked_graphql.views.parse_multipart_operations",
    "ChunkedUploadGraphQLView._checked_document",
    "chunked_graphql.views.validate_schema",
    "chunked_graphql.views.execute",
    "GraphQLView.json_encode",
    "ChunkedUploadGraphQLView.dispatch",
    "chunked_graphql.deadlines.watching",
    "_WatchedSocket.recv",
)


class TimedSocket(socket.socket):
    """The worker's end of the connection, its reads counted as body reads."""

    clock: Clock | None = None

    def recv(self, *args: Any) -> bytes:
        clock = self.clock
        if clock is None:
            return super().recv(*args)
        clock.enter("body reads")
        try:
            return super().recv(*args)
        finally:
            clock.leave()

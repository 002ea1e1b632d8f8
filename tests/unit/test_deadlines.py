"""The deadlines on request bodies (chunked_graphql/deadlines.py): the arithmetic of the waiting
budget, with the times given, and the watch on a real socket pair read through gunicorn's own
body readers. The limits against a real gunicorn are tests/e2e/test_slow_clients.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http.request import UnreadablePostError
from django.test import RequestFactory
from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader

from chunked_graphql.deadlines import (
    BodyBudget,
    BodyTooSlow,
    Limits,
    has_body,
    socket_unreader,
    watching,
)

KIB = 1024
DEFAULTS = Limits(min_rate=4 * KIB, grace=3.0, stall=15.0, time_limit=None)


def waits(budget: BodyBudget, start: float, count: int, seconds: float, size: int) -> float:
    """``count`` waits of ``seconds`` each, each ending with ``size`` bytes; the time after."""
    now = start
    for _ in range(count):
        budget.begin_wait(now)
        if budget.overdue(now + seconds):
            raise AssertionError(f"overdue at {now + seconds}")
        now += seconds
        budget.end_wait(now, size)
    return now


# The arithmetic ---------------------------------------------------------------------------------


def test_a_body_that_sends_nothing_is_overdue_once_the_grace_is_spent() -> None:
    budget = BodyBudget(DEFAULTS, started=0.0)
    budget.begin_wait(0.0)

    assert budget.deadline() == 3.0


def test_a_body_trickling_a_byte_a_second_is_overdue_soon_after_the_grace() -> None:
    budget = BodyBudget(DEFAULTS, started=0.0)
    seconds = 0
    budget.begin_wait(0.0)
    while seconds < 100 and not budget.overdue(seconds + 1.0):
        seconds += 1
        budget.end_wait(float(seconds), 1)
        budget.begin_wait(float(seconds))

    assert seconds < 4


def test_a_body_at_the_minimum_rate_is_never_overdue() -> None:
    budget = BodyBudget(DEFAULTS, started=0.0)

    waits(budget, 0.0, count=1000, seconds=1.0, size=4 * KIB)

    assert budget.balance == DEFAULTS.grace


def test_a_body_at_half_the_minimum_rate_runs_out_of_budget() -> None:
    budget = BodyBudget(DEFAULTS, started=0.0)
    now = waits(budget, 0.0, count=4, seconds=1.0, size=2 * KIB)

    budget.begin_wait(now)

    assert budget.overdue(now + 1.0)


def test_a_body_ahead_of_the_rate_may_pause_up_to_the_stall_timeout() -> None:
    budget = BodyBudget(DEFAULTS, started=0.0)
    now = waits(budget, 0.0, count=1, seconds=0.5, size=8 * 1024 * KIB)

    budget.begin_wait(now)

    assert budget.deadline() == now + 15.0


def test_time_the_server_spends_elsewhere_does_not_count() -> None:
    budget = BodyBudget(DEFAULTS, started=0.0)
    waits(budget, 0.0, count=1, seconds=1.0, size=0)

    budget.begin_wait(100.0)  # the server stored the chunk, or waited for a lock, meanwhile

    assert budget.deadline() == 102.0


def test_the_time_limit_applies_however_fast_the_body_arrives() -> None:
    limits = Limits(min_rate=4 * KIB, grace=3.0, stall=15.0, time_limit=60.0)
    budget = BodyBudget(limits, started=0.0)
    now = waits(budget, 0.0, count=59, seconds=1.0, size=1024 * KIB)

    budget.begin_wait(now)

    assert budget.deadline() == 60.0
    assert "60 s" in budget.reason(60.0)


def test_without_a_minimum_rate_any_bytes_reset_the_stall_timeout() -> None:
    budget = BodyBudget(Limits(min_rate=None, grace=3.0, stall=15.0), started=0.0)
    now = waits(budget, 0.0, count=1, seconds=2.9, size=1)

    budget.begin_wait(now)

    assert budget.deadline() == now + 15.0


def test_without_a_grace_only_the_time_limit_applies() -> None:
    budget = BodyBudget(Limits(min_rate=4 * KIB, grace=None, time_limit=30.0), started=0.0)
    budget.begin_wait(0.0)

    assert budget.deadline() == 30.0


def test_without_any_limit_there_is_no_deadline() -> None:
    budget = BodyBudget(Limits(min_rate=4 * KIB), started=0.0)
    budget.begin_wait(0.0)

    assert budget.deadline() is None


def test_no_deadline_while_the_server_is_not_waiting() -> None:
    budget = BodyBudget(DEFAULTS, started=0.0)

    assert not budget.overdue(1000.0)


def test_the_deadline_of_a_body_whose_progress_is_unseen_is_grace_plus_its_time_at_the_rate() -> (
    None
):
    assert DEFAULTS.overall(40 * KIB) == 3.0 + 10.0


def test_the_deadline_of_a_body_whose_progress_is_unseen_is_at_most_the_time_limit() -> None:
    limits = Limits(min_rate=4 * KIB, grace=3.0, time_limit=5.0)

    assert limits.overall(40 * KIB) == 5.0


def test_a_body_of_unknown_length_whose_progress_is_unseen_has_no_deadline() -> None:
    assert DEFAULTS.overall(None) is None


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({}, False),
        ({"CONTENT_LENGTH": "0"}, False),
        ({"CONTENT_LENGTH": ""}, False),
        ({"CONTENT_LENGTH": "12"}, True),
        ({"HTTP_TRANSFER_ENCODING": "chunked"}, True),
    ],
)
def test_has_body(meta: dict[str, str], expected: bool) -> None:
    assert has_body(meta) is expected


# The watch, on a socket pair read through gunicorn's readers ------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    server.settimeout(30)  # a broken watch fails the test rather than hanging it
    yield server, client
    server.close()
    client.close()


@pytest.fixture
def short_grace(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_REQUEST_GRACE = 0.3
    settings.CHUNKED_GRAPHQL_STALL_TIMEOUT = 0.3


def gunicorn_request(server: socket.socket, length: int, chunked: bool = False) -> WSGIRequest:
    """A request as gunicorn hands it to Django: ``wsgi.input`` reads the body from ``server``."""
    unreader = SocketUnreader(server)
    meta: dict[str, Any] = {"REQUEST_METHOD": "POST", "SERVER_PROTOCOL": "HTTP/1.1"}
    if chunked:
        request_line = type("Req", (), {"unreader": unreader})()
        meta["wsgi.input"] = Body(ChunkedReader(request_line, unreader))
        meta["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        meta["wsgi.input"] = Body(LengthReader(unreader, length))
        meta["CONTENT_LENGTH"] = str(length)
    meta["gunicorn.socket"] = server
    environ = RequestFactory()._base_environ(**meta)
    return WSGIRequest(environ)


def test_gunicorns_reader_is_found_for_a_body_of_known_length(pair: Any) -> None:
    request = gunicorn_request(pair[0], 10)

    assert socket_unreader(request.META, pair[0]) is not None


def test_gunicorns_reader_is_found_for_a_chunked_body(pair: Any) -> None:
    request = gunicorn_request(pair[0], 0, chunked=True)

    assert socket_unreader(request.META, pair[0]) is not None


def test_a_body_that_stops_arriving_is_cut_off(pair: Any, short_grace: None) -> None:
    server, client = pair
    request = gunicorn_request(server, 100)
    client.sendall(b"x" * 10)

    with watching(request), pytest.raises(UnreadablePostError) as raised:
        request.read(100)

    assert isinstance(raised.value.__cause__, BodyTooSlow)


def test_a_cut_off_body_still_lets_the_answer_out(pair: Any, short_grace: None) -> None:
    server, client = pair
    request = gunicorn_request(server, 100)

    with watching(request), pytest.raises(UnreadablePostError):
        request.read(100)
    server.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    assert client.recv(100).startswith(b"HTTP/1.1 400")


def test_a_body_that_arrives_is_read_in_full(pair: Any, short_grace: None) -> None:
    server, client = pair
    request = gunicorn_request(server, 100)
    client.sendall(b"x" * 100)

    with watching(request):
        assert request.read(100) == b"x" * 100


def test_the_reader_gets_its_own_socket_back_after_the_request(pair: Any) -> None:
    server, _ = pair
    request = gunicorn_request(server, 100)
    unreader = socket_unreader(request.META, server)

    with watching(request):
        watched = unreader.sock

    assert watched is not server
    assert unreader.sock is server


def test_a_request_without_a_body_is_not_watched(pair: Any) -> None:
    server, _ = pair
    request = gunicorn_request(server, 0)
    unreader = socket_unreader(request.META, server)

    with watching(request):
        assert unreader.sock is server


def test_nothing_is_watched_with_every_deadline_off(pair: Any, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_REQUEST_GRACE = None
    server, _ = pair
    request = gunicorn_request(server, 100)
    unreader = socket_unreader(request.META, server)

    with watching(request):
        assert unreader.sock is server

"""The hostile requests of the limits over real HTTP to gunicorn (DEBUG off, as in production):
each is answered with HTTP 400 and a JSON error within a couple of seconds (loosely measured: a
real server on a busy machine), changes nothing, and leaves no traceback in the server's log; a
worker that parses many large distinct queries keeps its memory. The limits in process are
tests/unit/test_limits.py, through Django's test client tests/api/test_limits.py and
tests/api/test_malformed_requests.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from chunked_graphql.models import ChunkedUpload
from chunked_graphql.settings import DEFAULTS
from tests.support.http_api import Http
from tests.support.uploads import files_under

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024
MIB = 1024 * KIB
QUICK = 2.0  # seconds: the refusals take milliseconds; this is slack for a loaded machine


def timed(send: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def assert_refused(response: requests.Response, elapsed: float, fragment: str = "") -> None:
    assert response.status_code == 400, response.text[:500]
    assert response.headers["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]
    assert fragment in error["message"], error["message"]
    assert elapsed < QUICK, elapsed


def typenames(count: int, prefix: str = "a", extra: str = "") -> str:
    return "{ " + " ".join(f"{prefix}{i}: __typename{extra}" for i in range(count)) + " }"


def vm_rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KIB
    raise AssertionError(f"no VmRSS for {pid}")


# Cost per request ------------------------------------------------------------------------------


def test_a_query_of_120000_aliased_fields_is_refused_by_its_size_at_once(gunicorn: Any) -> None:
    server = gunicorn(workers=1)
    query = typenames(120_000).replace(" }", " unknownField }")
    assert len(query) > 2 * MIB
    response, elapsed = timed(lambda: Http(server).send(query, {}))
    assert_refused(response, elapsed, "(CHUNKED_GRAPHQL_MAX_QUERY_BYTES)")
    assert "Traceback" not in server.log()


def test_with_no_size_limit_the_same_query_is_refused_by_its_tokens_at_once(
    gunicorn: Any,
) -> None:
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_QUERY_BYTES": None})
    query = typenames(120_000).replace(" }", " unknownField }")
    response, elapsed = timed(lambda: Http(server).send(query, {}))
    assert_refused(response, elapsed, "(CHUNKED_GRAPHQL_MAX_QUERY_TOKENS)")


def test_5000_aliases_of_an_empty_list_are_refused_at_once(gunicorn: Any, user: Any) -> None:
    server = gunicorn(workers=1)
    query = typenames(5_000, extra="").replace("__typename", "chunkedUploads { id }")
    response, elapsed = timed(lambda: Http(server, user).send(query, {}))
    assert_refused(response, elapsed, "(CHUNKED_GRAPHQL_MAX_QUERY_")


def test_1000_aliased_upload_chunks_sharing_one_file_part_are_refused_and_store_nothing(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    server = gunicorn(workers=1)
    count = 1_000
    query = (
        "mutation("
        + ", ".join(f"$f{i}: Upload" for i in range(count))
        + ") { "
        + " ".join(
            f'u{i}: uploadChunk(file: $f{i}, contentRange: "bytes 0-65535/65536",'
            f' filename: "f{i}") {{ __typename }}'
            for i in range(count)
        )
        + " }"
    )
    operations = json.dumps({"query": query, "variables": {f"f{i}": None for i in range(count)}})
    files_map = json.dumps({"0": [f"variables.f{i}" for i in range(count)]})
    response, elapsed = timed(
        lambda: Http(server, user).raw(
            data={"operations": operations, "map": files_map},
            files={"0": ("chunk", b"x" * 64 * KIB, "application/octet-stream")},
        )
    )
    assert_refused(response, elapsed)
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_the_upload_field_limit_refuses_over_gunicorn_and_stores_nothing(
    gunicorn: Any, user: Any
) -> None:
    server = gunicorn(workers=1)
    limit = DEFAULTS["MAX_UPLOAD_FIELDS"]
    web = Http(server, user)
    started = web.chunk(b"x" * 10, "bytes 0-9/20")
    query = (
        "mutation { "
        + " ".join(
            f'c{i}: cancelUpload(uploadId: "{started["id"]}") {{ __typename }}'
            for i in range(limit + 1)
        )
        + " }"
    )
    response, elapsed = timed(lambda: web.send(query, {}))
    assert_refused(response, elapsed, "(CHUNKED_GRAPHQL_MAX_UPLOAD_FIELDS)")
    assert ChunkedUpload.objects.get(pk=started["id"]).offset == 10


# Memory ----------------------------------------------------------------------------------------


def largest_query(n: int) -> str:
    """Distinct queries (by ``n``) as large as the limits allow: as many tokens as the limit
    allows (fields with a directive: 10 tokens each), then a comment to fill the text up to just
    under the size limit."""
    fields = (DEFAULTS["MAX_QUERY_TOKENS"] - 10) // 10
    text = typenames(fields, prefix=f"q{n}_", extra=" @include(if: true)")
    return text + " #" + "x" * (DEFAULTS["MAX_QUERY_BYTES"] - 16 - len(text) - 2)


def test_a_worker_keeps_its_memory_after_20_distinct_queries_just_under_the_limits(
    gunicorn: Any,
) -> None:
    server = gunicorn(workers=1)
    web = Http(server)
    (worker,) = server.worker_pids()
    web.post(largest_query(999), {})  # the worker has imported and set up everything once
    before = vm_rss(worker)
    for n in range(20):
        text = largest_query(n)
        assert len(text.encode()) <= DEFAULTS["MAX_QUERY_BYTES"]
        assert len(web.post(text, {})) == (DEFAULTS["MAX_QUERY_TOKENS"] - 10) // 10
    after = vm_rss(worker)
    assert after - before < 20 * MIB, (before, after)


def test_a_worker_keeps_its_memory_after_distinct_queries_of_700_kb(gunicorn: Any) -> None:
    server = gunicorn(workers=1)
    web = Http(server)
    (worker,) = server.worker_pids()

    def send(n: int) -> None:
        response = web.send(largest_query(n) + " " * 700 * KIB, {})
        assert response.status_code == 400
        assert "(CHUNKED_GRAPHQL_MAX_QUERY_BYTES)" in response.text

    send(999)  # as above: the first request of its kind
    before = vm_rss(worker)
    for n in range(5):  # each grew a worker by 160 MiB, kept
        send(n)
    after = vm_rss(worker)
    assert after - before < 20 * MIB, (before, after)


# Malformed requests and what DEBUG off hides ---------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "body",
    {
        "a body nested 100000 deep": {"data": DEEP},
        "variables nested 100000 deep": {
            "data": '{"query": "{ __typename }", "variables": {"v": ' + DEEP + "}}"
        },
        "a query that is a number": {"data": '{"query": 123}'},
        "variables that are an array": {"data": '{"query": "{ __typename }", "variables": "[]"}'},
        "an array when not batching": {"data": '[{"query": "{ __typename }"}]'},
    }.items(),
    ids=lambda item: item[0],
)
def test_a_malformed_json_body_over_gunicorn_is_a_json_400(
    gunicorn: Any, body: tuple[str, dict[str, str]]
) -> None:
    server = gunicorn(workers=1)
    response, elapsed = timed(
        lambda: Http(server).raw(headers={"Content-Type": "application/json"}, **body[1])
    )
    assert_refused(response, elapsed)
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("field", ["operations", "map"])
def test_a_multipart_field_nested_100000_deep_over_gunicorn_is_a_json_400(
    gunicorn: Any, user: Any, field: str
) -> None:
    server = gunicorn(workers=1)
    fields = {"operations": '{"query": "{ __typename }"}', "map": "{}", field: DEEP}
    response, elapsed = timed(
        lambda: Http(server, user).raw(
            data=fields, files={"0": ("c", b"abc", "application/octet-stream")}
        )
    )
    assert_refused(response, elapsed, "nested too deeply")
    assert "Traceback" not in server.log()


def test_anonymous_introspection_is_refused_with_debug_off(gunicorn: Any) -> None:
    server = gunicorn(workers=1)
    response, elapsed = timed(lambda: Http(server).send("{ __schema { types { name } } }", {}))
    assert response.status_code == 400
    assert elapsed < QUICK, elapsed
    for error in response.json()["errors"]:
        assert error["message"].endswith("(CHUNKED_GRAPHQL_INTROSPECTION)")


def test_a_browser_gets_no_graphiql_with_debug_off(gunicorn: Any) -> None:
    server = gunicorn(workers=1)
    response = Http(server).raw_get(headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert "graphiql" not in response.text.lower()

"""The client's parts that need no server: fingerprint, resume store, retry policy, sizes."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest
import requests

from chunked_graphql.client.cli import parse_size
from chunked_graphql.client.errors import ClientError, ServerError, ServerUnreachable
from chunked_graphql.client.fingerprint import fingerprint
from chunked_graphql.client.resume_store import MAX_AGE_SECONDS, ResumeStore, default_state_file
from chunked_graphql.client.retry import RetryPolicy
from chunked_graphql.client.transport import Transport

ENDPOINT = "http://127.0.0.1:8000/graphql/"


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "a" / "video.bin"
    path.parent.mkdir()
    path.write_bytes(os.urandom(300_000))
    return path


def write_keeping_mtime(path, content):
    stat = path.stat()
    path.write_bytes(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


# Fingerprint -----------------------------------------------------------------------------------


def test_fingerprint_is_stable_for_an_unchanged_file(sample):
    assert fingerprint(sample) == fingerprint(sample)


def test_fingerprint_survives_moving_the_file_to_another_directory(sample, tmp_path):
    before = fingerprint(sample)
    (tmp_path / "b").mkdir()
    moved = shutil.move(sample, tmp_path / "b" / "video.bin")
    assert fingerprint(moved) == before


def test_fingerprint_changes_when_the_last_block_changes_even_with_the_same_mtime(sample):
    before = fingerprint(sample)
    content = bytearray(sample.read_bytes())
    content[-1] ^= 0xFF
    write_keeping_mtime(sample, bytes(content))
    assert fingerprint(sample) != before


def test_fingerprint_changes_when_the_first_block_changes_even_with_the_same_mtime(sample):
    before = fingerprint(sample)
    content = bytearray(sample.read_bytes())
    content[0] ^= 0xFF
    write_keeping_mtime(sample, bytes(content))
    assert fingerprint(sample) != before


def test_fingerprint_changes_when_the_file_grows(sample):
    before = fingerprint(sample)
    write_keeping_mtime(sample, sample.read_bytes() + b"x")
    assert fingerprint(sample) != before


def test_fingerprint_changes_when_the_file_is_touched(sample):
    before = fingerprint(sample)
    stat = sample.stat()
    os.utime(sample, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fingerprint(sample) != before


def test_fingerprint_changes_with_the_name(sample):
    before = fingerprint(sample)
    renamed = sample.rename(sample.with_name("other.bin"))
    assert fingerprint(renamed) != before


# Resume store -----------------------------------------------------------------------------------


def test_resume_store_remembers_an_upload_id_across_instances(tmp_path):
    ResumeStore(tmp_path / "state.json").set(ENDPOINT, "f1", "id-1", "a.bin")
    assert ResumeStore(tmp_path / "state.json").get(ENDPOINT, "f1") == "id-1"


def test_resume_store_keeps_ids_per_endpoint(tmp_path):
    store = ResumeStore(tmp_path / "state.json")
    store.set(ENDPOINT, "f1", "id-1")
    assert store.get("https://elsewhere.example/graphql/", "f1") is None


def test_resume_store_forgets(tmp_path):
    store = ResumeStore(tmp_path / "state.json")
    store.set(ENDPOINT, "f1", "id-1")
    store.set(ENDPOINT, "f2", "id-2")
    store.forget(ENDPOINT, "f1")
    assert (store.get(ENDPOINT, "f1"), store.get(ENDPOINT, "f2")) == (None, "id-2")


def test_resume_store_treats_a_damaged_file_as_empty_and_replaces_it(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    store = ResumeStore(path)
    assert store.get(ENDPOINT, "f1") is None
    store.set(ENDPOINT, "f1", "id-1")
    assert ResumeStore(path).get(ENDPOINT, "f1") == "id-1"


def test_resume_store_drops_records_older_than_the_maximum_age(tmp_path, monkeypatch):
    store = ResumeStore(tmp_path / "state.json")
    store.set(ENDPOINT, "old", "id-old")
    now = time.time()
    monkeypatch.setattr("time.time", lambda: now + MAX_AGE_SECONDS + 60)
    store.set(ENDPOINT, "new", "id-new")
    assert (store.get(ENDPOINT, "old"), store.get(ENDPOINT, "new")) == (None, "id-new")


def test_resume_store_defaults_to_the_xdg_cache_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("CHUNKED_UPLOAD_STATE_FILE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_state_file() == tmp_path / "chunked-graphql" / "uploads.json"


def test_resume_store_location_can_be_set_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CHUNKED_UPLOAD_STATE_FILE", str(tmp_path / "mine.json"))
    assert ResumeStore().path == tmp_path / "mine.json"


# Retry policy -----------------------------------------------------------------------------------


def test_retry_delays_double_up_to_the_maximum():
    policy = RetryPolicy(backoff=0.5, max_delay=3.0, jitter=0.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_jitter_only_shortens_the_delay():
    policy = RetryPolicy(backoff=1.0, jitter=0.25)
    delays = [policy.delay(2) for _ in range(200)]
    assert all(3.0 <= d <= 4.0 for d in delays)


def test_retry_retries_transient_failures_until_the_attempt_succeeds():
    failures = [ServerUnreachable("refused"), ServerError("bad gateway", 502)]
    waits: list[float] = []

    def attempt():
        if failures:
            raise failures.pop(0)
        return "done"

    policy = RetryPolicy(retries=5, backoff=0.1, jitter=0.0)
    assert policy.call(attempt, sleep=waits.append) == "done"
    assert waits == [0.1, 0.2]


def graphql_error(code: str) -> requests.Response:
    """An HTTP 200 answer carrying one GraphQL error with ``extensions.code = code``."""
    response = requests.Response()
    response.status_code = 200
    response.url = ENDPOINT
    response._content = json.dumps(
        {"data": None, "errors": [{"message": "try again", "extensions": {"code": code}}]}
    ).encode()
    return response


@pytest.mark.parametrize("code", ["STORAGE_ERROR", "UPLOAD_BUSY"])
def test_a_retryable_server_error_is_transient(code):
    with pytest.raises(ServerError) as raised:
        Transport(ENDPOINT)._data(graphql_error(code), ENDPOINT)

    assert raised.value.transient


def test_another_server_error_is_not_transient():
    with pytest.raises(ServerError) as raised:
        Transport(ENDPOINT)._data(graphql_error("GRAPHQL_VALIDATION_FAILED"), ENDPOINT)

    assert not raised.value.transient


def test_retry_gives_up_after_the_configured_retries():
    calls = []

    def attempt():
        calls.append(1)
        raise ServerUnreachable("refused")

    with pytest.raises(ServerUnreachable):
        RetryPolicy(retries=3).call(attempt, sleep=lambda _: None)
    assert len(calls) == 4


@pytest.mark.parametrize(
    "error", [ServerError("bad request", 400), ClientError("no"), ServerError("odd", None)]
)
def test_retry_does_not_retry_a_permanent_failure(error):
    calls = []

    def attempt():
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        RetryPolicy(retries=3).call(attempt, sleep=lambda _: None)
    assert len(calls) == 1


def test_retry_reports_each_retry_to_the_callback():
    seen = []
    failures = [ServerError("unavailable", 503), ServerError("too many", 429)]

    def attempt():
        if failures:
            raise failures.pop(0)
        return 1

    RetryPolicy(jitter=0.0, backoff=1.0).call(
        attempt,
        on_retry=lambda n, wait, exc: seen.append((n, wait, exc.status)),
        sleep=lambda _: None,
    )
    assert seen == [(1, 1.0, 503), (2, 2.0, 429)]


# Sizes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("65536", 65536), ("512K", 524288), ("4M", 4194304), ("1g", 1073741824), ("8MiB", 8388608)],
)
def test_chunk_sizes_accept_binary_suffixes(text, size):
    assert parse_size(text) == size

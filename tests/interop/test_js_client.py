"""The package in js/client (TypeScript, built by ``make test``) in Node against a real gunicorn
server: a 20 MiB parallel upload and a serial one stored byte for byte, and a resume after a
crash at about half that sends only what the server lacks and does not read the sent part of the
file again to hash it. The package's own unit tests are Vitest's (js/client/test), run by the
Makefile."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token
from tests.support.components import ROOT, js_client
from tests.support.uploads import stored_bytes

MIB = 1024 * 1024
SIZE = 20 * MIB
CHUNK = MIB
SCRIPT = ROOT / "tests" / "interop" / "js_client" / "upload.mjs"

live = pytest.mark.django_db(transaction=True)
# Each test uploads 20 MiB through a Node process (4-5 s): make test runs them on SQLite and on
# PostgreSQL, the matrix's sessions leave them out.
pytestmark = pytest.mark.slow


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "film.mkv"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.fixture
def run_client(gunicorn, user, data_file, tmp_path):
    """Runs ``upload.mjs`` against one server; returns its JSON report."""
    executable = js_client()
    server = gunicorn(workers=3)
    env = {**os.environ, "TOKEN": make_token(user)}
    store = tmp_path / "resume.json"

    def run(*args):
        result = subprocess.run(
            [executable, str(SCRIPT), server.graphql_url, str(data_file), "--chunk-size",
             str(CHUNK), "--store", str(store), *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run


@live
def test_twenty_mib_in_parallel_chunks_is_stored_byte_for_byte(run_client, data_file):
    report = run_client("--parallel", "4")
    assert report["completed"]["status"] == "COMPLETE"
    assert report["completed"]["parallel"] is True
    assert stored_bytes(report["id"]) == data_file.read_bytes()


@live
def test_each_byte_is_sent_once_and_read_once(run_client):
    report = run_client("--parallel", "4")
    assert (report["chunkBytes"], report["readFromFile"], report["readForHash"]) == (SIZE, SIZE, 0)


@live
def test_a_serial_upload_is_stored_byte_for_byte_each_byte_read_once(run_client, data_file):
    report = run_client("--parallel", "1")
    assert report["completed"]["parallel"] is False
    assert stored_bytes(report["id"]) == data_file.read_bytes()
    assert (report["chunkBytes"], report["readFromFile"], report["readForHash"]) == (SIZE, SIZE, 0)


@live
def test_progress_ends_with_every_byte_acknowledged(run_client):
    report = run_client("--parallel", "4")
    assert report["monotonic"] is True
    assert report["lastProgress"]["bytesAcknowledged"] == SIZE
    assert report["lastProgress"]["bytesSent"] == SIZE


@live
def test_a_resume_after_a_crash_sends_only_the_missing_ranges(run_client, data_file):
    stopped = run_client("--parallel", "4", "--stop-after", "10")
    assert stopped["error"]["code"] == "ABORTED"
    resumed = run_client("--parallel", "4")
    assert resumed["id"] == stopped["id"]
    assert 10 * CHUNK <= resumed["resumedFrom"] < SIZE
    assert resumed["distinctChunkBytes"] == SIZE - resumed["resumedFrom"]
    assert resumed["completed"]["status"] == "COMPLETE"
    assert ChunkedUpload.objects.count() == 1
    assert stored_bytes(stopped["id"]) == data_file.read_bytes()


@live
def test_a_resume_hashes_on_from_the_saved_state_without_reading_the_sent_part(run_client):
    run_client("--parallel", "4", "--stop-after", "10")
    resumed = run_client("--parallel", "4")
    assert resumed["completed"]["status"] == "COMPLETE"
    assert resumed["readForHash"] == 0
    assert resumed["readFromFile"] == resumed["chunkBytes"]


@live
def test_a_file_over_max_bytes_is_a_typed_error_with_its_limit(gunicorn, user, data_file):
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_BYTES": MIB})
    result = subprocess.run(
        [js_client(), str(SCRIPT), server.graphql_url, str(data_file)],
        env={**os.environ, "TOKEN": make_token(user)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    error = json.loads(result.stdout)["error"]
    assert (error["code"], error["fields"]) == ("MAX_BYTES_EXCEEDED", {"maxBytes": MIB})


@live
def test_a_paused_upload_sends_nothing_until_resumed_then_completes(run_client, data_file):
    report = run_client("--parallel", "4", "--pause-after", "5")
    assert (report["pauses"], report["requestsWhilePaused"]) == (1, 0)
    assert report["completed"]["status"] == "COMPLETE"
    assert stored_bytes(report["id"]) == data_file.read_bytes()

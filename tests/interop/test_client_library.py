"""The Python client (``chunked_graphql.client``) against a real gunicorn server: chunks,
progress, resuming across runs, retries over a failing network, the checksum, authentication."""

from __future__ import annotations

import itertools
import os

import pytest

from chunked_graphql.client import (
    AuthenticationFailed,
    BearerAuth,
    ChunkedUploader,
    ResumeStore,
    RetryPolicy,
    ServerError,
    SessionAuth,
    UploadRejected,
    fingerprint,
)
from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token
from tests.support.flaky_proxy import FlakyProxy
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 64 * 1024
SIZE = 5 * CHUNK - 1000  # five chunks, the last one short


class Interrupted(Exception):
    """Stands for the process being stopped in the middle of an upload."""


@pytest.fixture
def server(gunicorn):
    return gunicorn(workers=2)


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.fixture
def store(tmp_path):
    return ResumeStore(tmp_path / "state" / "uploads.json")


@pytest.fixture
def make_uploader(user, store):
    def make(endpoint, **kwargs):
        kwargs.setdefault("auth", BearerAuth(make_token(user)))
        kwargs.setdefault("retry", RetryPolicy(retries=3, backoff=0.01))
        return ChunkedUploader(endpoint, chunk_size=CHUNK, store=store, **kwargs)

    return make


def interrupt_after(offset):
    def on_progress(progress):
        if progress.offset >= offset:
            raise Interrupted

    return on_progress


def test_client_uploads_a_file_in_chunks_and_the_server_keeps_the_same_bytes(
    server, make_uploader, data_file
):
    upload = make_uploader(server.graphql_url).upload(data_file)
    assert upload.status == "COMPLETE"
    assert upload.offset == SIZE
    assert upload.filename == "data.bin"
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_progress_callback_sees_every_confirmed_offset_up_to_the_total(
    server, make_uploader, data_file
):
    seen = []
    make_uploader(server.graphql_url).upload(data_file, on_progress=seen.append)
    assert [p.offset for p in seen] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    assert {p.total for p in seen} == {SIZE}
    assert seen[0].upload_id is None and seen[-1].upload_id is not None


def test_running_again_resumes_an_interrupted_upload_at_the_server_offset(
    server, make_uploader, data_file
):
    with pytest.raises(Interrupted):
        make_uploader(server.graphql_url).upload(data_file, on_progress=interrupt_after(2 * CHUNK))
    seen = []
    upload = make_uploader(server.graphql_url).upload(data_file, on_progress=seen.append)

    assert seen[0].resumed_from == 2 * CHUNK
    assert [p.offset for p in seen] == [2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    assert [str(pk) for pk in ChunkedUpload.objects.values_list("pk", flat=True)] == [upload.id]
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_the_resume_record_is_forgotten_once_the_upload_completes(
    server, make_uploader, data_file, store
):
    make_uploader(server.graphql_url).upload(data_file)
    assert store.get(server.graphql_url, fingerprint(data_file)) is None


def test_an_upload_the_server_no_longer_has_is_started_over(server, make_uploader, data_file):
    uploader = make_uploader(server.graphql_url)
    with pytest.raises(Interrupted):
        uploader.upload(data_file, on_progress=interrupt_after(CHUNK))
    (abandoned,) = ChunkedUpload.objects.all()
    uploader.cancel(str(abandoned.pk))

    seen = []
    upload = make_uploader(server.graphql_url).upload(data_file, on_progress=seen.append)
    assert seen[0].resumed_from == 0
    assert upload.id != str(abandoned.pk)
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_file_changed_since_the_interruption_starts_a_new_upload(
    server, make_uploader, data_file
):
    with pytest.raises(Interrupted):
        make_uploader(server.graphql_url).upload(data_file, on_progress=interrupt_after(CHUNK))
    data_file.write_bytes(os.urandom(SIZE))

    seen = []
    upload = make_uploader(server.graphql_url).upload(data_file, on_progress=seen.append)
    assert seen[0].resumed_from == 0
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_checksum_mismatch_at_completion_is_reported_and_the_upload_discarded(
    server, make_uploader, data_file, store
):
    with pytest.raises(Interrupted):
        make_uploader(server.graphql_url).upload(data_file, on_progress=interrupt_after(2 * CHUNK))
    # Change a byte that was already sent, keeping what the fingerprint looks at (size, mtime,
    # both ends): only the checksum can notice.
    stat = data_file.stat()
    content = bytearray(data_file.read_bytes())
    content[CHUNK + 10] ^= 0xFF
    data_file.write_bytes(bytes(content))
    os.utime(data_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    with pytest.raises(UploadRejected) as caught:
        make_uploader(server.graphql_url).upload(data_file)
    assert caught.value.code == "CHECKSUM_MISMATCH"
    assert "run again to start over" in str(caught.value)
    assert ChunkedUpload.objects.count() == 0
    assert store.get(server.graphql_url, fingerprint(data_file)) is None


def test_a_typed_error_is_raised_with_its_code_and_fields(gunicorn, make_uploader, data_file):
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_BYTES": 1000})
    with pytest.raises(UploadRejected) as caught:
        make_uploader(server.graphql_url).upload(data_file)
    assert caught.value.code == "MAX_BYTES_EXCEEDED"
    assert caught.value.http_status == 400
    assert caught.value.details == {"maxBytes": 1000}
    assert str(caught.value).endswith("(MAX_BYTES_EXCEEDED)")


def test_chunks_shrink_to_the_servers_max_chunk_size(gunicorn, make_uploader, data_file):
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_CHUNK_SIZE": 40_000})
    seen = []
    upload = make_uploader(server.graphql_url).upload(data_file, on_progress=seen.append)
    steps = [b.offset - a.offset for a, b in itertools.pairwise(seen)]
    assert max(steps) == 40_000
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_signed_in_session_uploads_with_its_csrf_token(server, make_uploader, data_file):
    auth = SessionAuth("alice", "alice-password", login_url=f"{server.url}/accounts/login/")
    upload = make_uploader(server.graphql_url, auth=auth).upload(data_file)
    assert ChunkedUpload.objects.get(pk=upload.id).user.username == "alice"


def test_a_wrong_password_fails_the_sign_in(server, make_uploader, data_file):
    auth = SessionAuth("alice", "wrong", login_url=f"{server.url}/accounts/login/")
    with pytest.raises(AuthenticationFailed, match="check the username and password"):
        make_uploader(server.graphql_url, auth=auth).upload(data_file)


def test_an_invalid_token_fails_with_the_servers_message(server, make_uploader, data_file):
    with pytest.raises(AuthenticationFailed, match=r"HTTP 401.*Invalid or expired token"):
        make_uploader(server.graphql_url, auth=BearerAuth("nonsense")).upload(data_file)


@pytest.fixture
def flaky(server):
    proxies = []

    def start(failures):
        proxy = FlakyProxy(server.url, failures)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()


def test_failed_chunk_requests_are_retried_with_backoff(flaky, make_uploader, data_file):
    proxy = flaky({2: "drop", 3: "503"})
    retries = []
    upload = make_uploader(
        f"{proxy.url}/graphql/", on_retry=lambda n, wait, exc: retries.append(n)
    ).upload(data_file)
    assert retries == [1, 2]
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_chunk_whose_answer_was_lost_is_not_stored_twice(flaky, make_uploader, data_file):
    proxy = flaky({2: "lose-answer"})
    seen = []
    upload = make_uploader(f"{proxy.url}/graphql/").upload(data_file, on_progress=seen.append)
    offsets = [p.offset for p in seen]
    assert offsets == sorted(offsets)
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_completion_whose_answer_was_lost_still_ends_complete(flaky, make_uploader, data_file):
    proxy = flaky({5: "lose-answer"})  # posts 0-4 are the five chunks
    upload = make_uploader(f"{proxy.url}/graphql/").upload(data_file)
    assert upload.status == "COMPLETE"
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_retries_end_with_the_last_failure_when_the_server_stays_away(
    flaky, make_uploader, data_file
):
    proxy = flaky(dict.fromkeys(range(10), "503"))
    with pytest.raises(ServerError, match="HTTP 503") as caught:
        make_uploader(f"{proxy.url}/graphql/", retry=RetryPolicy(retries=2, backoff=0.01)).upload(
            data_file
        )
    assert proxy.posts == 3
    assert caught.value.status == 503


def test_a_failing_storage_is_retried_and_the_upload_continues(
    gunicorn, moto_server, make_uploader, data_file
):
    # The bucket does not exist yet: the server's storage fails, the server says so with the
    # STORAGE_ERROR code, and the client retries; the bucket appears before the retry.
    bucket = f"late-{os.urandom(6).hex()}"
    server = gunicorn(workers=2, settings=moto_server.settings(bucket))
    s3 = moto_server.client()
    failures = []

    def on_retry(attempt, wait, exc):
        failures.append(exc)
        s3.create_bucket(Bucket=bucket)

    upload = make_uploader(server.graphql_url, on_retry=on_retry).upload(data_file)

    assert len(failures) == 1
    assert isinstance(failures[0], ServerError) and failures[0].transient
    assert "storage failed" in str(failures[0])
    assert upload.status == "COMPLETE"
    name = ChunkedUpload.objects.get(pk=upload.id).file.name
    assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == data_file.read_bytes()

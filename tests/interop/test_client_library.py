"""The Python client (``chunked_graphql.client``) against a real gunicorn server: chunks,
several at once or one after another, progress, resuming across runs, retries over a failing
network, the checksums, authentication, and a server of an earlier release.

Every run asks ``uploadLimits`` first and creates the upload with ``createUpload``: through a
proxy, POST 0 is the limits, POST 1 the creation, and the chunks follow."""

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
    ServerUnreachable,
    SessionAuth,
    UploadRejected,
    fingerprint,
)
from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token
from tests.support.flaky_proxy import FlakyProxy
from tests.support.project_site import older_release
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
        kwargs.setdefault("chunk_size", CHUNK)
        return ChunkedUploader(endpoint, store=store, **kwargs)

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
    make_uploader(server.graphql_url, parallel=1).upload(data_file, on_progress=seen.append)
    assert [p.offset for p in seen] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    assert {p.total for p in seen} == {SIZE}
    assert seen[0].upload_id is None and seen[-1].upload_id is not None


def test_running_again_resumes_an_interrupted_upload_at_the_server_offset(
    server, make_uploader, data_file
):
    with pytest.raises(Interrupted):
        make_uploader(server.graphql_url, parallel=1).upload(
            data_file, on_progress=interrupt_after(2 * CHUNK)
        )
    seen = []
    upload = make_uploader(server.graphql_url, parallel=1).upload(
        data_file, on_progress=seen.append
    )

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
def flaky(request):
    proxies = []

    def start(failures, upstream=None):
        # In front of the test's server unless told otherwise.
        upstream = upstream or request.getfixturevalue("server")
        proxy = FlakyProxy(upstream.url, failures)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()


def test_failed_chunk_requests_are_retried_with_backoff(flaky, make_uploader, data_file):
    proxy = flaky({2: "drop", 3: "503"})  # the first chunk, then its retry
    retries = []
    upload = make_uploader(
        f"{proxy.url}/graphql/", parallel=1, on_retry=lambda n, wait, exc: retries.append(n)
    ).upload(data_file)
    assert retries == [1, 2]
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_chunk_whose_answer_was_lost_is_not_stored_twice(flaky, make_uploader, data_file):
    proxy = flaky({3: "lose-answer"})  # the second chunk: its retry gets OffsetMismatch
    seen = []
    upload = make_uploader(f"{proxy.url}/graphql/", parallel=1).upload(
        data_file, on_progress=seen.append
    )
    offsets = [p.offset for p in seen]
    assert offsets == sorted(offsets)
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_completion_whose_answer_was_lost_still_ends_complete(flaky, make_uploader, data_file):
    proxy = flaky({7: "lose-answer"})  # posts 2-6 are the five chunks
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


# A server of an earlier release: no createUpload, no uploadLimits -------------------------------


@pytest.fixture
def older_server(gunicorn):
    return gunicorn(workers=2, settings=older_release.SERVER_SETTINGS)


def test_a_server_without_create_upload_gets_uploads_whose_first_chunk_creates_them(
    older_server, make_uploader, data_file
):
    seen = []
    upload = make_uploader(older_server.graphql_url, parallel=4).upload(
        data_file, on_progress=seen.append
    )

    assert upload.status == "COMPLETE"
    assert (upload.parallel, upload.missing_ranges) == (False, None)
    assert [p.offset for p in seen] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_an_upload_to_a_server_without_create_upload_resumes_at_its_offset(
    older_server, make_uploader, data_file
):
    with pytest.raises(Interrupted):
        make_uploader(older_server.graphql_url).upload(
            data_file, on_progress=interrupt_after(2 * CHUNK)
        )
    seen = []
    upload = make_uploader(older_server.graphql_url).upload(data_file, on_progress=seen.append)

    assert [p.offset for p in seen] == [2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    assert ChunkedUpload.objects.count() == 1
    assert stored_bytes(upload.id) == data_file.read_bytes()


# Parallel uploads -------------------------------------------------------------------------------

PARALLEL_CHUNK = 256 * 1024
PARALLEL_SIZE = 6 * 1024 * 1024 + 12_345  # 25 chunks, the last one short


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(PARALLEL_SIZE))
    return path


@pytest.fixture
def four_workers(gunicorn):
    # As many workers as senders, so that four chunks can be stored at once.
    return gunicorn(workers=4)


def chunk_ranges(size, chunk_size):
    return [(start, min(start + chunk_size, size) - 1) for start in range(0, size, chunk_size)]


def coalesced(ranges):
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def test_four_senders_upload_a_file_of_a_few_mib_byte_exact(
    four_workers, flaky, make_uploader, big_file
):
    proxy = flaky({}, upstream=four_workers)
    upload = make_uploader(f"{proxy.url}/graphql/", chunk_size=PARALLEL_CHUNK, parallel=4).upload(
        big_file
    )

    assert (upload.status, upload.parallel, upload.chunk_size) == (
        "COMPLETE",
        True,
        PARALLEL_CHUNK,
    )
    assert stored_bytes(upload.id) == big_file.read_bytes()
    # Every chunk went once, and four were in flight at a time.
    assert sorted(proxy.content_ranges) == chunk_ranges(PARALLEL_SIZE, PARALLEL_CHUNK)
    assert proxy.most_in_flight == 4


def test_progress_of_a_parallel_upload_rises_by_acknowledged_chunks_to_the_total(
    four_workers, make_uploader, big_file
):
    seen = []
    make_uploader(four_workers.graphql_url, chunk_size=PARALLEL_CHUNK).upload(
        big_file, on_progress=seen.append
    )
    steps = sorted(b.offset - a.offset for a, b in itertools.pairwise(seen))

    assert seen[0].offset == 0 and seen[-1].offset == PARALLEL_SIZE
    assert steps == sorted(
        end - start + 1 for start, end in chunk_ranges(PARALLEL_SIZE, PARALLEL_CHUNK)
    )
    assert {p.upload_id for p in seen[1:]} == {seen[-1].upload_id}


def test_the_default_chunk_size_grows_to_what_the_servers_parallel_uploads_need(
    gunicorn, moto_server, make_uploader, tmp_path
):
    # S3 takes parts of 5 MiB at least; the client's default of 4 MiB grows to that.
    bucket = f"parallel-{os.urandom(6).hex()}"
    moto_server.client().create_bucket(Bucket=bucket)
    server = gunicorn(workers=2, settings=moto_server.settings(bucket))
    path = tmp_path / "eleven.bin"
    path.write_bytes(os.urandom(11 * 1024 * 1024))

    upload = make_uploader(server.graphql_url, chunk_size=None).upload(path)

    assert (upload.parallel, upload.chunk_size) == (True, 5 * 1024 * 1024)
    name = ChunkedUpload.objects.get(pk=upload.id).file.name
    s3_object = moto_server.client().get_object(Bucket=bucket, Key=name)
    assert s3_object["Body"].read() == path.read_bytes()


def test_an_interrupted_parallel_upload_resumes_sending_only_its_missing_ranges(
    four_workers, flaky, make_uploader, big_file
):
    # Three chunks get through (posts 2-4), then the network fails.
    proxy = flaky(dict.fromkeys(range(5, 60), "drop"), upstream=four_workers)
    endpoint = f"{proxy.url}/graphql/"
    with pytest.raises(ServerUnreachable):
        make_uploader(endpoint, chunk_size=PARALLEL_CHUNK, retry=RetryPolicy(retries=0)).upload(
            big_file
        )
    (row,) = ChunkedUpload.objects.all()
    missing = [tuple(pair) for pair in row.missing_ranges()]
    proxy.failures.clear()
    proxy.content_ranges.clear()

    seen = []
    upload = make_uploader(endpoint, chunk_size=PARALLEL_CHUNK).upload(
        big_file, on_progress=seen.append
    )

    assert coalesced(proxy.content_ranges) == missing
    assert len(proxy.content_ranges) == len(set(proxy.content_ranges))
    assert seen[0].resumed_from == 3 * PARALLEL_CHUNK
    assert upload.id == str(row.pk)
    assert stored_bytes(upload.id) == big_file.read_bytes()


def test_a_chunk_damaged_on_the_way_is_sent_again(flaky, make_uploader, data_file):
    proxy = flaky({3: "corrupt"})  # the second chunk
    refusals = []
    upload = make_uploader(
        f"{proxy.url}/graphql/", on_retry=lambda n, wait, exc: refusals.append(exc)
    ).upload(data_file)

    assert [exc.code for exc in refusals] == ["CHUNK_CHECKSUM_MISMATCH"]
    assert len(proxy.content_ranges) == len(chunk_ranges(SIZE, CHUNK)) + 1
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_serial_upload_is_created_before_its_first_chunk_so_a_failed_one_resumes(
    flaky, make_uploader, data_file
):
    proxy = flaky({2: "drop"})  # the first chunk
    endpoint = f"{proxy.url}/graphql/"
    with pytest.raises(ServerUnreachable):
        make_uploader(endpoint, parallel=1, retry=RetryPolicy(retries=0)).upload(data_file)
    (created,) = ChunkedUpload.objects.all()

    upload = make_uploader(endpoint, parallel=1).upload(data_file)

    assert upload.id == str(created.pk)
    assert ChunkedUpload.objects.count() == 1
    assert stored_bytes(upload.id) == data_file.read_bytes()


def test_a_quota_refusal_is_raised_with_its_code_and_fields(gunicorn, make_uploader, data_file):
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS": 1})
    uploader = make_uploader(server.graphql_url)
    uploader.create("other.bin", 1000)

    with pytest.raises(UploadRejected) as caught:
        uploader.upload(data_file)

    assert caught.value.code == "QUOTA_EXCEEDED"
    assert caught.value.http_status == 403
    assert caught.value.details == {"quota": "INCOMPLETE_UPLOADS", "limit": 1}


def test_parallel_asked_for_with_a_chunk_size_the_server_refuses_creates_nothing(
    server, make_uploader, data_file
):
    with pytest.raises(UploadRejected) as caught:
        make_uploader(server.graphql_url, chunk_size=1000, parallel=4).upload(data_file)

    assert caught.value.code == "INVALID_CHUNK_SIZE"
    assert caught.value.details["minChunkSize"] == 64 * 1024
    assert ChunkedUpload.objects.count() == 0

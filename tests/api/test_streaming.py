"""Chunks travel from the request body to the storage in one pass: no temporary file, the size
limit applied before a byte is read, and a body that breaks off or overruns stores nothing."""

import json
import os
import tempfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from chunked_graphql.exceptions import ChunkStorageError
from chunked_graphql.models import ChunkedUpload
from chunked_graphql.services import uploading
from chunked_graphql.stores import FileSystemChunkStore, chunk_store
from tests.support.graphql_client import FILE_MAP, UPLOAD_CHUNK, md5
from tests.support.uploads import (
    DATA,
    assert_error,
    assert_nothing_stored,
    stored_bytes,
    stored_offset,
    stored_size,
)

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def raw_chunk_body(boundary, content_range, data, upload_id=None, tail=None):
    """A GraphQL multipart body for uploadChunk carrying ``data``."""
    operations = json.dumps(
        {
            "query": UPLOAD_CHUNK,
            "variables": {
                "uploadId": upload_id,
                "file": None,
                "contentRange": content_range,
                "filename": "a.bin",
            },
        }
    )
    end = f"\r\n--{boundary}--\r\n".encode() if tail is None else tail
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            f"{operations}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
            '{"0": ["variables.file"]}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="c"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + end
    )


def post_raw(api, body):
    return api.client.post(
        "/graphql/", data=body, content_type="multipart/form-data; boundary=BOUNDARY"
    )


# MAX_CHUNK_SIZE ---------------------------------------------------------------------------------


def test_chunk_over_max_chunk_size_is_refused(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10

    result = api.upload_chunk(DATA[:11], "bytes 0-10/20")

    assert_error(result, "ChunkTooLarge", "CHUNK_TOO_LARGE", 413)
    assert_nothing_stored(media_root)


def test_chunk_too_large_reports_the_limit(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10
    response = api.post(
        UPLOAD_CHUNK.replace("httpStatus", "httpStatus ... on ChunkTooLarge { maxChunkSize }"),
        {"contentRange": "bytes 0-10/20", "filename": "a.bin"},
        files={"file": DATA[:11]},
    )
    assert response.json()["data"]["uploadChunk"]["maxChunkSize"] == 10


def test_chunk_of_exactly_max_chunk_size_is_stored(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10

    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")

    assert result["offset"] == 10


def test_chunk_too_large_writes_nothing_to_an_existing_upload(api, settings):
    started = api.upload_chunk(DATA[:5], "bytes 0-4/20")
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10

    result = api.upload_chunk(DATA[5:], "bytes 5-19/20", upload_id=started["id"])

    assert_error(result, "ChunkTooLarge", "CHUNK_TOO_LARGE", 413)
    assert stored_offset(started["id"]) == 5
    assert stored_size(started["id"]) == 5


def test_chunk_too_large_is_decided_before_the_chunk_is_read(api, settings, monkeypatch):
    """The declared length decides: the chunk's bytes are never read, let alone written."""
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10
    monkeypatch.setattr(
        FileSystemChunkStore, "write", lambda *a, **k: pytest.fail("chunk was written")
    )

    result = api.upload_chunk(DATA[:11], "bytes 0-10/20")

    assert_error(result, "ChunkTooLarge", "CHUNK_TOO_LARGE", 413)


def test_max_bytes_exceeded_comes_before_chunk_too_large(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 15

    result = api.upload_chunk(DATA[:11], "bytes 0-10/20")

    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")


def test_chunk_too_large_comes_before_a_length_mismatch(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10

    result = api.upload_chunk(DATA[:5], "bytes 0-10/20")

    assert_error(result, "ChunkTooLarge", "CHUNK_TOO_LARGE", 413)


def test_file_part_over_max_chunk_size_in_a_request_with_several_files_is_a_json_400(
    api, settings, media_root
):
    """Requests with several files are received whole; a part over the limit stops that."""
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 10
    operations = json.dumps(
        [
            {"query": UPLOAD_CHUNK, "variables": {"file": None}},
            {"query": UPLOAD_CHUNK, "variables": {"file": None}},
        ]
    )
    response = api.client.post(
        "/graphql/",
        {
            "operations": json.dumps(json.loads(operations)[0]),
            "map": json.dumps({"0": ["variables.file"], "1": ["variables.file"]}),
            "0": SimpleUploadedFile("a", DATA),
            "1": SimpleUploadedFile("b", DATA),
        },
    )

    assert response.status_code == 400
    assert "MAX_CHUNK_SIZE" in response.json()["errors"][0]["message"]
    assert_nothing_stored(media_root)


# One pass, no temporary file ---------------------------------------------------------------


def test_large_chunk_is_stored_without_a_temporary_file(api, monkeypatch):
    """Django's parser would spool this 4 MiB part to a temporary file and copy it again."""
    data = os.urandom(4 * MIB)

    def no_temporary_file(*args, **kwargs):
        raise AssertionError("a temporary file was created")

    for name in ("SpooledTemporaryFile", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temporary_file)

    result = api.upload_chunk(data, f"bytes 0-{len(data) - 1}/{len(data)}")

    assert result["offset"] == len(data)
    assert stored_bytes(result["id"]) == data


def test_chunked_upload_of_a_large_file_completes_with_the_right_bytes(api):
    data = os.urandom(3 * MIB + 12345)

    completed = api.upload_and_complete(data, MIB + 7)

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(completed["id"]) == data


# Bodies that break off or overrun ------------------------------------------------------------


def test_body_ending_inside_the_chunk_of_an_existing_upload_stores_nothing(api):
    started = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    body = raw_chunk_body("BOUNDARY", "bytes 10-19/20", DATA[10:], upload_id=started["id"])

    response = post_raw(api, body[:-30])

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "ends before its closing boundary" in response.json()["errors"][0]["message"]
    assert stored_offset(started["id"]) == 10
    assert stored_size(started["id"]) == 10


def test_chunk_longer_than_its_content_range_stores_nothing(api):
    started = api.upload_chunk(DATA[:10], "bytes 0-9/20")

    result = api.upload_chunk(DATA[10:] + b"extra", "bytes 10-19/20", upload_id=started["id"])

    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")
    assert "15 bytes" in result["message"]
    assert stored_offset(started["id"]) == 10
    assert stored_size(started["id"]) == 10


def test_chunk_shorter_than_its_content_range_stores_nothing(api):
    started = api.upload_chunk(DATA[:10], "bytes 0-9/20")

    result = api.upload_chunk(DATA[10:15], "bytes 10-19/20", upload_id=started["id"])

    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")
    assert "5 bytes" in result["message"]
    assert stored_size(started["id"]) == 10


def test_too_many_parts_after_the_chunk_store_nothing(api, settings):
    """The rest of the body is checked before the offset commits."""
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    started = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    extra = b"".join(
        b'\r\n--BOUNDARY\r\nContent-Disposition: form-data; name="x%d"; filename="x"\r\n\r\nx' % i
        for i in range(3)
    )
    body = raw_chunk_body(
        "BOUNDARY",
        "bytes 10-19/20",
        DATA[10:],
        upload_id=started["id"],
        tail=extra + b"\r\n--BOUNDARY--\r\n",
    )

    response = post_raw(api, body)

    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FILES" in response.json()["errors"][0]["message"]
    assert stored_offset(started["id"]) == 10
    assert stored_size(started["id"]) == 10


def test_csrf_form_field_after_the_file_is_not_seen(csrf_client):
    """The endpoint decides on CSRF before it reads a file; a token field sent after the file
    part comes too late (send it first, or use the X-CSRFToken header)."""
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    csrf_client.cookies["csrftoken"] = token
    operations = json.dumps(
        {
            "query": UPLOAD_CHUNK,
            "variables": {"file": None, "contentRange": "bytes 0-2/3", "filename": "a.bin"},
        }
    )
    response = csrf_client.post(
        "/graphql/",
        {
            "operations": operations,
            "map": FILE_MAP,
            "0": SimpleUploadedFile("c", b"abc"),
            "csrfmiddlewaretoken": token,
        },
    )

    assert response.status_code == 403
    assert ChunkedUpload.objects.count() == 0


@pytest.fixture
def csrf_client(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


# Writers of one upload ----------------------------------------------------------------------


def test_filesystem_writer_lock_excludes_another_writer(api, monkeypatch):
    started = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    upload = ChunkedUpload.objects.get(pk=started["id"])
    store = chunk_store()
    monkeypatch.setattr(FileSystemChunkStore, "lock_timeout", 0.05)

    # The locks belong to an open file, not the process: a second lock is another writer, even
    # here (and in another thread of a gthread worker).
    with store.lock(upload.file.name), pytest.raises(ChunkStorageError):  # noqa: SIM117
        with store.lock(upload.file.name, 10):
            pass

    with store.lock(upload.file.name, 10):
        pass


def test_chunk_waiting_too_long_for_another_writer_is_a_retryable_busy_error(api, monkeypatch):
    started = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    upload = ChunkedUpload.objects.get(pk=started["id"])
    monkeypatch.setattr(FileSystemChunkStore, "lock_timeout", 0.05)

    with chunk_store().lock(upload.file.name):
        body = api.post(
            UPLOAD_CHUNK,
            {"uploadId": started["id"], "contentRange": "bytes 10-19/20"},
            files={"file": DATA[10:]},
        ).json()

    assert body["errors"][0]["extensions"] == {"code": "UPLOAD_BUSY"}
    assert "try again" in body["errors"][0]["message"]
    assert upload.file.name not in body["errors"][0]["message"]
    assert stored_offset(started["id"]) == 10


def test_cancel_waits_for_a_chunk_being_written(api, monkeypatch):
    started = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    upload = ChunkedUpload.objects.get(pk=started["id"])
    monkeypatch.setattr(FileSystemChunkStore, "lock_timeout", 0.05)

    with chunk_store().lock(upload.file.name, 10):
        body = api.post(
            "mutation($id: ID!) { cancelUpload(uploadId: $id) { __typename } }",
            {"id": started["id"]},
        ).json()

    assert body["errors"][0]["extensions"] == {"code": "UPLOAD_BUSY"}
    assert upload.file.name not in body["errors"][0]["message"]
    assert stored_offset(started["id"]) == 10
    assert api.cancel(started["id"])["__typename"] == "CancelledUpload"


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_the_chunk_is_written_under_the_row_lock(api, monkeypatch):
    """With ATOMIC_REQUESTS the offset commits when the request's transaction does; only the
    row lock, held until then, keeps other writers out, so the chunk is received first."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    received = []
    real_received = uploading.received

    def recording(incoming):
        received.append(incoming.length)
        return real_received(incoming)

    monkeypatch.setattr(uploading, "received", recording)

    completed = api.upload_and_complete(DATA, 7)

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(completed["id"]) == DATA
    assert received == [7, 6]  # the chunks after the first, which creates the upload


def test_whole_file_upload_is_hashed_as_it_streams(api, media_root):
    data = os.urandom(3 * MIB)

    completed = api.complete(None, md5(data), file=data, filename="whole.bin")

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(completed["id"]) == data


def test_whole_file_with_wrong_checksum_stores_nothing(api, media_root):
    result = api.complete(None, md5(b"other"), file=DATA, filename="whole.bin")

    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")
    assert_nothing_stored(media_root)

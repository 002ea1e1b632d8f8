"""Uploads to S3-compatible object storage (django-storages' S3Storage) on moto's S3 server:
chunk sizes stay free, completion assembles the file on the server side, and nothing is left
behind by completing, cancelling or expiring an upload."""

import hashlib
import os
import signal
from typing import Any

import pytest
from botocore.config import Config
from django.core.management import call_command
from django.urls import reverse

from chunked_graphql import services
from chunked_graphql.models import ChunkedUpload
from chunked_graphql.stores import chunk_store
from chunked_graphql.stores.s3 import PART_SIZE, S3ChunkStore
from tests.support.graphql_client import md5
from tests.support.uploads import age, assert_error

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def keys(s3: Any) -> list[str]:
    answer = s3.client.list_objects_v2(Bucket=s3.bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def pending_multipart_uploads(s3: Any) -> list[str]:
    return [u["Key"] for u in s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])]


def object_bytes(s3: Any, key: str) -> bytes:
    body: bytes = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return body


def completed_key(upload_id: str) -> str:
    return ChunkedUpload.objects.get(pk=upload_id).file.name


def test_s3_storage_gets_the_s3_chunk_store(s3):
    assert isinstance(chunk_store(), S3ChunkStore)


@pytest.mark.parametrize(
    "size, chunk_size",
    [
        (3 * MIB + 5, MIB),  # never fills a part: completion is one server-side copy
        (12 * MIB + 3, MIB),  # small chunks regrouped into 5 MiB parts
        (13 * MIB + 1, 7 * MIB),  # chunks larger than a part
        (PART_SIZE, PART_SIZE),  # exactly one part, no tail
    ],
)
def test_upload_to_s3_completes_with_the_right_bytes(api, s3, size, chunk_size):
    data = os.urandom(size)

    completed = api.upload_and_complete(data, chunk_size)

    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(completed["id"])) == data


def test_chunk_sizes_below_the_s3_part_minimum_are_accepted(api, s3):
    """S3's 5 MiB minimum part size is not the client's concern."""
    data = os.urandom(40_000)

    completed = api.upload_and_complete(data, 1000)

    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(completed["id"])) == data


def test_completed_upload_leaves_only_the_file(api, s3):
    completed = api.upload_and_complete(os.urandom(11 * MIB), 2 * MIB)

    assert keys(s3) == [completed_key(completed["id"])]
    assert pending_multipart_uploads(s3) == []


def test_completion_copies_parts_on_the_server_without_reading_them(api, s3, monkeypatch):
    data = os.urandom(11 * MIB)
    uploaded = api.upload(data, 3 * MIB)

    def no_reading(*args, **kwargs):
        raise AssertionError("completion read the upload's bytes through the app")

    monkeypatch.setattr(S3ChunkStore, "read", no_reading)
    monkeypatch.setattr(S3ChunkStore, "_download", no_reading)
    completed = api.complete(uploaded["id"], md5(data))

    assert completed["status"] == "COMPLETE", completed
    head = s3.client.head_object(Bucket=s3.bucket, Key=completed_key(completed["id"]), PartNumber=1)
    # 3 MiB chunks regrouped: 3+3 MiB make part 1, 3+2 MiB make part 2.
    assert head["PartsCount"] == 2


def test_each_chunk_re_sends_at_most_one_part_of_earlier_bytes(api, s3, monkeypatch):
    """Regrouping re-reads only the tail (under 5 MiB), never the upload so far."""
    downloaded = []
    real_download = S3ChunkStore._download

    def counting(self, key, target):
        start = target.tell()
        real_download(self, key, target)
        downloaded.append(target.tell() - start)

    monkeypatch.setattr(S3ChunkStore, "_download", counting)
    api.upload(os.urandom(20 * MIB), MIB)

    assert downloaded
    assert max(downloaded) < PART_SIZE


def test_cancel_leaves_no_objects_or_multipart_uploads(api, s3):
    uploaded = api.upload(os.urandom(12 * MIB), 2 * MIB)

    assert api.cancel(uploaded["id"])["__typename"] == "CancelledUpload"

    assert keys(s3) == []
    assert pending_multipart_uploads(s3) == []


def test_delete_expired_uploads_leaves_no_objects(api, s3):
    uploaded = api.upload(os.urandom(7 * MIB), 2 * MIB)
    age(uploaded["id"])

    call_command("delete_expired_uploads", verbosity=0)

    assert keys(s3) == []
    assert not ChunkedUpload.objects.filter(pk=uploaded["id"]).exists()


def test_delete_expired_uploads_keeping_records_leaves_no_objects(api, s3):
    uploaded = api.upload(os.urandom(7 * MIB), 2 * MIB)
    age(uploaded["id"])

    call_command("delete_expired_uploads", "--keep-record", verbosity=0)

    assert keys(s3) == []
    assert ChunkedUpload.objects.get(pk=uploaded["id"]).store_state is None


def test_delete_expired_uploads_aborts_a_half_finished_completion(api, s3):
    uploaded = api.upload(os.urandom(7 * MIB), 2 * MIB)
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    # What a completion killed between creating its multipart upload and finishing it leaves.
    stem = upload.file.name.rsplit(".", 1)[0]
    s3.client.create_multipart_upload(Bucket=s3.bucket, Key=stem + ".done")
    age(uploaded["id"])

    call_command("delete_expired_uploads", verbosity=0)

    assert pending_multipart_uploads(s3) == []
    assert keys(s3) == []


def test_delete_expired_uploads_never_touches_completed_uploads(api, s3):
    completed = api.upload_and_complete(os.urandom(6 * MIB), 2 * MIB)
    age(completed["id"])

    call_command("delete_expired_uploads", verbosity=0)

    assert keys(s3) == [completed_key(completed["id"])]


def test_admin_expiry_action_leaves_no_objects_or_multipart_uploads(api, s3, admin_client):
    uploaded = api.upload(os.urandom(7 * MIB), 2 * MIB)
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    stem = upload.file.name.rsplit(".", 1)[0]
    s3.client.create_multipart_upload(Bucket=s3.bucket, Key=stem + ".done")
    age(uploaded["id"])

    admin_client.post(
        reverse("admin:chunked_graphql_chunkedupload_changelist"),
        {"action": "delete_expired", "_selected_action": [uploaded["id"]]},
    )

    assert not ChunkedUpload.objects.filter(pk=uploaded["id"]).exists()
    assert keys(s3) == []
    assert pending_multipart_uploads(s3) == []


def test_admin_delete_of_incomplete_upload_leaves_no_objects(
    api, s3, admin_client, django_capture_on_commit_callbacks
):
    uploaded = api.upload(os.urandom(7 * MIB), 2 * MIB)

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:chunked_graphql_chunkedupload_delete", args=[uploaded["id"]]),
            {"post": "yes"},
        )

    assert keys(s3) == []
    assert pending_multipart_uploads(s3) == []


def test_completion_rolled_back_by_the_hook_keeps_the_parts(api, s3, settings, user):
    data = os.urandom(11 * MIB)
    uploaded = api.upload(data, 3 * MIB)
    before = keys(s3)
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "tests.e2e.test_s3.failing_hook"

    with pytest.raises(RuntimeError):
        services.complete_upload(user=user, upload_id=uploaded["id"], checksum=md5(data))

    assert keys(s3) == before
    assert pending_multipart_uploads(s3) == []
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = None
    completed = api.complete(uploaded["id"], md5(data))
    assert object_bytes(s3, completed_key(completed["id"])) == data


def failing_hook(upload, request):
    raise RuntimeError("the project's hook failed")


def test_algorithm_without_resumable_state_reads_the_parts_back(api, s3, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha3_256"
    data = os.urandom(8 * MIB)
    uploaded = api.upload(data, 3 * MIB)

    completed = api.complete(uploaded["id"], hashlib.sha3_256(data).hexdigest())

    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(completed["id"])) == data


def test_whole_file_upload_to_s3(api, s3):
    data = os.urandom(6 * MIB)

    completed = api.complete(None, md5(data), file=data, filename="whole.bin")

    assert completed["status"] == "COMPLETE", completed
    assert keys(s3) == [completed_key(completed["id"])]
    assert object_bytes(s3, completed_key(completed["id"])) == data


def test_whole_file_with_wrong_checksum_leaves_nothing_in_the_bucket(api, s3):
    result = api.complete(None, md5(b"other"), file=os.urandom(6 * MIB), filename="w.bin")

    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")
    assert keys(s3) == []


def test_storage_failure_mid_chunk_leaves_the_upload_resumable(api, s3, settings, moto_server):
    """The object store stops answering while a chunk is written: the client gets an error,
    the offset stays at its last good value, and once the store is back the upload resumes
    and completes with the right bytes."""
    settings.AWS_S3_CLIENT_CONFIG = Config(
        connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"}
    )
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = "storages.backends.s3.S3Storage"  # rebuilt
    data = os.urandom(9 * MIB)
    total = len(data)
    uploaded = api.upload_chunk(data[: 4 * MIB], f"bytes 0-{4 * MIB - 1}/{total}")
    upload_id = uploaded["id"]

    os.kill(moto_server.process.pid, signal.SIGSTOP)
    try:
        response = api.post(
            "mutation($id: ID, $file: Upload, $range: String) { uploadChunk(uploadId: $id,"
            " file: $file, contentRange: $range) { __typename } }",
            {"id": upload_id, "range": f"bytes {4 * MIB}-{total - 1}/{total}"},
            files={"file": data[4 * MIB :]},
        ).json()
    finally:
        os.kill(moto_server.process.pid, signal.SIGCONT)

    assert "try again" in response["errors"][0]["message"], response
    assert ChunkedUpload.objects.get(pk=upload_id).offset == 4 * MIB

    offset = api.get(upload_id)["offset"]  # as a client resumes
    assert offset == 4 * MIB
    result = api.upload_chunk(
        data[offset:], f"bytes {offset}-{total - 1}/{total}", upload_id=upload_id
    )
    assert result["offset"] == total, result
    completed = api.complete(upload_id, md5(data))
    assert object_bytes(s3, completed_key(upload_id)) == data
    assert completed["status"] == "COMPLETE"


def test_service_works_with_the_s3_store_directly(s3, user):
    """The plain-Python service, no GraphQL: what a project's own code may call."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = os.urandom(6 * MIB)
    upload = services.upload_chunk(
        user=user,
        chunk=SimpleUploadedFile("c", data),
        content_range=f"bytes 0-{len(data) - 1}/{len(data)}",
        filename="direct.bin",
    )
    completed = services.complete_upload(user=user, upload_id=upload.pk, checksum=md5(data))

    assert object_bytes(s3, completed.file.name) == data

"""The completeUpload mutation: completing a chunked upload, and whole-file uploads."""

import hashlib
import uuid
from datetime import datetime

import pytest
from django.db import connection, transaction
from django.utils import timezone

from chunked_graphql import services
from chunked_graphql.hashing import ResumableHash
from chunked_graphql.models import ChunkedUpload
from chunked_graphql.services import completing
from tests.support.graphql_client import COMPLETE_UPLOAD, md5
from tests.support.uploads import (
    DATA,
    UNKNOWN_ID,
    age,
    assert_error,
    assert_nothing_stored,
    files_under,
    stored_bytes,
)

pytestmark = pytest.mark.django_db

WRONG_MD5 = md5(b"something else")


# With an upload addressed: 1. MissingChecksum -----------------------------------------------


def test_absent_checksum_is_missing_checksum(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(uploaded["id"], None)
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert result["algorithm"] == "md5"


def test_empty_checksum_is_missing_checksum(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(uploaded["id"], "")
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert result["algorithm"] == "md5"


def test_missing_checksum_beats_not_found(api):
    result = api.complete(UNKNOWN_ID, None)
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert result["algorithm"] == "md5"


def test_missing_checksum_for_unknown_upload_names_configured_algorithm(api, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha1"
    result = api.complete(UNKNOWN_ID, None)
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert result["algorithm"] == "sha1"


def test_missing_checksum_beats_expired(api):
    uploaded = api.upload(DATA, 10)
    age(uploaded["id"])
    result = api.complete(uploaded["id"], None)
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")


def test_missing_checksum_beats_already_complete(api):
    completed = api.upload_and_complete(DATA, 10)
    result = api.complete(completed["id"], None)
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")


def test_missing_checksum_beats_incomplete(api):
    started = api.start(DATA, 10)
    result = api.complete(started["id"], None)
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")


def test_missing_checksum_names_the_uploads_own_algorithm(api, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    uploaded = api.upload(DATA, 10)
    settings.CHUNKED_GRAPHQL_CHECKSUM = "md5"
    result = api.complete(uploaded["id"], None)
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert result["algorithm"] == "sha256"


def test_missing_checksum_leaves_upload_uploading(api):
    uploaded = api.upload(DATA, 10)
    api.complete(uploaded["id"], None)
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    assert upload.status == ChunkedUpload.Status.UPLOADING
    assert upload.file.name.endswith(".part")


# 2. NotFound / Expired / AlreadyComplete ---------------------------------------------------


def test_unknown_upload_is_not_found(api):
    result = api.complete(UNKNOWN_ID, md5(DATA))
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


@pytest.mark.parametrize("upload_id", ["abc", "{" + UNKNOWN_ID + "}", "urn:uuid:" + UNKNOWN_ID])
def test_malformed_upload_id_is_not_found(api, upload_id):
    result = api.complete(upload_id, md5(DATA))
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_another_users_upload_is_not_found(api, other_api):
    uploaded = other_api.upload(DATA, 10)
    result = api.complete(uploaded["id"], md5(DATA))
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_another_users_upload_stays_uploading_after_refusal(api, other_api):
    uploaded = other_api.upload(DATA, 10)
    api.complete(uploaded["id"], md5(DATA))
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    assert upload.status == ChunkedUpload.Status.UPLOADING
    assert upload.completed_at is None


def test_anonymous_caller_gets_not_found(api, anon_api):
    uploaded = api.upload(DATA, 10)
    result = anon_api.complete(uploaded["id"], md5(DATA))
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_not_found_beats_expired_for_another_users_upload(api, other_api):
    uploaded = other_api.upload(DATA, 10)
    age(uploaded["id"])
    result = api.complete(uploaded["id"], md5(DATA))
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_expired_upload_is_upload_expired(api):
    uploaded = api.upload(DATA, 10)
    age(uploaded["id"])
    result = api.complete(uploaded["id"], md5(DATA))
    assert_error(result, "UploadExpired", "EXPIRED", 410)


def test_expired_upload_is_not_completed(api):
    uploaded = api.upload(DATA, 10)
    age(uploaded["id"])
    api.complete(uploaded["id"], md5(DATA))
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    assert upload.status == ChunkedUpload.Status.UPLOADING
    assert upload.file.name.endswith(".part")


def test_expired_beats_incomplete(api):
    started = api.start(DATA, 10)
    age(started["id"])
    result = api.complete(started["id"], md5(DATA))
    assert_error(result, "UploadExpired", "EXPIRED", 410)


def test_expired_beats_checksum_mismatch(api):
    uploaded = api.upload(DATA, 10)
    age(uploaded["id"])
    result = api.complete(uploaded["id"], WRONG_MD5)
    assert_error(result, "UploadExpired", "EXPIRED", 410)


def test_second_completion_is_already_complete(api):
    completed = api.upload_and_complete(DATA, 10)
    assert completed["__typename"] == "ChunkedUpload", completed
    result = api.complete(completed["id"], md5(DATA))
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE")


def test_already_complete_beats_checksum_mismatch(api):
    completed = api.upload_and_complete(DATA, 10)
    result = api.complete(completed["id"], WRONG_MD5)
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE")


def test_aged_complete_upload_is_already_complete_not_expired(api):
    # As in the reference, only an incomplete upload expires.
    completed = api.upload_and_complete(DATA, 10)
    age(completed["id"])
    result = api.complete(completed["id"], md5(DATA))
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE")


def test_second_completion_keeps_first_completion_time(api):
    completed = api.upload_and_complete(DATA, 10)
    first = ChunkedUpload.objects.get(pk=completed["id"]).completed_at
    api.complete(completed["id"], md5(DATA))
    assert ChunkedUpload.objects.get(pk=completed["id"]).completed_at == first


# 3. UploadIncomplete -----------------------------------------------------------------------


def test_incomplete_upload_is_upload_incomplete(api):
    started = api.start(DATA, 5)
    result = api.complete(started["id"], md5(DATA))
    assert_error(result, "UploadIncomplete", "INCOMPLETE")
    assert result["offset"] == 5
    assert result["expectedSize"] == 20


def test_incomplete_after_several_chunks_reports_offset(api):
    started = api.start(DATA, 5)
    api.upload_chunk(DATA[5:15], "bytes 5-14/20", upload_id=started["id"])
    result = api.complete(started["id"], md5(DATA))
    assert_error(result, "UploadIncomplete", "INCOMPLETE")
    assert result["offset"] == 15
    assert result["expectedSize"] == 20


def test_incomplete_beats_checksum_mismatch(api):
    started = api.start(DATA, 5)
    result = api.complete(started["id"], WRONG_MD5)
    assert_error(result, "UploadIncomplete", "INCOMPLETE")


def test_checksum_of_partial_bytes_does_not_complete(api):
    started = api.start(DATA, 5)
    result = api.complete(started["id"], md5(DATA[:5]))
    assert_error(result, "UploadIncomplete", "INCOMPLETE")
    assert ChunkedUpload.objects.get(pk=started["id"]).status == ChunkedUpload.Status.UPLOADING


def test_incomplete_upload_can_continue(api):
    started = api.start(DATA, 10)
    api.complete(started["id"], md5(DATA))
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert result["__typename"] == "ChunkedUpload", result
    assert result["offset"] == 20


# 4. ChecksumMismatch -----------------------------------------------------------------------


def test_wrong_checksum_is_checksum_mismatch(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(uploaded["id"], WRONG_MD5)
    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")


def test_non_hex_checksum_is_checksum_mismatch(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(uploaded["id"], "not a digest")
    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")


def test_checksum_mismatch_leaves_upload_uploading(api):
    uploaded = api.upload(DATA, 10)
    api.complete(uploaded["id"], WRONG_MD5)
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    assert upload.status == ChunkedUpload.Status.UPLOADING
    assert upload.completed_at is None
    assert upload.file.name.endswith(f"{uploaded['id']}.part")
    assert stored_bytes(uploaded["id"]) == DATA


def test_checksum_mismatch_upload_is_reported_uploading(api):
    uploaded = api.upload(DATA, 10)
    api.complete(uploaded["id"], WRONG_MD5)
    fetched = api.get(uploaded["id"])
    assert fetched["status"] == "UPLOADING"
    assert fetched["completedAt"] is None


def test_right_checksum_after_mismatch_completes(api):
    uploaded = api.upload(DATA, 10)
    api.complete(uploaded["id"], WRONG_MD5)
    result = api.complete(uploaded["id"], md5(DATA))
    assert result["__typename"] == "ChunkedUpload", result
    assert result["status"] == "COMPLETE"
    assert stored_bytes(uploaded["id"]) == DATA


def test_uppercase_hex_checksum_is_accepted(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(uploaded["id"], md5(DATA).upper())
    assert result["__typename"] == "ChunkedUpload", result
    assert result["status"] == "COMPLETE"


def test_checksum_with_surrounding_text_is_mismatch(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(uploaded["id"], md5(DATA) + "00")
    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")


# 5. Completion -----------------------------------------------------------------------------


def test_completion_answer(api):
    uploaded = api.upload(DATA, 10, filename="data.bin")
    result = api.complete(uploaded["id"], md5(DATA))
    assert result["__typename"] == "ChunkedUpload", result
    assert result["id"] == uploaded["id"]
    assert result["status"] == "COMPLETE"
    assert result["offset"] == 20
    assert result["totalSize"] == 20
    assert result["filename"] == "data.bin"
    assert result["checksumAlgorithm"] == "md5"


def test_completion_sets_completed_at(api):
    uploaded = api.upload(DATA, 10)
    before = timezone.now()
    result = api.complete(uploaded["id"], md5(DATA))
    after = timezone.now()
    completed_at = datetime.fromisoformat(result["completedAt"])
    assert before <= completed_at <= after
    assert datetime.fromisoformat(result["createdAt"]) <= completed_at


def test_completion_sets_status_in_database(api):
    uploaded = api.upload(DATA, 10)
    api.complete(uploaded["id"], md5(DATA))
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    assert upload.status == ChunkedUpload.Status.COMPLETE
    assert upload.completed_at is not None


def test_completion_renames_part_to_done(api, media_root):
    uploaded = api.upload(DATA, 10)
    part_name = ChunkedUpload.objects.get(pk=uploaded["id"]).file.name
    assert part_name.endswith(f"/{uploaded['id']}.part")
    api.complete(uploaded["id"], md5(DATA))
    done_name = ChunkedUpload.objects.get(pk=uploaded["id"]).file.name
    assert done_name == part_name[: -len(".part")] + ".done"
    assert files_under(media_root) == [done_name]
    assert (media_root / done_name).read_bytes() == DATA


def test_completion_follows_complete_ext_setting(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = ".finished"
    uploaded = api.upload(DATA, 10)
    api.complete(uploaded["id"], md5(DATA))
    name = ChunkedUpload.objects.get(pk=uploaded["id"]).file.name
    assert name.endswith(f"/{uploaded['id']}.finished")
    assert files_under(media_root) == [name]


def test_equal_extensions_mean_no_rename(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_INCOMPLETE_EXT = ".bin"
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = ".bin"
    uploaded = api.upload(DATA, 10)
    name_before = ChunkedUpload.objects.get(pk=uploaded["id"]).file.name
    result = api.complete(uploaded["id"], md5(DATA))
    assert result["status"] == "COMPLETE"
    name_after = ChunkedUpload.objects.get(pk=uploaded["id"]).file.name
    assert name_after == name_before
    assert name_after.endswith(f"/{uploaded['id']}.bin")
    assert files_under(media_root) == [name_after]
    assert stored_bytes(uploaded["id"]) == DATA


def test_completion_accepts_32_hex_id(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(uuid.UUID(uploaded["id"]).hex, md5(DATA))
    assert result["__typename"] == "ChunkedUpload", result
    assert result["id"] == uploaded["id"]
    assert result["status"] == "COMPLETE"


def test_completion_posted_to_upload_url(api):
    uploaded = api.upload(DATA, 10)
    result = api.complete(None, md5(DATA), url=uploaded["url"])
    assert result["__typename"] == "ChunkedUpload", result
    assert result["id"] == uploaded["id"]
    assert result["status"] == "COMPLETE"
    assert ChunkedUpload.objects.count() == 1


def test_checksum_algorithm_is_fixed_at_creation(api, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    uploaded = api.upload(DATA, 10)
    assert uploaded["checksumAlgorithm"] == "sha256"
    settings.CHUNKED_GRAPHQL_CHECKSUM = "md5"
    result = api.complete(uploaded["id"], hashlib.sha256(DATA).hexdigest())
    assert result["__typename"] == "ChunkedUpload", result
    assert result["status"] == "COMPLETE"
    assert result["checksumAlgorithm"] == "sha256"


def test_current_setting_algorithm_is_refused_for_older_upload(api, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    uploaded = api.upload(DATA, 10)
    settings.CHUNKED_GRAPHQL_CHECKSUM = "md5"
    result = api.complete(uploaded["id"], md5(DATA))
    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")


def test_checksum_setting_applies_to_new_uploads(api, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha1"
    uploaded = api.upload(DATA, 10)
    assert ChunkedUpload.objects.get(pk=uploaded["id"]).checksum_algorithm == "sha1"
    result = api.complete(uploaded["id"], hashlib.sha1(DATA).hexdigest())
    assert result["status"] == "COMPLETE"


# Whole file, without an upload addressed ---------------------------------------------------


def test_whole_file_creates_complete_upload(api, user):
    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    assert result["__typename"] == "ChunkedUpload", result
    assert result["status"] == "COMPLETE"
    assert result["filename"] == "whole.bin"
    assert result["offset"] == 20
    assert result["totalSize"] == 20
    assert result["completedAt"] is not None
    upload = ChunkedUpload.objects.get(pk=result["id"])
    assert upload.user == user
    assert upload.status == ChunkedUpload.Status.COMPLETE


def test_whole_file_stores_right_bytes_as_done(api, media_root):
    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    name = ChunkedUpload.objects.get(pk=result["id"]).file.name
    assert name.endswith(f"/{result['id']}.done")
    assert files_under(media_root) == [name]
    assert stored_bytes(result["id"]) == DATA


def test_whole_file_uppercase_checksum_is_accepted(api):
    result = api.complete(None, md5(DATA).upper(), file=DATA, filename="whole.bin")
    assert result["__typename"] == "ChunkedUpload", result
    assert result["status"] == "COMPLETE"


def test_whole_file_filename_is_kept_verbatim(api, media_root):
    result = api.complete(None, md5(DATA), file=DATA, filename="../../etc/passwd")
    assert result["filename"] == "../../etc/passwd"
    name = ChunkedUpload.objects.get(pk=result["id"]).file.name
    assert "passwd" not in name
    assert files_under(media_root) == [name]


def test_whole_file_of_exactly_max_bytes_is_accepted(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 20
    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    assert result["__typename"] == "ChunkedUpload", result


def test_whole_file_uses_configured_algorithm(api, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    result = api.complete(None, hashlib.sha256(DATA).hexdigest(), file=DATA, filename="w.bin")
    assert result["__typename"] == "ChunkedUpload", result
    assert result["checksumAlgorithm"] == "sha256"


def test_whole_file_absent_is_missing_chunk(api, media_root):
    result = api.complete(None, md5(DATA), filename="whole.bin")
    assert_error(result, "MissingChunk", "MISSING_CHUNK")
    assert_nothing_stored(media_root)


def test_whole_file_empty_is_missing_chunk(api, media_root):
    result = api.complete(None, md5(b""), file=b"", filename="whole.bin")
    assert_error(result, "MissingChunk", "MISSING_CHUNK")
    assert_nothing_stored(media_root)


def test_whole_file_non_file_value_is_missing_chunk(api, media_root):
    response = api.post(
        COMPLETE_UPLOAD, {"file": "abc", "checksum": md5(b"abc"), "filename": "a.txt"}
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert_error(body["data"]["completeUpload"], "MissingChunk", "MISSING_CHUNK")
    assert_nothing_stored(media_root)


def test_whole_file_missing_chunk_beats_invalid_filename(api, media_root):
    result = api.complete(None, md5(DATA), filename="")
    assert_error(result, "MissingChunk", "MISSING_CHUNK")
    assert_nothing_stored(media_root)


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(" \t ", id="blank"),
        pytest.param("x" * 256, id="256-characters"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\nb", id="newline"),
    ],
)
def test_whole_file_bad_filename_is_invalid_filename(api, media_root, filename):
    result = api.complete(None, md5(DATA), file=DATA, filename=filename)
    assert_error(result, "InvalidFilename", "INVALID_FILENAME")
    assert_nothing_stored(media_root)


def test_whole_file_invalid_filename_beats_authentication_required(anon_api, media_root):
    result = anon_api.complete(None, md5(DATA), file=DATA, filename="")
    assert_error(result, "InvalidFilename", "INVALID_FILENAME")
    assert_nothing_stored(media_root)


def test_whole_file_anonymous_is_authentication_required(anon_api, media_root):
    result = anon_api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    assert_error(result, "AuthenticationRequired", "AUTHENTICATION_REQUIRED", 401)
    assert_nothing_stored(media_root)


def test_whole_file_authentication_required_beats_max_bytes(anon_api, settings, media_root):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 10
    result = anon_api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    assert_error(result, "AuthenticationRequired", "AUTHENTICATION_REQUIRED", 401)
    assert_nothing_stored(media_root)


def test_whole_file_too_large_is_max_bytes_exceeded(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 19
    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")
    assert result["maxBytes"] == 19
    assert_nothing_stored(media_root)


def test_whole_file_max_bytes_beats_missing_checksum(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 10
    result = api.complete(None, None, file=DATA, filename="whole.bin")
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")
    assert_nothing_stored(media_root)


def test_whole_file_without_checksum_is_missing_checksum(api, media_root):
    result = api.complete(None, None, file=DATA, filename="whole.bin")
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert result["algorithm"] == "md5"
    assert_nothing_stored(media_root)


def test_whole_file_empty_checksum_is_missing_checksum(api, media_root):
    result = api.complete(None, "", file=DATA, filename="whole.bin")
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert_nothing_stored(media_root)


def test_whole_file_missing_checksum_names_configured_algorithm(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha512"
    result = api.complete(None, None, file=DATA, filename="whole.bin")
    assert_error(result, "MissingChecksum", "MISSING_CHECKSUM")
    assert result["algorithm"] == "sha512"


def test_whole_file_wrong_checksum_is_checksum_mismatch(api, media_root):
    result = api.complete(None, WRONG_MD5, file=DATA, filename="whole.bin")
    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")
    assert_nothing_stored(media_root)


def test_whole_file_wrong_algorithm_digest_is_checksum_mismatch(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    assert_error(result, "ChecksumMismatch", "CHECKSUM_MISMATCH")
    assert_nothing_stored(media_root)


def test_whole_file_checksum_mismatch_leaves_existing_uploads_alone(api, media_root):
    uploaded = api.upload(DATA, 10)
    before = files_under(media_root)
    api.complete(None, WRONG_MD5, file=DATA, filename="whole.bin")
    assert list(ChunkedUpload.objects.values_list("pk", flat=True)) == [uuid.UUID(uploaded["id"])]
    assert files_under(media_root) == before


# Completion and the surrounding transaction --------------------------------------------------


def test_incomplete_name_is_removed_only_when_the_completion_commits(api, media_root):
    uploaded = api.upload(DATA, 10)
    incomplete_name = ChunkedUpload.objects.get(pk=uploaded["id"]).file.name
    api.run_on_commit = False
    completed = api.complete(uploaded["id"], md5(DATA))
    assert (media_root / incomplete_name).read_bytes() == DATA
    assert stored_bytes(completed["id"]) == DATA


def test_completion_rolled_back_by_an_outer_transaction_can_be_completed_again(api, user):
    """With ATOMIC_REQUESTS, or a project calling the service inside its own transaction, a
    rollback after the completion must leave the upload as it was, bytes included."""
    uploaded = api.upload(DATA, 10)
    with transaction.atomic():
        services.complete_upload(user=user, upload_id=uploaded["id"], checksum=md5(DATA))
        transaction.set_rollback(True)
    assert ChunkedUpload.objects.get(pk=uploaded["id"]).status == ChunkedUpload.UPLOADING

    completed = api.complete(uploaded["id"], md5(DATA))

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(completed["id"]) == DATA


@pytest.mark.django_db(transaction=True)
def test_stored_bytes_are_hashed_outside_the_transaction(api, settings, monkeypatch):
    """An algorithm without resumable hash state is hashed from the stored bytes at completion;
    that must not hold the row lock (on SQLite, the whole database's write lock)."""
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha3_256"
    uploaded = api.upload(DATA, 10)
    hashed_in_transaction = []
    real_digest = completing.digest_chunks

    def recording_digest(*args, **kwargs):
        hashed_in_transaction.append(connection.in_atomic_block)
        return real_digest(*args, **kwargs)

    monkeypatch.setattr(completing, "digest_chunks", recording_digest)
    completed = api.complete(uploaded["id"], hashlib.sha3_256(DATA).hexdigest())

    assert completed["status"] == "COMPLETE"
    assert hashed_in_transaction == [False]


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_completion_reads_no_stored_byte_for_resumable_algorithms(
    api, settings, monkeypatch, algorithm
):
    """Hashed as the chunks arrived: completion costs the same whatever the file's size."""
    settings.CHUNKED_GRAPHQL_CHECKSUM = algorithm
    uploaded = api.upload(DATA, 7)

    def no_reading(*args, **kwargs):
        raise AssertionError("completion read the stored bytes")

    monkeypatch.setattr(completing, "digest_chunks", no_reading)
    completed = api.complete(uploaded["id"], hashlib.new(algorithm, DATA).hexdigest())

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(completed["id"]) == DATA


def test_hash_state_is_saved_with_each_chunk(api):
    uploaded = api.upload_chunk(DATA[:10], f"bytes 0-9/{len(DATA)}")

    state = ChunkedUpload.objects.get(pk=uploaded["id"]).hash_state

    assert state is not None
    assert ResumableHash("md5", state).hexdigest() == md5(DATA[:10])


def test_upload_without_saved_hash_state_is_hashed_from_its_bytes(api):
    """Uploads stored before incremental hashing have bytes but no state."""
    uploaded = api.upload(DATA, 10)
    ChunkedUpload.objects.filter(pk=uploaded["id"]).update(hash_state=None)

    completed = api.complete(uploaded["id"], md5(DATA))
    assert completed["status"] == "COMPLETE", completed


def test_wrong_checksum_with_incremental_hash_keeps_the_upload_open(api):
    uploaded = api.upload(DATA, 10)

    assert_error(
        api.complete(uploaded["id"], md5(b"other")), "ChecksumMismatch", "CHECKSUM_MISMATCH"
    )
    assert api.complete(uploaded["id"], md5(DATA))["status"] == "COMPLETE"


def test_upload_cancelled_while_it_was_hashed_is_not_found(api, user, monkeypatch):
    uploaded = api.upload(DATA, 10)
    real_digest = completing.stored_digest

    def cancel_then_digest(*args, **kwargs):
        digest = real_digest(*args, **kwargs)
        services.cancel_upload(user=user, upload_id=uploaded["id"])
        return digest

    monkeypatch.setattr(completing, "stored_digest", cancel_then_digest)
    result = api.complete(uploaded["id"], md5(DATA))

    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_missing_stored_bytes_give_an_error_that_names_no_path(api, media_root):
    uploaded = api.upload(DATA, 10)
    (media_root / ChunkedUpload.objects.get(pk=uploaded["id"]).file.name).unlink()
    body = api.post(COMPLETE_UPLOAD, {"uploadId": uploaded["id"], "checksum": md5(DATA)}).json()
    message = body["errors"][0]["message"]
    assert "try again" in message
    assert str(media_root) not in message
    assert ChunkedUpload.objects.get(pk=uploaded["id"]).status == ChunkedUpload.UPLOADING

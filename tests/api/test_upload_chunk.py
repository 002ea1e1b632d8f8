"""The uploadChunk mutation: each check of the contract, their order, and what gets stored."""

import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import UPLOAD_CHUNK, md5
from tests.support.uploads import (
    DATA,
    UNKNOWN_ID,
    age,
    assert_error,
    files_under,
    stored_bytes,
    stored_offset,
)

pytestmark = pytest.mark.django_db

MAX_TOTAL = 2**63 - 1


# 1. MissingChunk ---------------------------------------------------------------------------


def test_absent_file_is_missing_chunk(api):
    result = api.upload_chunk(None, "bytes 0-9/20")
    assert_error(result, "MissingChunk", "MISSING_CHUNK")


def test_absent_file_and_absent_content_range_is_missing_chunk(api):
    result = api.upload_chunk(None, None)
    assert_error(result, "MissingChunk", "MISSING_CHUNK")


def test_empty_file_is_missing_chunk(api):
    result = api.upload_chunk(b"", "bytes 0-9/20")
    assert_error(result, "MissingChunk", "MISSING_CHUNK")


def test_non_file_value_for_file_is_missing_chunk(api):
    response = api.post(
        UPLOAD_CHUNK, {"file": "abc", "contentRange": "bytes 0-2/3", "filename": "a.txt"}
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert_error(body["data"]["uploadChunk"], "MissingChunk", "MISSING_CHUNK")


def test_missing_chunk_beats_unknown_upload(api):
    result = api.upload_chunk(None, "bytes 0-9/20", upload_id=UNKNOWN_ID)
    assert_error(result, "MissingChunk", "MISSING_CHUNK")


def test_missing_chunk_stores_nothing(api, media_root):
    api.upload_chunk(None, "bytes 0-9/20")
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


# 2. MissingContentRange --------------------------------------------------------------------


def test_absent_content_range_is_missing_content_range(api):
    result = api.upload_chunk(DATA[:10], None)
    assert_error(result, "MissingContentRange", "MISSING_CONTENT_RANGE")


def test_empty_content_range_is_missing_content_range(api):
    result = api.upload_chunk(DATA[:10], "")
    assert_error(result, "MissingContentRange", "MISSING_CONTENT_RANGE")


def test_missing_content_range_beats_invalid_filename(api):
    result = api.upload_chunk(DATA[:10], None, filename="")
    assert_error(result, "MissingContentRange", "MISSING_CONTENT_RANGE")


def test_missing_content_range_beats_unknown_upload(api):
    result = api.upload_chunk(DATA[:10], None, upload_id=UNKNOWN_ID)
    assert_error(result, "MissingContentRange", "MISSING_CONTENT_RANGE")


def test_missing_content_range_beats_authentication_required(anon_api):
    result = anon_api.upload_chunk(DATA[:10], None)
    assert_error(result, "MissingContentRange", "MISSING_CONTENT_RANGE")


# 3. InvalidContentRange (form) -------------------------------------------------------------


@pytest.mark.parametrize(
    "content_range",
    [
        pytest.param("0-9/20", id="missing-bytes-unit"),
        pytest.param("bytes  0-9/20", id="two-spaces"),
        pytest.param("bytes 0-9/20\n", id="trailing-newline"),
        pytest.param("bytes \u0660-9/20", id="non-ascii-digit"),
        pytest.param("bytes -1-9/20", id="negative"),
        pytest.param("bytes 9-0/20", id="end-before-start"),
        pytest.param("bytes 0-20/20", id="end-equals-total"),
        pytest.param("bytes 0-29/20", id="end-beyond-total"),
        pytest.param(f"bytes 0-9/{MAX_TOTAL + 1}", id="total-beyond-64-bit"),
    ],
)
def test_malformed_content_range_is_invalid_content_range(api, content_range):
    result = api.upload_chunk(DATA[:10], content_range)
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_content_range_with_leading_zeros_is_accepted(api):
    result = api.upload_chunk(DATA[:10], "bytes 000-009/0020")
    assert result["__typename"] == "ChunkedUpload", result
    assert result["offset"] == 10
    assert result["totalSize"] == 20


def test_content_range_total_at_64_bit_limit_is_accepted(api):
    result = api.upload_chunk(DATA[:10], f"bytes 0-9/{MAX_TOTAL}")
    assert result["__typename"] == "ChunkedUpload", result
    assert result["totalSize"] == MAX_TOTAL


def test_invalid_content_range_beats_max_bytes(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 5
    result = api.upload_chunk(DATA[:10], "bytes 0-20/20")
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_invalid_content_range_beats_unknown_upload(api):
    result = api.upload_chunk(DATA[:10], "bytes 9-0/20", upload_id=UNKNOWN_ID)
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_invalid_content_range_beats_invalid_filename(api):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/5", filename="")
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


# 4. MaxBytesExceeded -----------------------------------------------------------------------


def test_total_above_max_bytes_is_max_bytes_exceeded(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 15
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")
    assert result["maxBytes"] == 15


def test_total_equal_to_max_bytes_is_accepted(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 20
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert result["__typename"] == "ChunkedUpload", result
    assert result["totalSize"] == 20


def test_max_bytes_beats_chunk_length_mismatch(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 15
    result = api.upload_chunk(DATA[:3], "bytes 0-9/20")
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")
    assert result["maxBytes"] == 15


def test_max_bytes_beats_unknown_upload(api, settings):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 15
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id=UNKNOWN_ID)
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")


def test_max_bytes_beats_authentication_required(anon_api, settings):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 15
    result = anon_api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")


def test_max_bytes_lowered_mid_upload_refuses_next_chunk(api, settings):
    started = api.start(DATA, 10)
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 15
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")
    assert stored_offset(started["id"]) == 10


def test_max_bytes_exceeded_stores_nothing(api, settings, media_root):
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 15
    api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


# 5. Chunk length ---------------------------------------------------------------------------


def test_chunk_shorter_than_range_is_invalid_content_range(api):
    result = api.upload_chunk(DATA[:5], "bytes 0-9/20")
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")
    assert "5" in result["message"]
    assert "10" in result["message"]


def test_chunk_longer_than_range_is_invalid_content_range(api):
    result = api.upload_chunk(DATA[:12], "bytes 0-9/20")
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")
    assert "12" in result["message"]
    assert "10" in result["message"]


def test_chunk_length_mismatch_beats_unknown_upload(api):
    result = api.upload_chunk(DATA[:5], "bytes 0-9/20", upload_id=UNKNOWN_ID)
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_chunk_length_mismatch_beats_invalid_filename(api):
    result = api.upload_chunk(DATA[:5], "bytes 0-9/20", filename="")
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_chunk_length_mismatch_beats_authentication_required(anon_api):
    result = anon_api.upload_chunk(DATA[:5], "bytes 0-9/20")
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_chunk_length_mismatch_beats_expired(api):
    started = api.start(DATA, 10)
    age(started["id"])
    result = api.upload_chunk(DATA[10:15], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


# 6. An addressed upload --------------------------------------------------------------------


def test_unknown_upload_id_is_not_found(api):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id=UNKNOWN_ID)
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


@pytest.mark.parametrize(
    "upload_id",
    [
        pytest.param("abc", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("{" + UNKNOWN_ID + "}", id="braces"),
        pytest.param("urn:uuid:" + UNKNOWN_ID, id="urn"),
        pytest.param(UNKNOWN_ID[:-1], id="truncated"),
        pytest.param("1", id="integer-like"),
    ],
)
def test_malformed_upload_id_is_not_found(api, upload_id):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id=upload_id)
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_malformed_upload_id_creates_nothing(api, media_root):
    api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id="abc")
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_another_users_upload_is_not_found(api, other_api):
    started = other_api.start(DATA, 10)
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_another_users_upload_is_unchanged_after_refusal(api, other_api):
    started = other_api.start(DATA, 10)
    api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert stored_offset(started["id"]) == 10
    assert stored_bytes(started["id"]) == DATA[:10]


def test_anonymous_caller_gets_not_found_for_existing_upload(api, anon_api):
    started = api.start(DATA, 10)
    result = anon_api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_not_found_beats_expired_for_another_users_upload(api, other_api):
    started = other_api.start(DATA, 10)
    age(started["id"])
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_expired_upload_is_upload_expired(api):
    started = api.start(DATA, 10)
    age(started["id"])
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "UploadExpired", "EXPIRED", 410)


def test_upload_within_expiration_delta_is_not_expired(api):
    started = api.start(DATA, 10)
    age(started["id"], days=0.5)
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert result["__typename"] == "ChunkedUpload", result


def test_expiration_delta_setting_is_honoured(api, settings):
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = timedelta(hours=1)
    started = api.start(DATA, 10)
    ChunkedUpload.objects.filter(pk=started["id"]).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "UploadExpired", "EXPIRED", 410)


def test_expired_beats_offset_mismatch(api):
    started = api.start(DATA, 10)
    age(started["id"])
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id=started["id"])
    assert_error(result, "UploadExpired", "EXPIRED", 410)


def test_expired_beats_total_mismatch(api):
    started = api.start(DATA, 10)
    age(started["id"])
    result = api.upload_chunk(DATA[10:], "bytes 10-19/30", upload_id=started["id"])
    assert_error(result, "UploadExpired", "EXPIRED", 410)


def test_aged_complete_upload_is_already_complete_not_expired(api):
    # As in the reference, only an incomplete upload expires.
    completed = api.upload_and_complete(DATA, 10)
    assert completed["__typename"] == "ChunkedUpload", completed
    age(completed["id"])
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id=completed["id"])
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE")


def test_complete_upload_is_already_complete(api):
    completed = api.upload_and_complete(DATA, 10)
    assert completed["__typename"] == "ChunkedUpload", completed
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id=completed["id"])
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE")


def test_already_complete_beats_total_mismatch(api):
    completed = api.upload_and_complete(DATA, 10)
    result = api.upload_chunk(DATA[:10], "bytes 0-9/30", upload_id=completed["id"])
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE")


def test_chunk_for_complete_upload_changes_nothing(api):
    completed = api.upload_and_complete(DATA, 10)
    api.upload_chunk(b"XXXXXXXXXX", "bytes 0-9/20", upload_id=completed["id"])
    upload = ChunkedUpload.objects.get(pk=completed["id"])
    assert upload.status == ChunkedUpload.Status.COMPLETE
    assert upload.offset == 20
    assert stored_bytes(completed["id"]) == DATA


def test_total_differing_from_recorded_total_is_invalid_content_range(api):
    started = api.start(DATA, 10)
    result = api.upload_chunk(DATA[10:], "bytes 10-19/30", upload_id=started["id"])
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_total_mismatch_beats_offset_mismatch(api):
    started = api.start(DATA, 10)
    result = api.upload_chunk(DATA[15:], "bytes 15-19/30", upload_id=started["id"])
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_chunk_starting_past_offset_is_offset_mismatch(api):
    started = api.start(DATA, 10)
    result = api.upload_chunk(DATA[15:], "bytes 15-19/20", upload_id=started["id"])
    assert_error(result, "OffsetMismatch", "OFFSET_MISMATCH")
    assert result["expectedOffset"] == 10
    assert result["providedOffset"] == 15


def test_resent_chunk_is_offset_mismatch(api):
    started = api.start(DATA, 10)
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", upload_id=started["id"])
    assert_error(result, "OffsetMismatch", "OFFSET_MISMATCH")
    assert result["expectedOffset"] == 10
    assert result["providedOffset"] == 0


def test_refused_offset_mismatch_changes_nothing(api):
    started = api.start(DATA, 10)
    api.upload_chunk(b"ZZZZZ", "bytes 15-19/20", upload_id=started["id"])
    assert stored_offset(started["id"]) == 10
    assert stored_bytes(started["id"]) == DATA[:10]


def test_refused_total_mismatch_changes_nothing(api):
    started = api.start(DATA, 10)
    api.upload_chunk(b"ZZZZZZZZZZ", "bytes 10-19/30", upload_id=started["id"])
    assert stored_offset(started["id"]) == 10
    assert stored_bytes(started["id"]) == DATA[:10]


def test_refused_length_mismatch_changes_nothing(api):
    started = api.start(DATA, 10)
    api.upload_chunk(b"ZZZ", "bytes 10-19/20", upload_id=started["id"])
    assert stored_offset(started["id"]) == 10
    assert stored_bytes(started["id"]) == DATA[:10]


def test_refused_chunk_for_expired_upload_changes_nothing(api):
    started = api.start(DATA, 10)
    age(started["id"])
    api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert stored_offset(started["id"]) == 10
    assert stored_bytes(started["id"]) == DATA[:10]


def test_upload_continues_with_32_hex_id(api):
    started = api.start(DATA, 10)
    hex_id = uuid.UUID(started["id"]).hex
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=hex_id)
    assert result["__typename"] == "ChunkedUpload", result
    assert result["id"] == started["id"]
    assert result["offset"] == 20
    assert stored_bytes(started["id"]) == DATA


def test_upload_continues_with_uppercase_id(api):
    started = api.start(DATA, 10)
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"].upper())
    assert result["__typename"] == "ChunkedUpload", result
    assert result["offset"] == 20


def test_chunk_posted_to_upload_url_continues_it(api):
    started = api.start(DATA, 10)
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", filename=None, url=started["url"])
    assert result["__typename"] == "ChunkedUpload", result
    assert result["id"] == started["id"]
    assert result["offset"] == 20
    assert ChunkedUpload.objects.count() == 1
    assert stored_bytes(started["id"]) == DATA


def test_upload_id_wins_over_url(api):
    first = api.start(DATA, 10)
    second = api.start(DATA, 5)
    result = api.upload_chunk(DATA[5:10], "bytes 5-9/20", upload_id=second["id"], url=first["url"])
    assert result["__typename"] == "ChunkedUpload", result
    assert result["id"] == second["id"]
    assert stored_offset(first["id"]) == 10
    assert stored_offset(second["id"]) == 10


# 7. A new upload ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="whitespace-only"),
        pytest.param("a" * 256, id="256-characters"),
        pytest.param("a\x00b.txt", id="nul"),
        pytest.param("a\tb.txt", id="tab"),
        pytest.param("a\nb.txt", id="newline"),
        pytest.param("a\x7fb.txt", id="del"),
    ],
)
def test_bad_filename_is_invalid_filename(api, filename):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", filename=filename)
    assert_error(result, "InvalidFilename", "INVALID_FILENAME")


def test_invalid_filename_stores_nothing(api, media_root):
    api.upload_chunk(DATA[:10], "bytes 0-9/20", filename="")
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_invalid_filename_beats_authentication_required(anon_api):
    result = anon_api.upload_chunk(DATA[:10], "bytes 0-9/20", filename="")
    assert_error(result, "InvalidFilename", "INVALID_FILENAME")


def test_invalid_filename_beats_offset_mismatch(api):
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", filename="")
    assert_error(result, "InvalidFilename", "INVALID_FILENAME")


def test_anonymous_new_upload_is_authentication_required(anon_api):
    result = anon_api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert_error(result, "AuthenticationRequired", "AUTHENTICATION_REQUIRED", 401)


def test_authentication_required_stores_nothing(anon_api, media_root):
    anon_api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_authentication_required_beats_offset_mismatch(anon_api):
    result = anon_api.upload_chunk(DATA[10:], "bytes 10-19/20")
    assert_error(result, "AuthenticationRequired", "AUTHENTICATION_REQUIRED", 401)


def test_new_upload_not_starting_at_zero_is_offset_mismatch(api):
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20")
    assert_error(result, "OffsetMismatch", "OFFSET_MISMATCH")
    assert result["expectedOffset"] == 0
    assert result["providedOffset"] == 10


def test_new_upload_offset_mismatch_stores_nothing(api, media_root):
    api.upload_chunk(DATA[10:], "bytes 10-19/20")
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param("../../etc/passwd", id="traversal"),
        pytest.param("../x", id="parent"),
        pytest.param("/abs/path.bin", id="absolute"),
        pytest.param("\u65e5\u672c\u8a9e \U0001f4c4.txt", id="unicode"),
        pytest.param("  spaced name.txt ", id="surrounding-spaces"),
        pytest.param("n" * 251 + ".bin", id="255-characters"),
    ],
)
def test_filename_is_returned_verbatim(api, filename):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", filename=filename)
    assert result["__typename"] == "ChunkedUpload", result
    assert result["filename"] == filename
    assert ChunkedUpload.objects.get(pk=result["id"]).filename == filename


@pytest.mark.parametrize(
    "filename",
    ["../../etc/passwd", "\u65e5\u672c\u8a9e.txt", "secret-name.bin"],
)
def test_stored_name_never_contains_client_filename(api, media_root, filename):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", filename=filename)
    name = ChunkedUpload.objects.get(pk=result["id"]).file.name
    assert filename not in name
    assert os.path.basename(filename) not in name
    assert files_under(media_root) == [name]


def test_stored_name_is_path_id_and_part_extension(api):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    upload = ChunkedUpload.objects.get(pk=result["id"])
    directory = timezone.localtime(upload.created_at).strftime("chunked_uploads/%Y/%m/%d")
    assert upload.file.name == f"{directory}/{result['id']}.part"


def test_stored_name_follows_path_and_extension_settings(api, settings):
    settings.CHUNKED_GRAPHQL_PATH = "incoming/%Y"
    settings.CHUNKED_GRAPHQL_INCOMPLETE_EXT = ".partial"
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    upload = ChunkedUpload.objects.get(pk=result["id"])
    year = timezone.localtime(upload.created_at).strftime("%Y")
    assert upload.file.name == f"incoming/{year}/{result['id']}.partial"


def test_bytes_are_stored_under_media_root(api, media_root):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    name = ChunkedUpload.objects.get(pk=result["id"]).file.name
    assert (media_root / name).read_bytes() == DATA[:10]


def test_new_upload_belongs_to_the_caller(api, user):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert ChunkedUpload.objects.get(pk=result["id"]).user == user


# 8. Storing --------------------------------------------------------------------------------


def test_first_chunk_answer(api):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", filename="data.bin")
    assert result["__typename"] == "ChunkedUpload", result
    assert uuid.UUID(result["id"]).version == 4
    assert result["id"] == str(uuid.UUID(result["id"]))
    assert result["filename"] == "data.bin"
    assert result["offset"] == 10
    assert result["totalSize"] == 20
    assert result["status"] == "UPLOADING"
    assert result["completedAt"] is None
    assert result["checksumAlgorithm"] == "md5"
    assert result["url"].endswith(f"/graphql/{result['id']}/")


def test_first_chunk_row(api):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    upload = ChunkedUpload.objects.get(pk=result["id"])
    assert upload.offset == 10
    assert upload.total_size == 20
    assert upload.status == ChunkedUpload.Status.UPLOADING
    assert upload.checksum_algorithm == "md5"


def test_whole_file_in_first_chunk_sets_offset_to_total(api):
    result = api.upload_chunk(DATA, "bytes 0-19/20")
    assert result["offset"] == 20
    assert result["status"] == "UPLOADING"
    assert stored_bytes(result["id"]) == DATA


def test_next_chunk_answer_has_same_id_and_new_offset(api):
    started = api.start(DATA, 10)
    result = api.upload_chunk(DATA[10:15], "bytes 10-14/20", upload_id=started["id"])
    assert result["__typename"] == "ChunkedUpload", result
    assert result["id"] == started["id"]
    assert result["offset"] == 15
    assert result["totalSize"] == 20
    assert stored_offset(started["id"]) == 15


def test_bytes_on_disk_equal_source_after_several_chunks(api):
    result = api.upload(DATA, 3)
    assert result["offset"] == len(DATA)
    assert stored_bytes(result["id"]) == DATA


def test_single_byte_chunks_are_stored_in_order(api):
    data = b"abcde"
    result = api.upload(data, 1)
    assert result["offset"] == 5
    assert stored_bytes(result["id"]) == data


def test_binary_bytes_are_stored_exactly(api):
    data = bytes(range(256))
    result = api.upload(data, 100)
    assert stored_bytes(result["id"]) == data


def test_stored_bytes_match_checksum_after_chunks(api):
    result = api.upload(DATA, 7)
    assert md5(stored_bytes(result["id"])) == md5(DATA)


def test_bytes_beyond_offset_from_interrupted_write_are_overwritten(api, media_root):
    started = api.start(DATA, 10)
    name = ChunkedUpload.objects.get(pk=started["id"]).file.name
    with open(media_root / name, "ab") as stored:
        stored.write(b"JUNK-FROM-A-DEAD-WRITE")
    assert stored_offset(started["id"]) == 10
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert result["offset"] == 20
    assert stored_bytes(started["id"]) == DATA


def test_short_junk_beyond_offset_is_overwritten(api, media_root):
    started = api.start(DATA, 10)
    name = ChunkedUpload.objects.get(pk=started["id"]).file.name
    with open(media_root / name, "ab") as stored:
        stored.write(b"XY")
    api.upload_chunk(DATA[10:15], "bytes 10-14/20", upload_id=started["id"])
    assert stored_bytes(started["id"]) == DATA[:15]


def test_refused_chunk_leaves_file_count_unchanged(api, media_root):
    started = api.start(DATA, 10)
    before = files_under(media_root)
    api.upload_chunk(DATA[15:], "bytes 15-19/20", upload_id=started["id"])
    assert files_under(media_root) == before


def test_filename_with_a_lone_surrogate_is_invalid_filename(api, media_root):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20", filename="a\ud800")
    assert_error(result, "InvalidFilename", "INVALID_FILENAME")
    assert files_under(media_root) == []


def test_content_range_of_thousands_of_digits_is_invalid_content_range(api):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/" + "9" * 5000)
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")

"""The cancelUpload mutation: deleting an incomplete upload's row and bytes."""

import uuid

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import md5
from tests.support.uploads import DATA, UNKNOWN_ID, age, assert_error, files_under

pytestmark = pytest.mark.django_db


def stored_name(upload_id):
    return ChunkedUpload.objects.get(pk=upload_id).file.name


def test_cancel_answers_cancelled_upload_with_id(api, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True):
        result = api.cancel(started["id"])
    assert result == {"__typename": "CancelledUpload", "id": started["id"]}


def test_cancel_deletes_row(api, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True):
        api.cancel(started["id"])
    assert not ChunkedUpload.objects.filter(pk=started["id"]).exists()


def test_cancel_deletes_bytes(api, media_root, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    name = stored_name(started["id"])
    assert (media_root / name).is_file()
    with django_capture_on_commit_callbacks(execute=True):
        api.cancel(started["id"])
    assert not (media_root / name).exists()
    assert files_under(media_root) == []


def test_cancel_deletes_bytes_only_on_commit(api, media_root, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    name = stored_name(started["id"])
    api.run_on_commit = False
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api.cancel(started["id"])
    assert (media_root / name).read_bytes() == DATA[:10]
    assert len(callbacks) == 1
    callbacks[0]()
    assert not (media_root / name).exists()


def test_cancel_fully_uploaded_but_uncompleted_upload(
    api, media_root, django_capture_on_commit_callbacks
):
    uploaded = api.upload(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True):
        result = api.cancel(uploaded["id"])
    assert result["__typename"] == "CancelledUpload", result
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_cancel_leaves_other_uploads_alone(api, media_root, django_capture_on_commit_callbacks):
    kept = api.start(DATA, 10)
    dropped = api.start(DATA, 5)
    with django_capture_on_commit_callbacks(execute=True):
        api.cancel(dropped["id"])
    assert list(ChunkedUpload.objects.values_list("pk", flat=True)) == [uuid.UUID(kept["id"])]
    assert files_under(media_root) == [stored_name(kept["id"])]


def test_cancel_works_for_expired_upload(api, media_root, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    age(started["id"])
    with django_capture_on_commit_callbacks(execute=True):
        result = api.cancel(started["id"])
    assert result == {"__typename": "CancelledUpload", "id": started["id"]}
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_cancel_accepts_32_hex_id(api, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True):
        result = api.cancel(uuid.UUID(started["id"]).hex)
    assert result == {"__typename": "CancelledUpload", "id": started["id"]}
    assert ChunkedUpload.objects.count() == 0


def test_cancelled_upload_is_gone_for_queries(api, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True):
        api.cancel(started["id"])
    assert api.get(started["id"]) is None
    assert api.list() == []


def test_cancelled_upload_cannot_be_continued(api, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True):
        api.cancel(started["id"])
    result = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=started["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_cancel_twice_is_not_found(api, django_capture_on_commit_callbacks):
    started = api.start(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True):
        api.cancel(started["id"])
    result = api.cancel(started["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_cancel_complete_upload_is_already_complete(api):
    completed = api.upload_and_complete(DATA, 10)
    result = api.cancel(completed["id"])
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE", 400)


def test_cancel_complete_upload_deletes_nothing(
    api, media_root, django_capture_on_commit_callbacks
):
    completed = api.upload_and_complete(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api.cancel(completed["id"])
    assert callbacks == []
    upload = ChunkedUpload.objects.get(pk=completed["id"])
    assert upload.status == ChunkedUpload.Status.COMPLETE
    assert files_under(media_root) == [upload.file.name]
    assert (media_root / upload.file.name).read_bytes() == DATA


def test_cancel_aged_complete_upload_is_already_complete(api):
    completed = api.upload_and_complete(DATA, 10)
    age(completed["id"])
    result = api.cancel(completed["id"])
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE", 400)
    assert ChunkedUpload.objects.filter(pk=completed["id"]).exists()


def test_cancel_whole_file_upload_is_already_complete(api):
    completed = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    result = api.cancel(completed["id"])
    assert_error(result, "UploadAlreadyComplete", "ALREADY_COMPLETE", 400)


def test_cancel_another_users_upload_is_not_found(api, other_api):
    started = other_api.start(DATA, 10)
    result = api.cancel(started["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_cancel_another_users_upload_deletes_nothing(
    api, other_api, media_root, django_capture_on_commit_callbacks
):
    started = other_api.start(DATA, 10)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api.cancel(started["id"])
    assert callbacks == []
    assert ChunkedUpload.objects.filter(pk=started["id"]).exists()
    assert (media_root / stored_name(started["id"])).read_bytes() == DATA[:10]


def test_cancel_another_users_complete_upload_is_not_found(api, other_api):
    completed = other_api.upload_and_complete(DATA, 10)
    result = api.cancel(completed["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


def test_cancel_as_anonymous_is_not_found(api, anon_api):
    started = api.start(DATA, 10)
    result = anon_api.cancel(started["id"])
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)
    assert ChunkedUpload.objects.filter(pk=started["id"]).exists()


def test_cancel_unknown_id_is_not_found(api):
    result = api.cancel(UNKNOWN_ID)
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)


@pytest.mark.parametrize(
    "upload_id",
    [
        pytest.param("abc", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("{" + UNKNOWN_ID + "}", id="braces"),
        pytest.param("urn:uuid:" + UNKNOWN_ID, id="urn"),
        pytest.param(UNKNOWN_ID + "0", id="too-long"),
    ],
)
def test_cancel_malformed_id_is_not_found(api, upload_id):
    result = api.cancel(upload_id)
    assert_error(result, "UploadNotFound", "NOT_FOUND", 404)

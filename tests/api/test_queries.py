"""The chunkedUpload and chunkedUploads queries: fields, visibility and filtering."""

import json
import uuid
from datetime import datetime, timedelta

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import GET_UPLOAD, md5
from tests.support.uploads import DATA, UNKNOWN_ID

pytestmark = pytest.mark.django_db

BIG_TOTAL = 5_000_000_000  # beyond 2**32


def ids(uploads):
    return sorted(upload["id"] for upload in uploads)


# chunkedUpload(id) -------------------------------------------------------------------------


def test_get_returns_own_upload(api):
    started = api.start(DATA, 10, filename="report.pdf")
    fetched = api.get(started["id"])
    assert fetched["__typename"] == "ChunkedUpload"
    assert fetched["id"] == started["id"]
    assert fetched["filename"] == "report.pdf"
    assert fetched["offset"] == 10
    assert fetched["totalSize"] == 20
    assert fetched["status"] == "UPLOADING"
    assert fetched["completedAt"] is None
    assert fetched["checksumAlgorithm"] == "md5"
    assert fetched["responseData"] is None


def test_get_id_is_hyphenated_uuid4(api):
    started = api.start(DATA, 10)
    fetched = api.get(started["id"])
    parsed = uuid.UUID(fetched["id"])
    assert fetched["id"] == str(parsed)
    assert parsed.version == 4


def test_get_matches_database_row(api):
    started = api.start(DATA, 10)
    fetched = api.get(started["id"])
    upload = ChunkedUpload.objects.get(pk=started["id"])
    assert datetime.fromisoformat(fetched["createdAt"]) == upload.created_at
    assert fetched["offset"] == upload.offset
    assert fetched["totalSize"] == upload.total_size


def test_get_url_is_absolute_and_addresses_the_upload(api):
    started = api.start(DATA, 10)
    fetched = api.get(started["id"])
    assert fetched["url"] == f"http://testserver/graphql/{started['id']}/"


def test_get_url_follows_request_host(api, settings):
    settings.ALLOWED_HOSTS = ["testserver", "uploads.example.com"]
    started = api.start(DATA, 10)
    response = api.client.post(
        "/graphql/",
        {"query": GET_UPLOAD, "variables": {"id": started["id"]}},
        content_type="application/json",
        headers={"host": "uploads.example.com"},
        secure=True,
    )
    url = response.json()["data"]["chunkedUpload"]["url"]
    assert url == f"https://uploads.example.com/graphql/{started['id']}/"


def test_get_expires_is_created_at_plus_one_day(api):
    started = api.start(DATA, 10)
    fetched = api.get(started["id"])
    created_at = datetime.fromisoformat(fetched["createdAt"])
    expires = datetime.fromisoformat(fetched["expires"])
    assert expires - created_at == timedelta(days=1)


def test_get_expires_follows_expiration_delta_setting(api, settings):
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = timedelta(hours=3)
    started = api.start(DATA, 10)
    fetched = api.get(started["id"])
    created_at = datetime.fromisoformat(fetched["createdAt"])
    assert datetime.fromisoformat(fetched["expires"]) - created_at == timedelta(hours=3)


def test_get_bigint_values_are_json_numbers(api):
    started = api.start(DATA, 10)
    response = api.post(GET_UPLOAD, {"id": started["id"]})
    raw = json.loads(response.content)["data"]["chunkedUpload"]
    assert type(raw["offset"]) is int
    assert type(raw["totalSize"]) is int
    assert (raw["offset"], raw["totalSize"]) == (10, 20)


def test_get_total_size_beyond_32_bits(api):
    started = api.upload_chunk(DATA[:10], f"bytes 0-9/{BIG_TOTAL}")
    assert started["__typename"] == "ChunkedUpload", started
    fetched = api.get(started["id"])
    assert fetched["totalSize"] == BIG_TOTAL
    assert type(fetched["totalSize"]) is int
    assert fetched["offset"] == 10
    assert ChunkedUpload.objects.get(pk=started["id"]).total_size == BIG_TOTAL


def test_get_offset_beyond_32_bits_is_json_number(api):
    started = api.upload_chunk(DATA[:10], f"bytes 0-9/{BIG_TOTAL}")
    ChunkedUpload.objects.filter(pk=started["id"]).update(offset=BIG_TOTAL - 10)
    fetched = api.get(started["id"])
    assert fetched["offset"] == BIG_TOTAL - 10
    assert type(fetched["offset"]) is int


def test_get_completed_upload(api):
    completed = api.upload_and_complete(DATA, 10)
    fetched = api.get(completed["id"])
    assert fetched["status"] == "COMPLETE"
    assert fetched["offset"] == 20
    completed_at = datetime.fromisoformat(fetched["completedAt"])
    assert completed_at >= datetime.fromisoformat(fetched["createdAt"])
    assert completed_at == ChunkedUpload.objects.get(pk=completed["id"]).completed_at


def test_get_checksum_algorithm_reflects_creation_setting(api, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    started = api.start(DATA, 10)
    settings.CHUNKED_GRAPHQL_CHECKSUM = "md5"
    assert api.get(started["id"])["checksumAlgorithm"] == "sha256"


def test_get_accepts_32_hex_id(api):
    started = api.start(DATA, 10)
    fetched = api.get(uuid.UUID(started["id"]).hex)
    assert fetched["id"] == started["id"]


def test_get_unknown_id_is_null(api):
    assert api.get(UNKNOWN_ID) is None


@pytest.mark.parametrize("upload_id", ["abc", "", "{" + UNKNOWN_ID + "}", "urn:uuid:x"])
def test_get_malformed_id_is_null(api, upload_id):
    assert api.get(upload_id) is None


def test_get_another_users_upload_is_null(api, other_api):
    started = other_api.start(DATA, 10)
    assert api.get(started["id"]) is None


def test_get_another_users_upload_looks_like_a_missing_one(api, other_api):
    started = other_api.start(DATA, 10)
    foreign = api.post(GET_UPLOAD, {"id": started["id"]})
    missing = api.post(GET_UPLOAD, {"id": UNKNOWN_ID})
    assert foreign.status_code == missing.status_code == 200
    assert foreign.json() == missing.json() == {"data": {"chunkedUpload": None}}


def test_get_as_anonymous_is_null(api, anon_api):
    started = api.start(DATA, 10)
    assert anon_api.get(started["id"]) is None


# chunkedUploads ----------------------------------------------------------------------------


def test_list_returns_own_uploads(api):
    first = api.start(DATA, 10)
    second = api.start(DATA, 5)
    assert ids(api.list()) == sorted([first["id"], second["id"]])


def test_list_excludes_other_users_uploads(api, other_api):
    own = api.start(DATA, 10)
    other_api.start(DATA, 10)
    other_api.upload_and_complete(DATA, 10)
    assert ids(api.list()) == [own["id"]]


def test_list_entries_carry_fields(api):
    started = api.start(DATA, 10, filename="listed.txt")
    (listed,) = api.list()
    assert listed["__typename"] == "ChunkedUpload"
    assert listed["filename"] == "listed.txt"
    assert listed["offset"] == 10
    assert listed["totalSize"] == 20
    assert listed["url"] == f"http://testserver/graphql/{started['id']}/"


def test_list_without_uploads_is_empty(api):
    assert api.list() == []


def test_list_filtered_by_uploading(api):
    uploading = api.start(DATA, 10)
    api.upload_and_complete(DATA, 10)
    listed = api.list("UPLOADING")
    assert ids(listed) == [uploading["id"]]
    assert [upload["status"] for upload in listed] == ["UPLOADING"]


def test_list_filtered_by_complete(api):
    api.start(DATA, 10)
    completed = api.upload_and_complete(DATA, 10)
    listed = api.list("COMPLETE")
    assert ids(listed) == [completed["id"]]
    assert [upload["status"] for upload in listed] == ["COMPLETE"]


def test_list_without_filter_includes_both_statuses(api):
    uploading = api.start(DATA, 10)
    completed = api.upload_and_complete(DATA, 10)
    assert ids(api.list()) == sorted([uploading["id"], completed["id"]])


def test_list_filter_excludes_other_users_uploads(api, other_api):
    other_api.start(DATA, 10)
    own = api.start(DATA, 10)
    assert ids(api.list("UPLOADING")) == [own["id"]]


def test_list_uploading_reports_resumable_offset(api):
    started = api.start(DATA, 10)
    (listed,) = api.list("UPLOADING")
    assert listed["id"] == started["id"]
    assert listed["offset"] == 10


def test_list_as_anonymous_is_empty(api, anon_api):
    api.start(DATA, 10)
    api.upload_and_complete(DATA, 10)
    assert anon_api.list() == []
    assert anon_api.list("UPLOADING") == []
    assert anon_api.list("COMPLETE") == []


# USER_RESTRICTED off -----------------------------------------------------------------------


@pytest.fixture
def unrestricted(settings):
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False


def test_unrestricted_anonymous_can_upload_chunk(anon_api, unrestricted):
    result = anon_api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert result["__typename"] == "ChunkedUpload", result
    assert result["offset"] == 10


def test_unrestricted_anonymous_upload_has_no_user(anon_api, unrestricted):
    result = anon_api.upload_chunk(DATA[:10], "bytes 0-9/20")
    upload = ChunkedUpload.objects.get(pk=result["id"])
    assert upload.user is None
    assert upload.user_id is None


def test_unrestricted_anonymous_can_complete_upload(anon_api, unrestricted):
    result = anon_api.upload_and_complete(DATA, 10)
    assert result["__typename"] == "ChunkedUpload", result
    assert result["status"] == "COMPLETE"
    assert ChunkedUpload.objects.get(pk=result["id"]).user is None


def test_unrestricted_anonymous_whole_file_has_no_user(anon_api, unrestricted):
    result = anon_api.complete(None, md5(DATA), file=DATA, filename="whole.bin")
    assert result["__typename"] == "ChunkedUpload", result
    assert ChunkedUpload.objects.get(pk=result["id"]).user is None


def test_unrestricted_authenticated_upload_keeps_its_user(api, user, unrestricted):
    result = api.upload_chunk(DATA[:10], "bytes 0-9/20")
    assert ChunkedUpload.objects.get(pk=result["id"]).user == user


def test_unrestricted_list_shows_every_upload(api, other_api, anon_api, unrestricted):
    alice = api.start(DATA, 10)
    bob = other_api.start(DATA, 10)
    anonymous = anon_api.start(DATA, 10)
    expected = sorted([alice["id"], bob["id"], anonymous["id"]])
    assert ids(api.list()) == expected
    assert ids(other_api.list()) == expected
    assert ids(anon_api.list()) == expected


def test_unrestricted_list_filter_still_applies(api, other_api, unrestricted):
    uploading = api.start(DATA, 10)
    completed = other_api.upload_and_complete(DATA, 10)
    assert ids(api.list("UPLOADING")) == [uploading["id"]]
    assert ids(api.list("COMPLETE")) == [completed["id"]]


def test_unrestricted_get_shows_another_users_upload(api, other_api, unrestricted):
    started = other_api.start(DATA, 10)
    fetched = api.get(started["id"])
    assert fetched is not None
    assert fetched["id"] == started["id"]


def test_unrestricted_anonymous_get_shows_upload(api, anon_api, unrestricted):
    started = api.start(DATA, 10)
    fetched = anon_api.get(started["id"])
    assert fetched is not None
    assert fetched["id"] == started["id"]

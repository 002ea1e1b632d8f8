"""Every setting's effect, observed through the GraphQL API."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import InMemoryStorage
from django.http import HttpRequest
from django.test import override_settings
from django.utils import timezone

from chunked_graphql.models import ChunkedUpload
from chunked_graphql.settings import upload_settings
from chunked_graphql.signals import upload_completed
from tests.support.graphql_client import COMPLETE_UPLOAD, GraphQLClient, md5

pytestmark = pytest.mark.django_db

MEMORY_STORAGE = "django.core.files.storage.InMemoryStorage"
DATA = b"0123456789abcdefghij"

# Completion hooks, addressed by dotted path as "tests.api.test_settings.<name>" -----------------

HOOK_CALLS: list[tuple[Any, Any]] = []


def recording_hook(upload: Any, request: Any) -> dict[str, Any]:
    HOOK_CALLS.append((upload, request))
    return {"name": upload.filename, "size": upload.offset}


def callable_hook(upload: Any, request: Any) -> dict[str, Any]:
    return {"via": "callable", "items": [1, 2, 3]}


def none_hook(upload: Any, request: Any) -> None:
    return None


def failing_hook(upload: Any, request: Any) -> Any:
    raise RuntimeError("the completion hook failed")


def unserialisable_hook(upload: Any, request: Any) -> Any:
    return {"when": object()}


@pytest.fixture(autouse=True)
def _clear_hook_calls() -> Any:
    HOOK_CALLS.clear()
    yield
    HOOK_CALLS.clear()


@pytest.fixture
def completed_signals() -> Any:
    """Every ``upload_completed`` sent during the test, as a dict of its arguments."""
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append({"sender": sender, **kwargs})

    upload_completed.connect(receiver)
    yield received
    upload_completed.disconnect(receiver)


# Helpers ---------------------------------------------------------------------------------------


def stored(upload_id: str) -> ChunkedUpload:
    return ChunkedUpload.objects.get(pk=upload_id)


def files_on_disk(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def age(upload_id: str, by: datetime.timedelta) -> None:
    ChunkedUpload.objects.filter(pk=upload_id).update(created_at=timezone.now() - by)


def graphql_errors_of_complete(api: GraphQLClient, upload_id: str, checksum: str) -> Any:
    """Complete an upload expecting a GraphQL error (not a typed result); return the body."""
    response = api.post(COMPLETE_UPLOAD, {"uploadId": upload_id, "checksum": checksum})
    body = response.json()
    assert body.get("errors"), body
    assert (body.get("data") or {}).get("completeUpload") is None
    return body


# EXPIRATION_DELTA ------------------------------------------------------------------------------


def test_expiration_delta_sets_expires_after_created_at(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = datetime.timedelta(hours=2, minutes=30)

    upload = api.start(DATA, 5)

    expires = datetime.datetime.fromisoformat(upload["expires"])
    created = datetime.datetime.fromisoformat(upload["createdAt"])
    assert expires - created == datetime.timedelta(hours=2, minutes=30)


def test_default_expiration_delta_is_one_day(api: GraphQLClient, settings: Any) -> None:
    upload = api.start(DATA, 5)

    expires = datetime.datetime.fromisoformat(upload["expires"])
    created = datetime.datetime.fromisoformat(upload["createdAt"])
    assert expires - created == datetime.timedelta(days=1)


def test_upload_older_than_expiration_delta_is_expired(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = datetime.timedelta(minutes=5)
    upload = api.start(DATA, 5)
    age(upload["id"], datetime.timedelta(minutes=6))

    result = api.upload_chunk(DATA[5:10], "bytes 5-9/20", upload_id=upload["id"])

    assert result["__typename"] == "UploadExpired"
    assert result["code"] == "EXPIRED"
    assert result["httpStatus"] == 410
    assert stored(upload["id"]).offset == 5


def test_upload_younger_than_expiration_delta_is_not_expired(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = datetime.timedelta(minutes=10)
    upload = api.start(DATA, 5)
    age(upload["id"], datetime.timedelta(minutes=6))

    result = api.upload_chunk(DATA[5:10], "bytes 5-9/20", upload_id=upload["id"])

    assert result["__typename"] == "ChunkedUpload"
    assert result["offset"] == 10


def test_aged_upload_cannot_be_completed_once_expired(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = datetime.timedelta(minutes=5)
    upload = api.upload(DATA, 10)
    age(upload["id"], datetime.timedelta(minutes=6))

    result = api.complete(upload["id"], md5(DATA))

    assert result["code"] == "EXPIRED"
    assert stored(upload["id"]).status == ChunkedUpload.Status.UPLOADING


# PATH ------------------------------------------------------------------------------------------


def test_path_has_strftime_applied_to_stored_name(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up/%Y"

    upload = api.start(DATA, 5)

    row = stored(upload["id"])
    year = timezone.localtime(row.created_at).strftime("%Y")
    assert row.file.name == f"up/{year}/{upload['id']}.part"
    assert (media_root / "up" / year / f"{upload['id']}.part").read_bytes() == DATA[:5]


def test_default_path_is_dated_chunked_uploads_directory(api: GraphQLClient) -> None:
    upload = api.start(DATA, 5)

    row = stored(upload["id"])
    day = timezone.localtime(row.created_at).strftime("%Y/%m/%d")
    assert row.file.name == f"chunked_uploads/{day}/{upload['id']}.part"


def test_stored_name_never_contains_client_filename(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"

    upload = api.start(DATA, 5, filename="../../etc/passwd")

    assert stored(upload["id"]).file.name == f"up/{upload['id']}.part"
    assert upload["filename"] == "../../etc/passwd"


# CHECKSUM --------------------------------------------------------------------------------------


def test_checksum_setting_sets_checksum_algorithm(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"

    upload = api.start(DATA, 5)

    assert upload["checksumAlgorithm"] == "sha256"
    assert stored(upload["id"]).checksum_algorithm == "sha256"


def test_checksum_sha256_completion_accepts_sha256_digest(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    upload = api.upload(DATA, 8)

    result = api.complete(upload["id"], hashlib.sha256(DATA).hexdigest())

    assert result["__typename"] == "ChunkedUpload"
    assert result["status"] == "COMPLETE"


def test_checksum_sha256_completion_rejects_md5_digest(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    upload = api.upload(DATA, 8)

    result = api.complete(upload["id"], md5(DATA))

    assert result["code"] == "CHECKSUM_MISMATCH"
    assert stored(upload["id"]).status == ChunkedUpload.Status.UPLOADING


def test_missing_checksum_names_configured_algorithm(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha1"
    upload = api.upload(DATA, 8)

    result = api.complete(upload["id"], None)

    assert result["code"] == "MISSING_CHECKSUM"
    assert result["algorithm"] == "sha1"


def test_checksum_algorithm_is_fixed_when_upload_is_created(
    api: GraphQLClient, settings: Any
) -> None:
    upload = api.upload(DATA, 8)
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"

    result = api.complete(upload["id"], md5(DATA))

    assert result["status"] == "COMPLETE"
    assert result["checksumAlgorithm"] == "md5"


def test_whole_file_upload_uses_configured_checksum(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = "blake2b"

    result = api.complete(None, hashlib.blake2b(DATA).hexdigest(), file=DATA, filename="whole.bin")

    assert result["status"] == "COMPLETE"
    assert result["checksumAlgorithm"] == "blake2b"


# COMPLETE_EXT / INCOMPLETE_EXT -----------------------------------------------------------------


def test_incomplete_ext_names_file_while_uploading(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"
    settings.CHUNKED_GRAPHQL_INCOMPLETE_EXT = ".partial"

    upload = api.start(DATA, 5)

    assert stored(upload["id"]).file.name == f"up/{upload['id']}.partial"
    assert files_on_disk(media_root) == [f"up/{upload['id']}.partial"]


def test_complete_ext_names_file_after_completion(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = ".final"

    result = api.upload_and_complete(DATA, 8)

    assert stored(result["id"]).file.name == f"up/{result['id']}.final"
    assert files_on_disk(media_root) == [f"up/{result['id']}.final"]
    assert (media_root / "up" / f"{result['id']}.final").read_bytes() == DATA


def test_equal_extensions_keep_the_stored_name_on_completion(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = ".bin"
    settings.CHUNKED_GRAPHQL_INCOMPLETE_EXT = ".bin"

    result = api.upload_and_complete(DATA, 8)

    assert result["status"] == "COMPLETE"
    assert files_on_disk(media_root) == [f"up/{result['id']}.bin"]


def test_whole_file_upload_is_stored_under_complete_ext(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = ".final"

    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")

    assert files_on_disk(media_root) == [f"up/{result['id']}.final"]


# STORAGE_CLASS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("storage_class", [MEMORY_STORAGE, InMemoryStorage])
def test_storage_class_receives_multi_chunk_upload(
    api: GraphQLClient, settings: Any, media_root: Path, storage_class: Any
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = storage_class

    result = api.upload_and_complete(DATA, 6)

    assert result["status"] == "COMPLETE"
    storage = upload_settings.storage()
    assert isinstance(storage, InMemoryStorage)
    with storage.open(stored(result["id"]).file.name, "rb") as stored_file:
        assert stored_file.read() == DATA
    assert files_on_disk(media_root) == []


@pytest.mark.parametrize("storage_class", [MEMORY_STORAGE, InMemoryStorage])
def test_storage_class_keeps_incomplete_bytes_in_that_storage(
    api: GraphQLClient, settings: Any, media_root: Path, storage_class: Any
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = storage_class

    upload = api.upload(DATA, 6)

    name = stored(upload["id"]).file.name
    assert name.endswith(".part")
    with upload_settings.storage().open(name, "rb") as stored_file:
        assert stored_file.read() == DATA
    assert files_on_disk(media_root) == []


def memory_storage_factory() -> InMemoryStorage:
    return InMemoryStorage()


def test_storage_factory_receives_multi_chunk_upload(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = "tests.api.test_settings.memory_storage_factory"

    result = api.upload_and_complete(DATA, 6)

    assert result["status"] == "COMPLETE"
    with upload_settings.storage().open(stored(result["id"]).file.name, "rb") as stored_file:
        assert stored_file.read() == DATA
    assert files_on_disk(media_root) == []


def no_storage_factory() -> None:
    return None


def test_storage_factory_returning_none_means_the_default_storage(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    """drf-chunked-upload called STORAGE_CLASS and took None for the default storage."""
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = "tests.api.test_settings.no_storage_factory"

    result = api.upload_and_complete(DATA, 6)

    assert (media_root / stored(result["id"]).file.name).read_bytes() == DATA


def test_file_field_opens_through_configured_storage(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = MEMORY_STORAGE
    result = api.upload_and_complete(DATA, 6)

    row = stored(result["id"])
    row.file.open("rb")
    try:
        assert row.file.read() == DATA
    finally:
        row.file.close()


def test_override_settings_switches_storage_for_later_uploads(
    api: GraphQLClient, media_root: Path
) -> None:
    on_disk = api.upload_and_complete(b"disk bytes", 4)

    with override_settings(CHUNKED_GRAPHQL_STORAGE_CLASS=MEMORY_STORAGE):
        in_memory = api.upload_and_complete(b"memory bytes", 4)
        memory_name = stored(in_memory["id"]).file.name
        with upload_settings.storage().open(memory_name, "rb") as stored_file:
            assert stored_file.read() == b"memory bytes"

    assert files_on_disk(media_root) == [stored(on_disk["id"]).file.name]


def test_leaving_override_settings_restores_default_storage(
    api: GraphQLClient, media_root: Path
) -> None:
    with override_settings(CHUNKED_GRAPHQL_STORAGE_CLASS=MEMORY_STORAGE):
        api.upload_and_complete(b"memory bytes", 4)

    after = api.upload_and_complete(b"disk again", 4)

    name = stored(after["id"]).file.name
    assert files_on_disk(media_root) == [name]
    assert (media_root / name).read_bytes() == b"disk again"


def test_storage_setting_change_resolves_a_new_storage(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = MEMORY_STORAGE
    first = upload_settings.storage()

    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = InMemoryStorage
    second = upload_settings.storage()

    assert isinstance(first, InMemoryStorage)
    assert isinstance(second, InMemoryStorage)
    assert first is not second


# USER_RESTRICTED -------------------------------------------------------------------------------


def test_user_restricted_refuses_anonymous_new_upload(anon_api: GraphQLClient) -> None:
    result = anon_api.upload_chunk(DATA[:5], "bytes 0-4/20")

    assert result["__typename"] == "AuthenticationRequired"
    assert result["code"] == "AUTHENTICATION_REQUIRED"
    assert result["httpStatus"] == 401
    assert ChunkedUpload.objects.count() == 0


def test_user_restricted_refuses_anonymous_whole_file(
    anon_api: GraphQLClient, media_root: Path
) -> None:
    result = anon_api.complete(None, md5(DATA), file=DATA, filename="whole.bin")

    assert result["code"] == "AUTHENTICATION_REQUIRED"
    assert ChunkedUpload.objects.count() == 0
    assert files_on_disk(media_root) == []


def test_user_restricted_hides_upload_from_other_user(
    api: GraphQLClient, other_api: GraphQLClient
) -> None:
    upload = api.start(DATA, 5)

    assert other_api.get(upload["id"]) is None
    assert other_api.list() == []


def test_user_restricted_other_user_cannot_continue_upload(
    api: GraphQLClient, other_api: GraphQLClient
) -> None:
    upload = api.start(DATA, 5)

    result = other_api.upload_chunk(DATA[5:10], "bytes 5-9/20", upload_id=upload["id"])

    assert result["code"] == "NOT_FOUND"
    assert result["httpStatus"] == 404
    assert stored(upload["id"]).offset == 5


def test_user_restricted_other_user_cannot_complete_upload(
    api: GraphQLClient, other_api: GraphQLClient
) -> None:
    upload = api.upload(DATA, 10)

    result = other_api.complete(upload["id"], md5(DATA))

    assert result["code"] == "NOT_FOUND"
    assert stored(upload["id"]).status == ChunkedUpload.Status.UPLOADING


def test_user_restricted_other_user_cannot_cancel_upload(
    api: GraphQLClient, other_api: GraphQLClient
) -> None:
    upload = api.start(DATA, 5)

    result = other_api.cancel(upload["id"])

    assert result["code"] == "NOT_FOUND"
    assert ChunkedUpload.objects.filter(pk=upload["id"]).exists()


def test_user_restricted_anonymous_caller_sees_nothing(
    api: GraphQLClient, anon_api: GraphQLClient
) -> None:
    upload = api.start(DATA, 5)

    assert anon_api.get(upload["id"]) is None
    assert anon_api.list() == []


def test_user_restricted_owner_sees_own_upload(api: GraphQLClient) -> None:
    upload = api.start(DATA, 5)

    assert api.get(upload["id"])["offset"] == 5
    assert [u["id"] for u in api.list()] == [upload["id"]]


def test_unrestricted_allows_anonymous_chunked_upload(
    anon_api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False

    result = anon_api.upload_and_complete(DATA, 6)

    assert result["status"] == "COMPLETE"
    assert stored(result["id"]).user is None


def test_unrestricted_allows_anonymous_whole_file(anon_api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False

    result = anon_api.complete(None, md5(DATA), file=DATA, filename="whole.bin")

    assert result["status"] == "COMPLETE"
    assert stored(result["id"]).user is None


def test_unrestricted_lets_other_users_see_and_list_every_upload(
    api: GraphQLClient, other_api: GraphQLClient, anon_api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    mine = api.start(DATA, 5)
    theirs = other_api.start(DATA, 7)

    assert other_api.get(mine["id"])["offset"] == 5
    # Newest first (specification §9).
    assert [u["id"] for u in anon_api.list()] == [theirs["id"], mine["id"]]


def test_unrestricted_records_authenticated_owner(
    api: GraphQLClient, user: Any, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False

    upload = api.start(DATA, 5)

    assert stored(upload["id"]).user == user


# MAX_BYTES -------------------------------------------------------------------------------------


def test_max_bytes_rejects_declared_total_above_limit(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 10

    result = api.upload_chunk(DATA[:5], "bytes 0-4/11")

    assert result["__typename"] == "MaxBytesExceeded"
    assert result["maxBytes"] == 10
    assert result["httpStatus"] == 400
    assert ChunkedUpload.objects.count() == 0


def test_max_bytes_allows_total_equal_to_limit(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 10

    result = api.upload_and_complete(DATA[:10], 4)

    assert result["status"] == "COMPLETE"
    assert result["totalSize"] == 10


def test_max_bytes_rejects_whole_file_above_limit(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 19

    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")

    assert result["code"] == "MAX_BYTES_EXCEEDED"
    assert result["maxBytes"] == 19
    assert ChunkedUpload.objects.count() == 0
    assert files_on_disk(media_root) == []


def test_max_bytes_default_is_unlimited(api: GraphQLClient) -> None:
    total = 2**40

    result = api.upload_chunk(DATA[:5], f"bytes 0-4/{total}")

    assert result["__typename"] == "ChunkedUpload"
    assert result["totalSize"] == total


# COMPLETION_HOOK -------------------------------------------------------------------------------


def test_completion_hook_dotted_path_result_is_response_data(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "tests.api.test_settings.recording_hook"

    result = api.upload_and_complete(DATA, 6, filename="report.pdf")

    assert isinstance(result["responseData"], str)
    assert json.loads(result["responseData"]) == {"name": "report.pdf", "size": 20}


def test_completion_hook_callable_result_is_response_data(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = callable_hook

    result = api.upload_and_complete(DATA, 6)

    assert json.loads(result["responseData"]) == {"via": "callable", "items": [1, 2, 3]}


def test_completion_hook_result_is_persisted(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = callable_hook
    result = api.upload_and_complete(DATA, 6)

    assert stored(result["id"]).response_data == {"via": "callable", "items": [1, 2, 3]}
    queried = api.get(result["id"])
    assert json.loads(queried["responseData"]) == {"via": "callable", "items": [1, 2, 3]}


def test_completion_hook_result_for_whole_file_upload(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "tests.api.test_settings.recording_hook"

    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")

    assert json.loads(result["responseData"]) == {"name": "whole.bin", "size": 20}
    assert len(HOOK_CALLS) == 1


def test_completion_hook_receives_upload_and_request(
    api: GraphQLClient, user: Any, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "tests.api.test_settings.recording_hook"

    result = api.upload_and_complete(DATA, 6, filename="report.pdf")

    assert len(HOOK_CALLS) == 1
    upload, request = HOOK_CALLS[0]
    assert isinstance(upload, ChunkedUpload)
    assert str(upload.pk) == result["id"]
    assert upload.filename == "report.pdf"
    assert isinstance(request, HttpRequest)
    assert request.user == user


def test_completion_hook_not_called_before_completion(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "tests.api.test_settings.recording_hook"
    upload = api.upload(DATA, 6)

    mismatch = api.complete(upload["id"], md5(b"other"))

    assert mismatch["code"] == "CHECKSUM_MISMATCH"
    assert HOOK_CALLS == []


def test_completion_hook_returning_none_gives_null_response_data(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = none_hook

    result = api.upload_and_complete(DATA, 6)

    assert result["status"] == "COMPLETE"
    assert result["responseData"] is None


def test_without_completion_hook_response_data_is_null(api: GraphQLClient) -> None:
    result = api.upload_and_complete(DATA, 6)

    assert result["status"] == "COMPLETE"
    assert result["responseData"] is None


@pytest.mark.parametrize(
    "hook", ["tests.api.test_settings.failing_hook", "tests.api.test_settings.unserialisable_hook"]
)
def test_completion_hook_failure_rolls_back_completion(
    api: GraphQLClient, settings: Any, media_root: Path, hook: str
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = hook
    upload = api.upload(DATA, 6)

    graphql_errors_of_complete(api, upload["id"], md5(DATA))

    row = stored(upload["id"])
    assert row.status == ChunkedUpload.Status.UPLOADING
    assert row.completed_at is None
    assert row.response_data is None
    assert row.file.name == f"up/{upload['id']}.part"
    assert files_on_disk(media_root) == [f"up/{upload['id']}.part"]
    assert (media_root / row.file.name).read_bytes() == DATA
    queried = api.get(upload["id"])
    assert queried["status"] == "UPLOADING"
    assert queried["completedAt"] is None


def test_upload_completes_after_failing_hook_is_removed(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = failing_hook
    upload = api.upload(DATA, 6)
    graphql_errors_of_complete(api, upload["id"], md5(DATA))

    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = None
    result = api.complete(upload["id"], md5(DATA))

    assert result["status"] == "COMPLETE"


def test_failing_hook_on_whole_file_upload_leaves_nothing(
    api: GraphQLClient, settings: Any, media_root: Path
) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = failing_hook

    response = api.post(
        COMPLETE_UPLOAD,
        {"uploadId": None, "checksum": md5(DATA), "filename": "whole.bin"},
        files={"file": DATA},
    )

    assert response.json().get("errors")
    assert ChunkedUpload.objects.count() == 0
    assert files_on_disk(media_root) == []


# DRF_CHUNKED_UPLOAD_<NAME> fallback and precedence ---------------------------------------------


def test_drf_max_bytes_is_honoured(api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_MAX_BYTES = 10

    result = api.upload_chunk(DATA[:5], "bytes 0-4/11")

    assert result["code"] == "MAX_BYTES_EXCEEDED"
    assert result["maxBytes"] == 10


def test_drf_checksum_is_honoured(api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_CHECKSUM = "sha1"

    upload = api.start(DATA, 5)

    assert upload["checksumAlgorithm"] == "sha1"


def test_drf_path_is_honoured(api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_PATH = "legacy/%Y"

    upload = api.start(DATA, 5)

    year = timezone.localtime(stored(upload["id"]).created_at).strftime("%Y")
    assert stored(upload["id"]).file.name == f"legacy/{year}/{upload['id']}.part"


def test_drf_expiration_delta_is_honoured(api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_EXPIRATION_DELTA = datetime.timedelta(hours=3)

    upload = api.start(DATA, 5)

    expires = datetime.datetime.fromisoformat(upload["expires"])
    created = datetime.datetime.fromisoformat(upload["createdAt"])
    assert expires - created == datetime.timedelta(hours=3)


def test_drf_extensions_are_honoured(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"
    settings.DRF_CHUNKED_UPLOAD_INCOMPLETE_EXT = ".uploading"
    settings.DRF_CHUNKED_UPLOAD_COMPLETE_EXT = ".ok"
    upload = api.upload(DATA, 10)
    assert stored(upload["id"]).file.name == f"up/{upload['id']}.uploading"

    api.complete(upload["id"], md5(DATA))

    assert stored(upload["id"]).file.name == f"up/{upload['id']}.ok"


def test_drf_user_restricted_is_honoured(anon_api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_USER_RESTRICTED = False

    result = anon_api.upload_chunk(DATA[:5], "bytes 0-4/20")

    assert result["__typename"] == "ChunkedUpload"


def test_drf_misspelt_user_restriced_is_honoured(anon_api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_USER_RESTRICED = False

    result = anon_api.upload_chunk(DATA[:5], "bytes 0-4/20")

    assert result["__typename"] == "ChunkedUpload"
    assert stored(result["id"]).user is None


def test_drf_storage_class_is_honoured(api: GraphQLClient, settings: Any, media_root: Path) -> None:
    settings.DRF_CHUNKED_UPLOAD_STORAGE_CLASS = MEMORY_STORAGE

    result = api.upload_and_complete(DATA, 6)

    with upload_settings.storage().open(stored(result["id"]).file.name, "rb") as stored_file:
        assert stored_file.read() == DATA
    assert files_on_disk(media_root) == []


def test_chunked_graphql_max_bytes_wins_over_drf(api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_MAX_BYTES = 10
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 100

    result = api.upload_chunk(DATA[:5], "bytes 0-4/50")

    assert result["__typename"] == "ChunkedUpload"


def test_chunked_graphql_checksum_wins_over_drf(api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_CHECKSUM = "sha1"
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"

    upload = api.start(DATA, 5)

    assert upload["checksumAlgorithm"] == "sha256"


def test_chunked_graphql_user_restricted_wins_over_misspelt_drf(
    anon_api: GraphQLClient, settings: Any
) -> None:
    settings.DRF_CHUNKED_UPLOAD_USER_RESTRICED = False
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = True

    result = anon_api.upload_chunk(DATA[:5], "bytes 0-4/20")

    assert result["code"] == "AUTHENTICATION_REQUIRED"


def test_explicit_none_max_bytes_overrides_drf_value(api: GraphQLClient, settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_MAX_BYTES = 10
    settings.CHUNKED_GRAPHQL_MAX_BYTES = None

    result = api.upload_chunk(DATA[:5], "bytes 0-4/50")

    assert result["__typename"] == "ChunkedUpload"
    assert result["totalSize"] == 50


# Settings are read when used -------------------------------------------------------------------


def test_settings_fixture_change_applies_after_value_was_read(
    api: GraphQLClient, settings: Any
) -> None:
    first = api.upload_chunk(DATA[:5], "bytes 0-4/50")
    assert first["__typename"] == "ChunkedUpload"

    settings.CHUNKED_GRAPHQL_MAX_BYTES = 20
    second = api.upload_chunk(DATA[:5], "bytes 0-4/50")

    assert second["code"] == "MAX_BYTES_EXCEEDED"
    assert second["maxBytes"] == 20


def test_override_settings_applies_inside_and_reverts_after(api: GraphQLClient) -> None:
    before = api.start(DATA, 5)
    with override_settings(CHUNKED_GRAPHQL_CHECKSUM="sha1"):
        inside = api.start(DATA, 5)
    after = api.start(DATA, 5)

    assert [before["checksumAlgorithm"], inside["checksumAlgorithm"]] == ["md5", "sha1"]
    assert after["checksumAlgorithm"] == "md5"


def test_drf_setting_change_applies_after_value_was_read(
    anon_api: GraphQLClient, settings: Any
) -> None:
    refused = anon_api.upload_chunk(DATA[:5], "bytes 0-4/20")
    assert refused["code"] == "AUTHENTICATION_REQUIRED"

    settings.DRF_CHUNKED_UPLOAD_USER_RESTRICED = False
    accepted = anon_api.upload_chunk(DATA[:5], "bytes 0-4/20")

    assert accepted["__typename"] == "ChunkedUpload"


def test_completion_hook_change_applies_after_hook_was_resolved(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = none_hook
    first = api.upload_and_complete(DATA, 10)
    assert first["responseData"] is None

    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = callable_hook
    second = api.upload_and_complete(DATA, 10)

    assert json.loads(second["responseData"]) == {"via": "callable", "items": [1, 2, 3]}


# The upload_completed signal -------------------------------------------------------------------


def test_upload_completed_fires_once_with_model_sender_and_arguments(
    api: GraphQLClient, user: Any, completed_signals: list[dict[str, Any]]
) -> None:
    result = api.upload_and_complete(DATA, 6)

    assert len(completed_signals) == 1
    sent = completed_signals[0]
    assert sent["sender"] is ChunkedUpload
    assert str(sent["upload"].pk) == result["id"]
    assert sent["upload"].status == ChunkedUpload.Status.COMPLETE
    assert isinstance(sent["request"], HttpRequest)
    assert sent["request"].user == user


def test_upload_completed_fires_once_for_whole_file_upload(
    api: GraphQLClient, completed_signals: list[dict[str, Any]]
) -> None:
    result = api.complete(None, md5(DATA), file=DATA, filename="whole.bin")

    assert [str(sent["upload"].pk) for sent in completed_signals] == [result["id"]]
    assert completed_signals[0]["sender"] is ChunkedUpload


def test_upload_completed_not_sent_on_checksum_mismatch(
    api: GraphQLClient, completed_signals: list[dict[str, Any]]
) -> None:
    upload = api.upload(DATA, 6)

    result = api.complete(upload["id"], md5(b"something else"))

    assert result["code"] == "CHECKSUM_MISMATCH"
    assert completed_signals == []


def test_upload_completed_not_sent_while_uploading(
    api: GraphQLClient, completed_signals: list[dict[str, Any]]
) -> None:
    api.upload(DATA, 6)

    assert completed_signals == []


def test_second_completion_is_already_complete_without_signal(
    api: GraphQLClient, completed_signals: list[dict[str, Any]]
) -> None:
    result = api.upload_and_complete(DATA, 6)

    again = api.complete(result["id"], md5(DATA))

    assert again["code"] == "ALREADY_COMPLETE"
    assert again["httpStatus"] == 400
    assert len(completed_signals) == 1


def test_signal_receiver_failure_rolls_back_completion(
    api: GraphQLClient, media_root: Path, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"

    def broken_receiver(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    upload = api.upload(DATA, 6)
    upload_completed.connect(broken_receiver)
    try:
        graphql_errors_of_complete(api, upload["id"], md5(DATA))
    finally:
        upload_completed.disconnect(broken_receiver)

    assert stored(upload["id"]).status == ChunkedUpload.Status.UPLOADING
    assert files_on_disk(media_root) == [f"up/{upload['id']}.part"]

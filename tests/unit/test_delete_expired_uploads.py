"""``manage.py delete_expired_uploads``."""

from __future__ import annotations

import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.utils import timezone

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import GraphQLClient, md5

pytestmark = pytest.mark.django_db

DATA = b"0123456789abcdefghij"
LONG_AGO = datetime.timedelta(days=2)


def age(upload_id: str, by: datetime.timedelta) -> None:
    ChunkedUpload.objects.filter(pk=upload_id).update(created_at=timezone.now() - by)


def stored_path(media_root: Path, upload_id: str) -> Path:
    return media_root / ChunkedUpload.objects.get(pk=upload_id).file.name


def run(capture: Any, *args: str) -> str:
    """Run the command, executing on-commit callbacks; return what it printed."""
    out = StringIO()
    with capture(execute=True):
        call_command("delete_expired_uploads", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def expired(api: GraphQLClient, media_root: Path) -> dict[str, Any]:
    """An incomplete upload created two days ago, with its path on disk."""
    upload = api.start(DATA, 8, filename="expired.bin")
    path = stored_path(media_root, upload["id"])
    age(upload["id"], LONG_AGO)
    return {"id": upload["id"], "path": path}


def test_removes_expired_incomplete_upload_row(
    expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run(django_capture_on_commit_callbacks)

    assert not ChunkedUpload.objects.filter(pk=expired["id"]).exists()


def test_removes_expired_incomplete_upload_bytes(
    expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    assert expired["path"].read_bytes() == DATA[:8]

    run(django_capture_on_commit_callbacks)

    assert not expired["path"].exists()


def test_upload_whose_bytes_cannot_be_deleted_is_kept_for_the_next_run(
    expired: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Any, name: str) -> None:
        raise OSError("storage unavailable")

    monkeypatch.setattr(FileSystemStorage, "delete", refuse)
    call_command("delete_expired_uploads", stdout=StringIO())
    assert ChunkedUpload.objects.filter(pk=expired["id"]).exists()
    assert expired["path"].exists()

    monkeypatch.undo()
    call_command("delete_expired_uploads", stdout=StringIO())
    assert not ChunkedUpload.objects.filter(pk=expired["id"]).exists()
    assert not expired["path"].exists()


def test_leaves_fresh_incomplete_upload(
    api: GraphQLClient, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    fresh = api.start(DATA, 8)
    path = stored_path(media_root, fresh["id"])

    output = run(django_capture_on_commit_callbacks)

    assert output == "Deleted 0 expired upload(s)."
    assert ChunkedUpload.objects.get(pk=fresh["id"]).offset == 8
    assert path.read_bytes() == DATA[:8]


def test_leaves_very_old_completed_upload(
    api: GraphQLClient, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    done = api.upload_and_complete(DATA, 8)
    age(done["id"], datetime.timedelta(days=3650))
    path = stored_path(media_root, done["id"])

    run(django_capture_on_commit_callbacks)

    row = ChunkedUpload.objects.get(pk=done["id"])
    assert row.status == ChunkedUpload.Status.COMPLETE
    assert path.read_bytes() == DATA


def test_leaves_completed_upload_with_keep_record(
    api: GraphQLClient, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    done = api.upload_and_complete(DATA, 8)
    age(done["id"], datetime.timedelta(days=3650))
    path = stored_path(media_root, done["id"])

    run(django_capture_on_commit_callbacks, "--keep-record")

    assert ChunkedUpload.objects.get(pk=done["id"]).file.name == str(path.relative_to(media_root))
    assert path.read_bytes() == DATA


def test_removes_only_expired_among_mixed_uploads(
    api: GraphQLClient, expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    fresh = api.start(DATA, 8)
    done = api.upload_and_complete(DATA, 8)
    age(done["id"], LONG_AGO)

    run(django_capture_on_commit_callbacks)

    remaining = sorted(str(pk) for pk in ChunkedUpload.objects.values_list("pk", flat=True))
    assert remaining == sorted([fresh["id"], done["id"]])


def test_follows_expiration_delta_setting(
    api: GraphQLClient, settings: Any, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = datetime.timedelta(minutes=30)
    upload = api.start(DATA, 8)
    age(upload["id"], datetime.timedelta(hours=1))

    output = run(django_capture_on_commit_callbacks)

    assert output == "Deleted 1 expired upload(s)."
    assert not ChunkedUpload.objects.filter(pk=upload["id"]).exists()


@pytest.mark.parametrize("flag", ["--keep-record", "-k"])
def test_keep_record_removes_bytes_and_keeps_row(
    expired: dict[str, Any], django_capture_on_commit_callbacks: Any, flag: str
) -> None:
    run(django_capture_on_commit_callbacks, flag)

    row = ChunkedUpload.objects.get(pk=expired["id"])
    assert row.file.name == ""
    assert row.status == ChunkedUpload.Status.UPLOADING
    assert row.offset == 8
    assert not expired["path"].exists()


def test_keep_record_prints_count(
    expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    output = run(django_capture_on_commit_callbacks, "-k")

    assert output == "Deleted the bytes of 1 expired upload(s); their records were kept."


def test_keep_record_twice_is_harmless(
    expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run(django_capture_on_commit_callbacks, "--keep-record")

    output = run(django_capture_on_commit_callbacks, "--keep-record")

    assert output == "Deleted the bytes of 0 expired upload(s); their records were kept."
    assert ChunkedUpload.objects.get(pk=expired["id"]).file.name == ""


def test_deleting_after_keep_record_removes_the_kept_row(
    expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run(django_capture_on_commit_callbacks, "--keep-record")

    output = run(django_capture_on_commit_callbacks)

    assert output == "Deleted 1 expired upload(s)."
    assert not ChunkedUpload.objects.filter(pk=expired["id"]).exists()


def test_running_twice_is_harmless(
    expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run(django_capture_on_commit_callbacks)

    output = run(django_capture_on_commit_callbacks)

    assert output == "Deleted 0 expired upload(s)."
    assert ChunkedUpload.objects.count() == 0


def test_prints_number_of_deleted_uploads(
    api: GraphQLClient, expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    second = api.start(DATA, 4, filename="second.bin")
    age(second["id"], LONG_AGO)
    api.start(DATA, 4, filename="fresh.bin")

    output = run(django_capture_on_commit_callbacks)

    assert output == "Deleted 2 expired upload(s)."
    assert ChunkedUpload.objects.count() == 1


def test_deleted_upload_is_gone_from_the_api(
    api: GraphQLClient, expired: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run(django_capture_on_commit_callbacks)

    assert api.get(expired["id"]) is None
    assert api.complete(expired["id"], md5(DATA))["code"] == "NOT_FOUND"

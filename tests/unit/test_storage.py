"""Chunk stores, stored names and the configured storage."""

from __future__ import annotations

import datetime
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, InMemoryStorage, default_storage

from chunked_graphql.exceptions import ChunkStorageError
from chunked_graphql.models import ChunkedUpload
from chunked_graphql.settings import upload_settings
from chunked_graphql.stores import (
    ChunkStore,
    FileSystemChunkStore,
    RewritingChunkStore,
    chunk_store,
)
from chunked_graphql.stores.configured import configured_storage
from chunked_graphql.stores.names import renamed, upload_name
from tests.support.graphql_client import UPLOAD_CHUNK, GraphQLClient, md5

MEMORY_STORAGE = "django.core.files.storage.InMemoryStorage"
UPLOAD_ID = uuid.UUID("12345678-1234-4234-8234-123456789abc")
CREATED = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
DATA = b"0123456789abcdefghij"

# A storage whose saves fail while FAILURES["save"] is set --------------------------------------

FAILURES = {"save": False, "save_final": False}


class FlakyMemoryStorage(InMemoryStorage):
    """InMemoryStorage whose ``save`` raises OSError while ``FAILURES["save"]`` is on, and whose
    saves of anything but a staging copy raise while ``FAILURES["save_final"]`` is on."""

    def save(self, name: Any, content: Any, max_length: int | None = None) -> str:
        if FAILURES["save"] or (FAILURES["save_final"] and not str(name).endswith(".next")):
            raise OSError("storage unavailable")
        return super().save(name, content, max_length=max_length)


@pytest.fixture(autouse=True)
def _reset_failures() -> Any:
    FAILURES.update(save=False, save_final=False)
    yield
    FAILURES.update(save=False, save_final=False)


# The two chunk stores, exercised with the same tests ------------------------------------------


@pytest.fixture(params=["filesystem", "rewriting"])
def store(request: Any, tmp_path: Path) -> ChunkStore:
    if request.param == "filesystem":
        return FileSystemChunkStore(FileSystemStorage(location=str(tmp_path / "store")))
    return RewritingChunkStore(InMemoryStorage())


def read(store: ChunkStore, name: str) -> bytes:
    with store.open(name) as stored:
        return stored.read()


def test_write_at_zero_creates_the_file(store: ChunkStore) -> None:
    store.write("dir/sub/a.part", 0, [b"hello", b" world"])

    assert read(store, "dir/sub/a.part") == b"hello world"


def test_write_at_offset_appends(store: ChunkStore) -> None:
    store.write("a.part", 0, [b"hello"])

    store.write("a.part", 5, [b" world"])

    assert read(store, "a.part") == b"hello world"


def test_rewrite_at_earlier_offset_truncates_what_lay_beyond(store: ChunkStore) -> None:
    store.write("a.part", 0, [b"0123456789"])

    store.write("a.part", 4, [b"ab"])

    assert read(store, "a.part") == b"0123ab"


def test_rewrite_at_zero_replaces_everything(store: ChunkStore) -> None:
    store.write("a.part", 0, [b"0123456789"])

    store.write("a.part", 0, [b"xy"])

    assert read(store, "a.part") == b"xy"


def test_write_past_stored_end_raises_and_keeps_bytes(store: ChunkStore) -> None:
    store.write("a.part", 0, [b"12345"])

    with pytest.raises(ChunkStorageError):
        store.write("a.part", 6, [b"x"])

    assert read(store, "a.part") == b"12345"


def test_copy_leaves_the_source_in_place(store: ChunkStore) -> None:
    store.write("d/a.part", 0, [b"payload"])

    store.copy("d/a.part", "d/a.done")

    assert read(store, "d/a.done") == b"payload"
    assert read(store, "d/a.part") == b"payload"


def test_copy_replaces_existing_target(store: ChunkStore) -> None:
    store.write("a.part", 0, [b"new bytes"])
    store.write("a.done", 0, [b"old, longer bytes"])

    store.copy("a.part", "a.done")

    assert read(store, "a.done") == b"new bytes"


def test_delete_removes_bytes(store: ChunkStore) -> None:
    store.write("a.part", 0, [b"payload"])

    store.delete("a.part")

    assert not store.storage.exists("a.part")


def test_delete_of_missing_name_is_fine(store: ChunkStore) -> None:
    store.write("kept.part", 0, [b"payload"])

    store.delete("missing.part")
    store.delete("")

    assert read(store, "kept.part") == b"payload"


def test_filesystem_store_writes_under_storage_location(tmp_path: Path) -> None:
    store = FileSystemChunkStore(FileSystemStorage(location=str(tmp_path)))

    store.write("x/y/a.part", 0, [b"abc"])
    store.write("x/y/a.part", 3, [b"def"])

    assert (tmp_path / "x" / "y" / "a.part").read_bytes() == b"abcdef"


def test_rewriting_store_keeps_exact_name_in_storage() -> None:
    storage = InMemoryStorage()
    store = RewritingChunkStore(storage)

    store.write("x/a.part", 0, [b"abc"])
    store.write("x/a.part", 3, [b"def"])

    assert storage.listdir("x") == ([], ["a.part"])


# upload_name and renamed -----------------------------------------------------------------------


def test_upload_name_applies_path_strftime(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up/%Y/%m/%d"

    name = upload_name(UPLOAD_ID, CREATED, ".part")

    assert name == f"up/2024/05/06/{UPLOAD_ID}.part"


def test_upload_name_uses_hyphenated_id_and_given_extension(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "up"

    assert upload_name(UPLOAD_ID, CREATED, ".done") == (
        "up/12345678-1234-4234-8234-123456789abc.done"
    )


def test_upload_name_with_empty_path_is_the_bare_name(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_PATH = ""

    assert upload_name(UPLOAD_ID, CREATED, ".part") == f"{UPLOAD_ID}.part"


def test_upload_name_uses_local_time_for_strftime(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    settings.CHUNKED_GRAPHQL_PATH = "%Y-%m-%d-%H"
    late_utc = datetime.datetime(2024, 5, 6, 22, 0, tzinfo=datetime.UTC)

    assert upload_name(UPLOAD_ID, late_utc, ".part") == f"2024-05-07-07/{UPLOAD_ID}.part"


@pytest.mark.parametrize("path", ["../x", "a/../../b", "..", "up/%Y/../../.."])
def test_upload_name_refuses_path_escaping_storage_root(settings: Any, path: str) -> None:
    settings.CHUNKED_GRAPHQL_PATH = path

    with pytest.raises(SuspiciousFileOperation):
        upload_name(UPLOAD_ID, CREATED, ".part")


@pytest.mark.parametrize(
    ("path", "directory"),
    [("up//%Y", "up/2024"), ("./up", "up"), ("up/./x/", "up/x"), (".", ""), ("/", None)],
)
def test_upload_name_normalises_the_directory_the_system_check_accepts(
    settings: Any, path: str, directory: str | None
) -> None:
    settings.CHUNKED_GRAPHQL_PATH = path
    accepted = not [e for e in run_checks() if e.id == "chunked_graphql.E002"]

    if directory is None:
        assert not accepted
        with pytest.raises(SuspiciousFileOperation):
            upload_name(UPLOAD_ID, CREATED, ".part")
    else:
        assert accepted
        expected = f"{directory}/{UPLOAD_ID}.part" if directory else f"{UPLOAD_ID}.part"
        assert upload_name(UPLOAD_ID, CREATED, ".part") == expected


def test_renamed_replaces_extension_in_same_directory() -> None:
    name = f"up/2024/{UPLOAD_ID}.part"

    assert renamed(name, UPLOAD_ID, ".done") == f"up/2024/{UPLOAD_ID}.done"


# chunk_store() and ConfiguredStorage -----------------------------------------------------------


def test_chunk_store_uses_filesystem_store_for_default_storage() -> None:
    store = chunk_store()

    assert isinstance(store, FileSystemChunkStore)
    assert store.storage is default_storage


def test_chunk_store_uses_rewriting_store_for_in_memory_storage_setting(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = MEMORY_STORAGE

    store = chunk_store()

    assert isinstance(store, RewritingChunkStore)
    assert store.storage is upload_settings.storage()
    assert isinstance(store.storage, InMemoryStorage)


def test_chunk_store_for_explicit_storage() -> None:
    memory = InMemoryStorage()

    assert isinstance(chunk_store(memory), RewritingChunkStore)
    assert isinstance(chunk_store(FileSystemStorage()), FileSystemChunkStore)


def test_chunk_store_follows_storage_setting_changes(settings: Any) -> None:
    assert isinstance(chunk_store(), FileSystemChunkStore)

    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = MEMORY_STORAGE

    assert isinstance(chunk_store(), RewritingChunkStore)


def test_configured_storage_backend_is_default_storage_by_default() -> None:
    assert configured_storage.backend is default_storage


def test_configured_storage_forwards_to_current_setting(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = MEMORY_STORAGE

    saved = configured_storage.save("notes/a.txt", ContentFile(b"forwarded"))

    backend = upload_settings.storage()
    assert configured_storage.backend is backend
    assert saved == "notes/a.txt"
    with backend.open(saved, "rb") as stored:
        assert stored.read() == b"forwarded"
    assert configured_storage.exists(saved)
    assert configured_storage.size(saved) == 9


def test_configured_storage_delete_forwards(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = MEMORY_STORAGE
    upload_settings.storage().save("a.txt", ContentFile(b"x"))

    configured_storage.delete("a.txt")

    assert not upload_settings.storage().exists("a.txt")


def test_configured_storage_follows_setting_changes(settings: Any, media_root: Path) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = MEMORY_STORAGE
    configured_storage.save("a.txt", ContentFile(b"memory"))

    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = None
    configured_storage.save("a.txt", ContentFile(b"disk"))

    assert configured_storage.backend is default_storage
    assert (media_root / "a.txt").read_bytes() == b"disk"


def test_model_file_field_uses_configured_storage() -> None:
    assert ChunkedUpload._meta.get_field("file").storage is configured_storage


# A storage failure mid-upload ------------------------------------------------------------------


def post_chunk(api: GraphQLClient, chunk: bytes, content_range: str, upload_id: str) -> Any:
    return api.post(
        UPLOAD_CHUNK,
        {"uploadId": upload_id, "contentRange": content_range, "filename": None},
        files={"file": chunk},
    ).json()


@pytest.mark.django_db
def test_failed_storage_save_does_not_report_an_advanced_offset(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = FlakyMemoryStorage
    upload = api.start(DATA, 8)

    FAILURES["save"] = True
    body = post_chunk(api, DATA[8:16], "bytes 8-15/20", upload["id"])

    assert body.get("errors")
    assert (body.get("data") or {}).get("uploadChunk") is None
    assert api.get(upload["id"])["offset"] == 8


@pytest.mark.django_db
def test_upload_resumes_after_failed_storage_save(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = FlakyMemoryStorage
    upload = api.start(DATA, 8)
    FAILURES["save"] = True
    post_chunk(api, DATA[8:16], "bytes 8-15/20", upload["id"])
    FAILURES["save"] = False

    resent = api.upload_chunk(DATA[8:16], "bytes 8-15/20", upload_id=upload["id"])
    last = api.upload_chunk(DATA[16:], "bytes 16-19/20", upload_id=upload["id"])
    completed = api.complete(upload["id"], md5(DATA))

    assert resent["__typename"] == "ChunkedUpload", resent
    assert resent["offset"] == 16
    assert last["offset"] == 20
    assert completed["status"] == "COMPLETE"
    name = ChunkedUpload.objects.get(pk=upload["id"]).file.name
    with upload_settings.storage().open(name, "rb") as stored:
        assert stored.read() == DATA


@pytest.mark.django_db
def test_upload_resumes_from_the_staged_copy_when_replacing_the_object_fails(
    api: GraphQLClient, settings: Any
) -> None:
    """The object was deleted and its replacement failed: the staged copy still holds the bytes
    the offset vouches for, so resending the chunk works."""
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = FlakyMemoryStorage
    upload = api.start(DATA, 8)
    api.upload_chunk(DATA[8:12], "bytes 8-11/20", upload_id=upload["id"])
    FAILURES["save_final"] = True
    failed = post_chunk(api, DATA[12:16], "bytes 12-15/20", upload["id"])
    FAILURES["save_final"] = False
    name = ChunkedUpload.objects.get(pk=upload["id"]).file.name
    assert failed.get("errors")
    assert not upload_settings.storage().exists(name)

    resent = api.upload_chunk(DATA[12:16], "bytes 12-15/20", upload_id=upload["id"])
    api.upload_chunk(DATA[16:], "bytes 16-19/20", upload_id=upload["id"])
    completed = api.complete(upload["id"], md5(DATA))

    assert resent["offset"] == 16
    assert completed["status"] == "COMPLETE"
    completed_name = ChunkedUpload.objects.get(pk=upload["id"]).file.name
    with upload_settings.storage().open(completed_name, "rb") as stored:
        assert stored.read() == DATA
    assert not upload_settings.storage().exists(name + ".next")


@pytest.mark.django_db
def test_storage_failure_message_does_not_reveal_storage_names(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = FlakyMemoryStorage
    upload = api.start(DATA, 8)
    FAILURES["save"] = True
    body = post_chunk(api, DATA[8:16], "bytes 8-15/20", upload["id"])
    message = body["errors"][0]["message"]
    assert "ask for its offset (a parallel upload: its missingRanges) and try again" in message
    assert upload["id"] not in message


@pytest.mark.django_db
def test_storage_failure_tells_clients_that_retrying_is_worth_it(
    api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = FlakyMemoryStorage
    upload = api.start(DATA, 8)
    FAILURES["save"] = True
    body = post_chunk(api, DATA[8:16], "bytes 8-15/20", upload["id"])
    assert body["errors"][0]["extensions"] == {"code": "STORAGE_ERROR"}
    assert body["data"] is None


@pytest.mark.django_db
def test_failed_save_of_first_chunk_leaves_no_upload(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = FlakyMemoryStorage
    FAILURES["save"] = True

    body = api.post(
        UPLOAD_CHUNK,
        {"uploadId": None, "contentRange": "bytes 0-7/20", "filename": "a.bin"},
        files={"file": DATA[:8]},
    ).json()

    assert body.get("errors")
    assert ChunkedUpload.objects.count() == 0
    assert upload_settings.storage().listdir("") == ([], [])


@pytest.mark.django_db
def test_bytes_of_write_that_died_before_offset_was_saved_are_overwritten(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch, media_root: Path
) -> None:
    upload = api.start(DATA, 8)

    def failing_sync(fd: int) -> None:
        raise OSError("disk went away")

    # The bytes reach the file, then the sync fails: the offset is never committed.
    with monkeypatch.context() as patch:
        patch.setattr(os, "fdatasync", failing_sync)
        body = post_chunk(api, b"GARBAGE-GARB", "bytes 8-19/20", upload["id"])
    assert body.get("errors")
    assert api.get(upload["id"])["offset"] == 8

    resent = api.upload_chunk(DATA[8:16], "bytes 8-15/20", upload_id=upload["id"])

    assert resent["offset"] == 16
    name = ChunkedUpload.objects.get(pk=upload["id"]).file.name
    assert (media_root / name).read_bytes() == DATA[:16]


def test_filesystem_store_applies_django_upload_permissions(settings: Any, tmp_path: Path) -> None:
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
    store = FileSystemChunkStore(FileSystemStorage(location=tmp_path))

    store.write("new/dir/a.part", 0, [b"abc"])

    assert (tmp_path / "new/dir/a.part").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "new/dir").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o750

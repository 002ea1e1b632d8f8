"""Expiry end to end: uploads made through a real gunicorn server, aged, then cleaned by
``manage.py delete_expired_uploads`` run as its own process and by the admin action posted over
HTTP. Expired incomplete uploads lose their rows and bytes (object-storage parts and unfinished
multipart uploads included); completed and unexpired uploads are never touched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest
import requests

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import md5
from tests.support.http_api import Http, content_range
from tests.support.servers import ROOT
from tests.support.uploads import age

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024
MIB = 1024 * KIB


@pytest.fixture(params=["filesystem", "s3"])
def storage(request: Any) -> Any:
    """Where the bytes go: the media root, or a bucket of moto's S3 server."""
    return request.getfixturevalue("s3") if request.param == "s3" else None


@pytest.fixture
def server(gunicorn: Any, storage: Any) -> Any:
    return gunicorn(workers=2, settings=storage.settings if storage else {})


@pytest.fixture
def uploads(server: Any, user: Any) -> dict[str, str]:
    """Through the server: an expired and a fresh incomplete upload, and an old completed one."""
    http = Http(server, user)
    data = os.urandom(6 * MIB + 5)  # more than one S3 part, plus a tail
    ids = {}
    for name in ("expired", "fresh"):
        ids[name] = http.chunk(data[: 6 * MIB], content_range(0, 6 * MIB, len(data)))["id"]
    done = http.chunk(data, content_range(0, len(data), len(data)))["id"]
    assert http.complete(done, md5(data))["status"] == "COMPLETE"
    ids["completed"] = done
    age(ids["expired"])
    age(ids["completed"], days=30)
    return ids


def names_of(upload_id: str) -> str:
    return str(ChunkedUpload.objects.get(pk=upload_id).file.name)


def stored_anywhere(storage: Any, media_root: Any, name: str) -> bool:
    """Whether anything of the upload stored as ``name`` is left: the file, or its parts."""
    stem = name.rsplit(".", 1)[0]
    if storage is None:
        return any(path.name.startswith(os.path.basename(stem)) for path in media_root.rglob("*"))
    listed = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=stem)
    pending = storage.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=stem)
    return bool(listed.get("Contents") or pending.get("Uploads"))


def assert_only_the_expired_upload_went(
    uploads: dict[str, str],
    names: dict[str, str],
    storage: Any,
    media_root: Any,
    *,
    fresh_offset: int = 6 * MIB,
    completed_size: int = 6 * MIB + 5,
) -> None:
    assert not ChunkedUpload.objects.filter(pk=uploads["expired"]).exists()
    assert not stored_anywhere(storage, media_root, names["expired"])
    assert ChunkedUpload.objects.get(pk=uploads["fresh"]).offset == fresh_offset
    assert stored_anywhere(storage, media_root, names["fresh"])
    completed = ChunkedUpload.objects.get(pk=uploads["completed"])
    assert completed.status == ChunkedUpload.COMPLETE
    assert completed.file.size == completed_size


def delete_expired_uploads(server: Any) -> subprocess.CompletedProcess[str]:
    """``manage.py delete_expired_uploads``, run as its own process beside ``server``."""
    return subprocess.run(
        [sys.executable, "manage.py", "delete_expired_uploads"],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_beside_the_server_cleans_only_expired_incomplete_uploads(
    server: Any, uploads: dict[str, str], storage: Any, media_root: Any
) -> None:
    names = {key: names_of(upload_id) for key, upload_id in uploads.items()}

    finished = delete_expired_uploads(server)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "Deleted 1 expired upload(s)."
    assert_only_the_expired_upload_went(uploads, names, storage, media_root)


# Parallel uploads, in chunks of S3's smallest part: three chunks, the last a short tail.
PARALLEL_CHUNK = 5 * MIB
PARALLEL_DATA_SIZE = 2 * PARALLEL_CHUNK + 5


@pytest.fixture
def parallel_uploads(server: Any, user: Any) -> dict[str, str]:
    """As ``uploads``, parallel: the incomplete ones hold the first chunk and the tail, ahead
    of the gap between them (on S3: a part of the multipart upload, and a staged object)."""
    http = Http(server, user)
    data = os.urandom(PARALLEL_DATA_SIZE)

    def parallel_upload(starts: tuple[int, ...]) -> str:
        created = http.create(len(data), parallel=True, chunk_size=PARALLEL_CHUNK)
        assert created["__typename"] == "ChunkedUpload", created
        for start in starts:
            sent = http.send_range(created["id"], data, start, PARALLEL_CHUNK)
            assert sent["__typename"] == "ChunkedUpload", sent
        return str(created["id"])

    ids = {name: parallel_upload((2 * PARALLEL_CHUNK, 0)) for name in ("expired", "fresh")}
    ids["completed"] = parallel_upload((PARALLEL_CHUNK, 2 * PARALLEL_CHUNK, 0))
    assert http.complete(ids["completed"], md5(data))["status"] == "COMPLETE"
    age(ids["expired"])
    age(ids["completed"], days=30)
    return ids


def s3_leftovers(storage: Any, name: str) -> tuple[list[str], list[str]]:
    """The staged objects and the unfinished multipart uploads of the upload stored as
    ``name``."""
    listed = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=f"{name}.parts/")
    pending = storage.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=name)
    return (
        sorted(item["Key"] for item in listed.get("Contents", [])),
        sorted(item["UploadId"] for item in pending.get("Uploads", [])),
    )


def held_on_s3(upload: ChunkedUpload) -> tuple[list[str], list[str]]:
    """What the upload's state says it holds, as ``s3_leftovers`` lists it."""
    pieces = upload.store_state["pieces"].values()
    staged = sorted(piece["staged"] for piece in pieces if "staged" in piece)
    return staged, [upload.store_state["multipart"]]


def test_command_beside_the_server_cleans_only_expired_incomplete_parallel_uploads(
    server: Any, parallel_uploads: dict[str, str], storage: Any, media_root: Any
) -> None:
    names = {key: names_of(upload_id) for key, upload_id in parallel_uploads.items()}
    expired, fresh = (
        ChunkedUpload.objects.get(pk=parallel_uploads[key]) for key in ("expired", "fresh")
    )
    for upload in (expired, fresh):
        assert upload.stored_ranges == [
            [0, PARALLEL_CHUNK - 1],
            [2 * PARALLEL_CHUNK, PARALLEL_DATA_SIZE - 1],
        ]
        if storage is not None:
            # What there is to clean: the tail staged ahead of the gap, and the multipart upload
            # holding the first chunk as its part.
            assert "part" in upload.store_state["pieces"]["0"]
            held = held_on_s3(upload)
            assert len(held[0]) == 1
            assert s3_leftovers(storage, upload.file.name) == held

    finished = delete_expired_uploads(server)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "Deleted 1 expired upload(s)."
    assert_only_the_expired_upload_went(
        parallel_uploads,
        names,
        storage,
        media_root,
        fresh_offset=PARALLEL_CHUNK,
        completed_size=PARALLEL_DATA_SIZE,
    )
    assert ChunkedUpload.objects.get(pk=fresh.pk).stored_ranges == fresh.stored_ranges
    if storage is not None:
        assert s3_leftovers(storage, names["expired"]) == ([], [])
        assert s3_leftovers(storage, names["fresh"]) == held_on_s3(fresh)


def admin_session(server: Any, django_user_model: Any) -> tuple[requests.Session, str]:
    """A superuser signed in to the admin over HTTP, as a browser would; the CSRF token."""
    django_user_model.objects.create_superuser("root", password="root-password")
    session = requests.Session()
    login = f"{server.url}/admin/login/"
    session.get(login, timeout=30).raise_for_status()
    token = session.cookies["csrftoken"]
    response = session.post(
        login,
        data={
            "username": "root",
            "password": "root-password",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        },
        timeout=30,
    )
    assert response.url.endswith("/admin/"), response.url
    return session, session.cookies["csrftoken"]


def test_admin_action_over_http_cleans_only_expired_incomplete_uploads(
    server: Any,
    uploads: dict[str, str],
    storage: Any,
    media_root: Any,
    django_user_model: Any,
) -> None:
    names = {key: names_of(upload_id) for key, upload_id in uploads.items()}
    session, token = admin_session(server, django_user_model)

    response = session.post(
        f"{server.url}/admin/chunked_graphql/chunkedupload/",
        data={
            "action": "delete_expired",
            "_selected_action": list(uploads.values()),
            "csrfmiddlewaretoken": token,
        },
        timeout=60,
    )

    assert response.status_code == 200
    assert "Deleted 1 expired upload." in response.text
    assert re.search(r"2 selected uploads are complete or not expired and were kept", response.text)
    assert_only_the_expired_upload_went(uploads, names, storage, media_root)

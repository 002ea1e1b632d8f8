"""Against gunicorn: the app dropped into a project that uses graphene-file-upload
(tests/support/project_site). The project's own mutations, one taking graphene-file-upload's
``Upload`` (``setAvatar``) and one the app's (``setBanner``), read the file and save it to a
model's ``FileField``; the app's mutations upload beside them. Every test runs at the four
endpoints the project serves:

- ``/graphql/``: the app's endpoint, the schema keeping graphene-file-upload's scalar;
- ``/app-first/graphql/``: the app's endpoint, the schema keeping the app's scalar;
- ``/legacy/graphql/`` and ``/legacy/app-first/graphql/``: graphene-file-upload's own view,
  which the project keeps for other URLs, with the same two schemas.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.http_api import Http, content_range
from tests.support.project_site import SERVER_SETTINGS
from tests.support.project_site.models import Profile
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

PICTURE = "received name size contentType multipleChunks readMd5 chunksMd5 savedAs"
SET_AVATAR = f"mutation($file: Upload!) {{ setAvatar(file: $file) {{ {PICTURE} }} }}"
SET_BOTH = (
    "mutation($avatar: Upload!, $banner: Upload!) {"
    f" setAvatar(file: $avatar) {{ {PICTURE} }} setBanner(file: $banner) {{ {PICTURE} }} }}"
)

# Over 2.5 MB: the app spools a part a project reads to a temporary file beyond that, and
# Django's parser (graphene-file-upload's view) receives it as a TemporaryUploadedFile.
LARGE = os.urandom(3 * 1024 * 1024 + 123)

# (path, the class the project's resolver receives with one large file, with several files)
ENDPOINTS = {
    "app-view": ("/graphql/", "StreamedPart", "ReceivedFile"),
    "app-view-app-scalar": ("/app-first/graphql/", "StreamedPart", "ReceivedFile"),
    "legacy-view": ("/legacy/graphql/", "TemporaryUploadedFile", "InMemoryUploadedFile"),
    "legacy-view-app-scalar": ("/legacy/app-first/graphql/", "ReceivedFile", "ReceivedFile"),
}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def saved(media_root: Path, name: str) -> bytes:
    return (media_root / name).read_bytes()


@pytest.fixture
def project(gunicorn: Any) -> Any:
    return gunicorn(workers=1, settings=SERVER_SETTINGS)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_project_mutation_saves_the_one_file_of_a_request(
    project: Any, user: Any, media_root: Path, endpoint: str
) -> None:
    path, received, _ = ENDPOINTS[endpoint]
    http = Http(project, user, url=project.url + path)

    data = http.post_files(SET_AVATAR, {}, {"file": ("me.png", LARGE, "image/png")})

    picture = data["setAvatar"]
    assert picture == {
        "received": received,
        "name": "me.png",
        "size": len(LARGE),
        "contentType": "image/png",
        "multipleChunks": True,
        "readMd5": md5(LARGE),
        "chunksMd5": md5(LARGE),
        "savedAs": picture["savedAs"],
    }
    assert picture["savedAs"].startswith("avatars/me")
    assert saved(media_root, picture["savedAs"]) == LARGE
    assert Profile.objects.get(user=user).avatar.name == picture["savedAs"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_project_mutations_save_each_file_of_a_request_with_two(
    project: Any, user: Any, media_root: Path, endpoint: str
) -> None:
    path, _, received = ENDPOINTS[endpoint]
    http = Http(project, user, url=project.url + path)
    avatar, banner = b"avatar bytes " * 100, b"banner"

    data = http.post_files(
        SET_BOTH,
        {},
        {"avatar": ("a.png", avatar, "image/png"), "banner": ("b.jpg", banner, "image/jpeg")},
    )

    assert data["setAvatar"]["received"] == data["setBanner"]["received"] == received
    for field, name, content, content_type in [
        ("setAvatar", "a.png", avatar, "image/png"),
        ("setBanner", "b.jpg", banner, "image/jpeg"),
    ]:
        picture = data[field]
        assert (picture["name"], picture["size"], picture["contentType"]) == (
            name,
            len(content),
            content_type,
        )
        assert picture["readMd5"] == picture["chunksMd5"] == md5(content)
        assert picture["multipleChunks"] is False
        assert saved(media_root, picture["savedAs"]) == content
    profile = Profile.objects.get(user=user)
    assert (profile.avatar.name, profile.banner.name) == (
        data["setAvatar"]["savedAs"],
        data["setBanner"]["savedAs"],
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_apps_upload_works_beside_them(project: Any, user: Any, endpoint: str) -> None:
    """The app's uploadChunk and completeUpload in the project's schema, at its endpoint (which
    streams the chunk) and at graphene-file-upload's view (the chunk received by Django)."""
    path, _, _ = ENDPOINTS[endpoint]
    http = Http(project, user, url=project.url + path)
    half = len(LARGE) // 2

    first = http.chunk(LARGE[:half], content_range(0, half, len(LARGE)), filename="v.bin")
    assert first["__typename"] == "ChunkedUpload", first
    rest = content_range(half, len(LARGE) - half, len(LARGE))
    second = http.chunk(LARGE[half:], rest, first["id"])
    assert second["offset"] == len(LARGE), second
    completed = http.complete(first["id"], md5(LARGE))

    assert completed["status"] == "COMPLETE", completed
    assert stored_bytes(first["id"]) == LARGE
    assert ChunkedUpload.objects.count() == 1

"""Security, over real HTTP to gunicorn (the stored-path property runs through Django's test
client, for speed, in tests/api/test_security.py):

- With USER_RESTRICTED (the default) an upload exists for its owner only: for another user and
  for an anonymous caller, every query and mutation, also when posted to the upload's own url,
  answers exactly as for an upload that does not exist, and changes nothing.
- A cross-site request that carries the session cookie but no CSRF token is refused, whatever
  its body type, and changes nothing.
- A stored file never lies outside the storage root, whatever the filename or the PATH setting.
- The example site hands no upload's bytes to another user or to an anonymous caller, through
  any URL the API hands out or the site serves.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import (
    GET_UPLOAD,
    UPLOAD_CHUNK,
    md5,
)
from tests.support.http_api import Http
from tests.support.servers import GunicornServer
from tests.support.uploads import DATA, UNKNOWN_ID, files_under, stored_bytes, stored_offset

pytestmark = pytest.mark.django_db(transaction=True)

EVIL = "https://evil.example"
KIB = 1024


def snapshot(media_root: Path) -> list[tuple[Any, bytes]]:
    """Every upload's row (a parallel upload's stored ranges, hash state and chunk checksums
    with it) and stored bytes, and every stored file."""
    uploads = [
        (row, stored_bytes(row["id"])) for row in ChunkedUpload.objects.order_by("pk").values()
    ]
    return [*uploads, ("files", "\n".join(files_under(media_root)).encode())]


# USER_RESTRICTED -------------------------------------------------------------------------------


class Owned:
    """A server, its owner's client, and two uploads of the owner: one half done (10 of DATA's
    20 bytes), one complete."""

    def __init__(self, server: GunicornServer, owner: Http) -> None:
        self.server = server
        self.owner = owner
        self.partial = owner.chunk(DATA[:10], "bytes 0-9/20")
        self.complete = owner.chunk(DATA, "bytes 0-19/20")
        assert owner.complete(self.complete["id"], md5(DATA))["status"] == "COMPLETE"

    def unknown_url(self) -> str:
        return f"{self.server.graphql_url}{UNKNOWN_ID}/"


@pytest.fixture
def owned(gunicorn: Any, user: Any) -> Owned:
    server = gunicorn(workers=1)
    return Owned(server, Http(server, user))


@pytest.fixture(params=["other user", "anonymous"])
def intruder(request: Any, owned: Owned) -> Http:
    who = request.getfixturevalue("other_user") if request.param == "other user" else None
    return Http(owned.server, who)


def test_another_callers_queries_see_none_of_the_owners_uploads(
    owned: Owned, intruder: Http
) -> None:
    for upload in (owned.partial, owned.complete):
        assert intruder.get(upload["id"]) is None
        assert intruder.get(upload["id"], url=upload["url"]) is None
        assert intruder.get(uuid.UUID(upload["id"]).hex.upper()) is None
    for status in (None, "UPLOADING", "COMPLETE"):
        assert intruder.list(status) == []
    # The same queries by the owner find them: the answers above are the isolation at work.
    assert owned.owner.get(owned.partial["id"], url=owned.partial["url"])["offset"] == 10
    assert len(owned.owner.list()) == 2


def test_another_callers_queries_over_get_see_none_of_the_owners_uploads(
    owned: Owned, intruder: Http
) -> None:
    response = intruder.raw_get(
        params={"query": GET_UPLOAD, "variables": json.dumps({"id": owned.partial["id"]})},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"chunkedUpload": None}}


def test_another_callers_mutations_on_the_owners_uploads_are_not_found_and_change_nothing(
    owned: Owned, intruder: Http, media_root: Path
) -> None:
    before = snapshot(media_root)

    def attempts(upload_id: str) -> list[dict[str, Any]]:
        return [
            intruder.chunk(DATA[10:], "bytes 10-19/20", upload_id=upload_id),
            intruder.complete(upload_id, md5(DATA)),
            intruder.cancel(upload_id),
        ]

    for upload in (owned.partial, owned.complete):
        answers = attempts(upload["id"])
        assert [a["__typename"] for a in answers] == ["UploadNotFound"] * 3
        # Exactly the answers for an upload that does not exist: nothing tells them apart.
        assert answers == attempts(UNKNOWN_ID)

    assert snapshot(media_root) == before
    # The owner's upload is intact and still theirs to finish.
    assert owned.owner.chunk(DATA[10:], "bytes 10-19/20", owned.partial["id"])["offset"] == 20
    assert owned.owner.complete(owned.partial["id"], md5(DATA))["status"] == "COMPLETE"


def test_another_callers_requests_posted_to_the_owners_upload_url_are_not_found(
    owned: Owned, intruder: Http, media_root: Path
) -> None:
    before = snapshot(media_root)

    def attempts(url: str) -> list[dict[str, Any]]:
        return [
            intruder.chunk(DATA[10:], "bytes 10-19/20", filename=None, url=url),
            intruder.chunk(DATA[10:], "bytes 10-19/20", filename="mine.bin", url=url),
            intruder.complete(None, md5(DATA), url=url),
        ]

    for upload in (owned.partial, owned.complete):
        answers = attempts(upload["url"])
        assert [a["__typename"] for a in answers] == ["UploadNotFound"] * 3
        assert answers == attempts(owned.unknown_url())

    assert snapshot(media_root) == before
    # The same request by the owner continues the upload at that url.
    continued = owned.owner.chunk(DATA[10:], "bytes 10-19/20", url=owned.partial["url"])
    assert continued["id"] == owned.partial["id"]
    assert stored_offset(owned.partial["id"]) == 20


# The same for parallel uploads: one with its first chunk and its last (ahead of the gap) stored,
# one complete.
PARALLEL_CHUNK = 64 * KIB  # the smallest a parallel upload may use on the file system


class OwnedParallel:
    """The owner's two parallel uploads of ``data``, three chunks long: ``partial`` holds the
    first chunk and the last, ``complete`` all of them, completed."""

    def __init__(self, owner: Http) -> None:
        self.owner = owner
        self.data = os.urandom(2 * PARALLEL_CHUNK + 10)
        self.partial = self.create()
        for start in (2 * PARALLEL_CHUNK, 0):
            self.owner.send_range(self.partial["id"], self.data, start, PARALLEL_CHUNK)
        self.complete = self.create()
        for start in (0, PARALLEL_CHUNK, 2 * PARALLEL_CHUNK):
            self.owner.send_range(self.complete["id"], self.data, start, PARALLEL_CHUNK)
        assert owner.complete(self.complete["id"], md5(self.data))["status"] == "COMPLETE"

    def create(self) -> dict[str, Any]:
        created = self.owner.create(len(self.data), parallel=True, chunk_size=PARALLEL_CHUNK)
        assert created["__typename"] == "ChunkedUpload", created
        return created


@pytest.fixture
def owned_parallel(owned: Owned) -> OwnedParallel:
    return OwnedParallel(owned.owner)


def test_another_callers_queries_see_none_of_the_owners_parallel_uploads(
    owned_parallel: OwnedParallel, intruder: Http
) -> None:
    for upload in (owned_parallel.partial, owned_parallel.complete):
        assert intruder.get(upload["id"]) is None
        assert intruder.get(upload["id"], url=upload["url"]) is None
        assert intruder.get(uuid.UUID(upload["id"]).hex.upper()) is None
    for status in (None, "UPLOADING", "COMPLETE"):
        assert intruder.list(status) == []
    # The owner finds them, the missing chunk too: the answers above are the isolation at work.
    partial = owned_parallel.owner.get(owned_parallel.partial["id"])
    gap = {"start": PARALLEL_CHUNK, "end": 2 * PARALLEL_CHUNK - 1}
    assert (partial["parallel"], partial["missingRanges"]) == (True, [gap])
    listed = {upload["id"] for upload in owned_parallel.owner.list()}
    assert {owned_parallel.partial["id"], owned_parallel.complete["id"]} <= listed


def test_another_callers_mutations_on_the_owners_parallel_uploads_are_not_found_and_change_nothing(
    owned_parallel: OwnedParallel, intruder: Http, media_root: Path
) -> None:
    data = owned_parallel.data
    before = snapshot(media_root)

    def attempts(upload_id: str) -> list[dict[str, Any]]:
        return [
            # The missing chunk, then one stored already (a re-sent chunk is answered with the
            # upload, for its owner).
            intruder.send_range(upload_id, data, PARALLEL_CHUNK, PARALLEL_CHUNK),
            intruder.send_range(upload_id, data, 0, PARALLEL_CHUNK),
            intruder.complete(upload_id, md5(data)),
            intruder.cancel(upload_id),
        ]

    for upload in (owned_parallel.partial, owned_parallel.complete):
        answers = attempts(upload["id"])
        assert [a["__typename"] for a in answers] == ["UploadNotFound"] * 4
        # Exactly the answers for an upload that does not exist: nothing tells them apart.
        assert answers == attempts(UNKNOWN_ID)

    assert snapshot(media_root) == before
    # The owner's upload is intact and still theirs to finish.
    upload_id = owned_parallel.partial["id"]
    finished = owned_parallel.owner.send_range(upload_id, data, PARALLEL_CHUNK, PARALLEL_CHUNK)
    assert finished["offset"] == len(data)
    assert owned_parallel.owner.complete(upload_id, md5(data))["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == data


# CSRF ------------------------------------------------------------------------------------------


def session_cookie(user: Any) -> dict[str, str]:
    """The session cookie of ``user`` signed in, as a browser holds it."""
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return {name: client.cookies[name].value}


def cancel_mutation(upload_id: str) -> str:
    return f'mutation {{ cancelUpload(uploadId: "{upload_id}") {{ __typename }} }}'


NEW_UPLOAD = {"contentRange": "bytes 0-9/20", "filename": "forged.bin"}


def continue_upload(upload_id: str) -> dict[str, Any]:
    return {"uploadId": upload_id, "contentRange": "bytes 10-19/20"}


def post_with_token(url: str, cookies: dict[str, str], origin: str) -> requests.Response:
    """A new upload with a valid CSRF token (cookie and header), sent from ``origin``."""
    token = _get_new_csrf_string()
    return Http(
        url=url,
        cookies={**cookies, django_settings.CSRF_COOKIE_NAME: token},
        headers={"Origin": origin, "X-CSRFToken": token},
    ).send(UPLOAD_CHUNK, NEW_UPLOAD, file=DATA[:10])


def browser(url: str, cookies: dict[str, str], **headers: str) -> Http:
    """A browser holding ``cookies`` sending to ``url``, with extra ``headers``."""
    return Http(url=url, cookies=cookies, headers=headers)


# Each sends, with the session cookie, a request a page of another site could make a browser
# send (plus two a script could: a JSON body, a token with a foreign Origin); ``upload_id`` is a
# half-done upload of the signed-in user.
CrossSite = Callable[[str, dict[str, str], str], requests.Response]
CROSS_SITE: dict[str, CrossSite] = {
    "new-upload-origin-of-another-site": lambda url, cookies, upload_id: browser(
        url, cookies, Origin=EVIL
    ).send(UPLOAD_CHUNK, NEW_UPLOAD, file=DATA[:10]),
    "new-upload-referer-of-another-site": lambda url, cookies, upload_id: browser(
        url, cookies, Referer=f"{EVIL}/page"
    ).send(UPLOAD_CHUNK, NEW_UPLOAD, file=DATA[:10]),
    "new-upload-no-origin-or-referer": lambda url, cookies, upload_id: browser(url, cookies).send(
        UPLOAD_CHUNK, NEW_UPLOAD, file=DATA[:10]
    ),
    "next-chunk-origin-of-another-site": lambda url, cookies, upload_id: browser(
        url, cookies, Origin=EVIL
    ).send(UPLOAD_CHUNK, continue_upload(upload_id), file=DATA[10:]),
    "next-chunk-posted-to-the-upload-url": lambda url, cookies, upload_id: browser(
        f"{url}{upload_id}/", cookies, Origin=EVIL
    ).send(UPLOAD_CHUNK, {"contentRange": "bytes 10-19/20"}, file=DATA[10:]),
    "csrf-cookie-without-the-token": lambda url, cookies, upload_id: browser(
        url, {**cookies, django_settings.CSRF_COOKIE_NAME: _get_new_csrf_string()}, Origin=EVIL
    ).send(UPLOAD_CHUNK, NEW_UPLOAD, file=DATA[:10]),
    "token-sent-from-another-origin": lambda url, cookies, upload_id: post_with_token(
        url, cookies, origin=EVIL
    ),
    "urlencoded-form-cancelling": lambda url, cookies, upload_id: browser(
        url, cookies, Origin=EVIL
    ).raw(data={"query": cancel_mutation(upload_id)}),
    "text-plain-form-cancelling": lambda url, cookies, upload_id: browser(
        url, cookies, Origin=EVIL
    ).raw(
        headers={"Content-Type": "text/plain"},
        data=f"query={cancel_mutation(upload_id)}".encode(),
    ),
    "json-cancelling": lambda url, cookies, upload_id: browser(url, cookies, Origin=EVIL).raw(
        json={"query": cancel_mutation(upload_id)}
    ),
}


@pytest.mark.parametrize("case", list(CROSS_SITE))
def test_cross_site_request_with_the_session_cookie_and_no_valid_token_is_refused(
    gunicorn: Any, user: Any, media_root: Path, case: str
) -> None:
    server = gunicorn(workers=1)
    started = Http(server, user).chunk(DATA[:10], "bytes 0-9/20")
    before = snapshot(media_root)

    response = CROSS_SITE[case](server.graphql_url, session_cookie(user), started["id"])

    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert "CSRF" in response.json()["errors"][0]["message"]
    assert snapshot(media_root) == before


def test_mutation_in_a_get_request_with_the_session_cookie_is_refused(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    server = gunicorn(workers=1)
    started = Http(server, user).chunk(DATA[:10], "bytes 0-9/20")
    before = snapshot(media_root)

    response = Http(server, cookies=session_cookie(user)).raw_get(
        params={"query": cancel_mutation(started["id"])},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 405, response.text
    assert response.json()["errors"]
    assert snapshot(media_root) == before


def test_same_site_request_with_the_session_cookie_and_token_is_accepted(
    gunicorn: Any, user: Any
) -> None:
    """The control for the refusals above: the same cookie, with the token, is signed in."""
    server = gunicorn(workers=1)

    response = post_with_token(server.graphql_url, session_cookie(user), origin=server.url)

    assert response.status_code == 200, response.text
    result = response.json()["data"]["uploadChunk"]
    assert result["__typename"] == "ChunkedUpload", result
    assert ChunkedUpload.objects.get(pk=result["id"]).user == user


def test_the_file_parts_own_filename_never_shapes_the_stored_name_over_gunicorn(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    """The multipart part's filename (not the ``filename`` argument) is the client's too."""
    server = gunicorn(workers=1)
    response = Http(server, user).send(
        UPLOAD_CHUNK,
        {"contentRange": "bytes 0-19/20", "filename": "f.bin"},
        file=DATA,
        part_filename="../../../outside.bin",
    )

    result = response.json()["data"]["uploadChunk"]
    name = ChunkedUpload.objects.get(pk=result["id"]).file.name
    assert files_under(media_root) == [name]
    assert "outside" not in name
    for depth in range(4):
        assert not media_root.joinpath(*[".."] * depth, "outside.bin").exists()


# The example site serves no upload's bytes -------------------------------------------------------


def raw_get(server: GunicornServer, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (no client-side normalisation of ``..``)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("caller", ["other user", "anonymous"])
def test_example_site_hands_no_uploaded_bytes_to_anyone_else(
    gunicorn: Any, user: Any, request: Any, media_root: Path, caller: str
) -> None:
    # The example site as configured, with its completion hook.
    server = gunicorn(
        workers=1,
        settings={"CHUNKED_GRAPHQL_COMPLETION_HOOK": "example_site.hooks.describe_upload"},
    )
    owner = Http(server, user)
    marker = f"private-{uuid.uuid4().hex}".encode()
    data = marker * 100
    digest = hashlib.md5(data).hexdigest()
    done = owner.chunk(data, f"bytes 0-{len(data) - 1}/{len(data)}")
    completed = owner.complete(done["id"], digest)
    partial = owner.chunk(data[:100], f"bytes 0-99/{len(data)}")
    assert completed["status"] == "COMPLETE"
    names = [ChunkedUpload.objects.get(pk=u["id"]).file.name for u in (done, partial)]
    assert all(marker in (media_root / name).read_bytes() for name in names)

    intruder = Http(
        server, request.getfixturevalue("other_user") if caller == "other user" else None
    )
    headers = {**intruder.headers, "Accept": "*/*"}
    targets = [completed["url"], partial["url"]]
    for upload, name in zip((done, partial), names, strict=True):
        file_url = ChunkedUpload.objects.get(pk=upload["id"]).file.url
        targets += [
            file_url,
            f"/media/{name}",
            f"/{name}",
            f"/static/../media/{name}",
            f"/static/%2e%2e/media/{name}",
            f"/static/..%2fmedia%2f{name}",
            f"/static/{media_root}/{name}",
            f"/graphql/{upload['id']}/{name}",
            f"/admin/chunked_graphql/chunkedupload/{upload['id']}/change/",
        ]
    assert names[0] not in completed["responseData"]  # the hook does not tell where

    upload_urls = {completed["url"], partial["url"]}
    for target in targets:
        path = target.removeprefix(server.url)
        status, content = raw_get(server, path, headers)
        assert marker not in content, path
        if target not in upload_urls:
            assert status in (302, 400, 404), (path, status)
    # Nor through GraphQL at the upload's url: there is nothing to see.
    for upload in (done, partial):
        assert intruder.get(upload["id"], url=upload["url"]) is None

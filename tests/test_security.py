"""Security, over real HTTP to gunicorn (the stored-path property runs through Django's test
client, for speed):

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
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chunked_graphql.checks import check_settings
from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token
from tests.graphql_client import (
    GET_UPLOAD,
    UPLOAD_CHUNK,
    GraphQLClient,
    md5,
)
from tests.http_api import Http
from tests.servers import GunicornServer
from tests.support import DATA, UNKNOWN_ID, files_under, stored_bytes, stored_offset

pytestmark = pytest.mark.django_db(transaction=True)

EVIL = "https://evil.example"


def snapshot(media_root: Path) -> list[tuple[str, int, int, bytes]]:
    """Every upload's id, status, offset and stored bytes, and every stored file."""
    uploads = [
        (str(upload.pk), upload.status, upload.offset, stored_bytes(upload.pk))
        for upload in ChunkedUpload.objects.order_by("pk")
    ]
    return [*uploads, ("files", 0, 0, "\n".join(files_under(media_root)).encode())]


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
    response = requests.get(
        owned.server.graphql_url,
        params={"query": GET_UPLOAD, "variables": json.dumps({"id": owned.partial["id"]})},
        headers={**intruder.headers, "Accept": "application/json"},
        timeout=60,
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


# CSRF ------------------------------------------------------------------------------------------


def session_cookie(user: Any) -> dict[str, str]:
    """The session cookie of ``user`` signed in, as a browser holds it."""
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return {name: client.cookies[name].value}


def multipart_upload(variables: dict[str, Any], data: bytes) -> dict[str, Any]:
    """``requests`` arguments for an uploadChunk multipart body, as an HTML form would send."""
    return {
        "data": {
            "operations": json.dumps(
                {"query": UPLOAD_CHUNK, "variables": {**variables, "file": None}}
            ),
            "map": '{"0": ["variables.file"]}',
        },
        "files": {"0": ("chunk", data, "application/octet-stream")},
    }


def cancel_mutation(upload_id: str) -> str:
    return f'mutation {{ cancelUpload(uploadId: "{upload_id}") {{ __typename }} }}'


NEW_UPLOAD = {"contentRange": "bytes 0-9/20", "filename": "forged.bin"}


def continue_upload(upload_id: str) -> dict[str, Any]:
    return {"uploadId": upload_id, "contentRange": "bytes 10-19/20"}


def post_with_token(url: str, cookies: dict[str, str], origin: str) -> requests.Response:
    """A new upload with a valid CSRF token (cookie and header), sent from ``origin``."""
    token = _get_new_csrf_string()
    return requests.post(
        url,
        cookies={**cookies, django_settings.CSRF_COOKIE_NAME: token},
        headers={"Origin": origin, "X-CSRFToken": token},
        timeout=60,
        **multipart_upload(NEW_UPLOAD, DATA[:10]),
    )


# Each sends, with the session cookie, a request a page of another site could make a browser
# send (plus two a script could: a JSON body, a token with a foreign Origin); ``upload_id`` is a
# half-done upload of the signed-in user.
CrossSite = Callable[[str, dict[str, str], str], requests.Response]
CROSS_SITE: dict[str, CrossSite] = {
    "new-upload-origin-of-another-site": lambda url, cookies, upload_id: requests.post(
        url, cookies=cookies, headers={"Origin": EVIL}, timeout=60,
        **multipart_upload(NEW_UPLOAD, DATA[:10]),
    ),
    "new-upload-referer-of-another-site": lambda url, cookies, upload_id: requests.post(
        url, cookies=cookies, headers={"Referer": f"{EVIL}/page"}, timeout=60,
        **multipart_upload(NEW_UPLOAD, DATA[:10]),
    ),
    "new-upload-no-origin-or-referer": lambda url, cookies, upload_id: requests.post(
        url, cookies=cookies, timeout=60, **multipart_upload(NEW_UPLOAD, DATA[:10])
    ),
    "next-chunk-origin-of-another-site": lambda url, cookies, upload_id: requests.post(
        url, cookies=cookies, headers={"Origin": EVIL}, timeout=60,
        **multipart_upload(continue_upload(upload_id), DATA[10:]),
    ),
    "next-chunk-posted-to-the-upload-url": lambda url, cookies, upload_id: requests.post(
        f"{url}{upload_id}/", cookies=cookies, headers={"Origin": EVIL}, timeout=60,
        **multipart_upload({"contentRange": "bytes 10-19/20"}, DATA[10:]),
    ),
    "csrf-cookie-without-the-token": lambda url, cookies, upload_id: requests.post(
        url, cookies={**cookies, django_settings.CSRF_COOKIE_NAME: _get_new_csrf_string()},
        headers={"Origin": EVIL}, timeout=60, **multipart_upload(NEW_UPLOAD, DATA[:10]),
    ),
    "token-sent-from-another-origin": lambda url, cookies, upload_id: post_with_token(
        url, cookies, origin=EVIL
    ),
    "urlencoded-form-cancelling": lambda url, cookies, upload_id: requests.post(
        url, cookies=cookies, headers={"Origin": EVIL}, timeout=60,
        data={"query": cancel_mutation(upload_id)},
    ),
    "text-plain-form-cancelling": lambda url, cookies, upload_id: requests.post(
        url, cookies=cookies, timeout=60,
        headers={"Origin": EVIL, "Content-Type": "text/plain"},
        data=f"query={cancel_mutation(upload_id)}".encode(),
    ),
    "json-cancelling": lambda url, cookies, upload_id: requests.post(
        url, cookies=cookies, headers={"Origin": EVIL}, timeout=60,
        json={"query": cancel_mutation(upload_id)},
    ),
}  # fmt: skip


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

    response = requests.get(
        server.graphql_url,
        params={"query": cancel_mutation(started["id"])},
        cookies=session_cookie(user),
        headers={"Accept": "application/json"},
        timeout=60,
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


# Stored paths ------------------------------------------------------------------------------------

PATH_SEGMENTS = st.sampled_from(
    [
        "..", ".", "", "uploads", "%Y", "%m", "%d", "%%", "%n", "\\", "..\\..", "\x00", "~",
        "\u2215", "\uff0e\uff0e", " ", "C:", "x" * 30, "\u65e5\u672c", "\ud800",
    ]
)  # fmt: skip
# Valid filenames (a refused one never reaches the storage; see tests/test_hostile_input.py), as
# hostile as the contract allows: separators, parent segments, drive letters, Unicode.
HOSTILE_FILENAMES = st.one_of(
    st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30),
    st.lists(
        st.sampled_from(["..", "/", "\\", "etc", "passwd", "C:", "~", "\u2215", "\U0001f4c4"]),
        min_size=1,
        max_size=10,
    ).map("".join),
).filter(str.strip)
# How far below the sandbox MEDIA_ROOT lies: deeper than any PATH drawn can climb. (Nor can a
# PATH drawn be too long for stored names, the other reason the system check refuses one.)
DEPTH = 6


def path_setting_accepted() -> bool:
    """Whether the system check accepts the PATH setting in force."""
    return not [e for e in check_settings() if e.id == "chunked_graphql.E002"]


def path_refused_for_leaving_the_root() -> bool:
    """Whether the system check refuses the PATH setting in force as leaving the storage root
    (rather than as too long)."""
    return any(
        e.id == "chunked_graphql.E002" and "inside the storage root" in e.msg
        for e in check_settings()
    )


def files_outside(root: Path, inside: Path) -> list[str]:
    """Files below ``root`` that do not lie below ``inside`` (symbolic links resolved)."""
    outside = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.realpath(os.path.join(directory, name))
            if os.path.commonpath([path, os.path.realpath(inside)]) != os.path.realpath(inside):
                outside.append(path)
    return outside


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_stored_files_never_leave_the_storage_root_whatever_the_filename_or_path(
    api: GraphQLClient, settings: Any, tmp_path: Path, data: st.DataObject
) -> None:
    sandbox = tmp_path / "sandbox"
    media_root = sandbox.joinpath(*(str(level) for level in range(DEPTH)), "media")
    settings.MEDIA_ROOT = str(media_root)
    segments = data.draw(st.lists(PATH_SEGMENTS, max_size=DEPTH), label="PATH segments")
    path = data.draw(
        st.sampled_from(
            [
                "/".join(segments),
                "\\".join(segments),
                # Absolute, into the sandbox: were it used, the file would land outside.
                str(sandbox / "absolute") + "/" + "/".join(segments),
            ]
        ),
        label="PATH",
    )
    settings.CHUNKED_GRAPHQL_PATH = path
    filename = data.draw(HOSTILE_FILENAMES, label="filename")
    try:
        chunk = api.post(
            UPLOAD_CHUNK, {"contentRange": "bytes 0-19/20", "filename": filename},
            files={"file": DATA},
        )  # fmt: skip
        assert chunk.status_code in (200, 400), chunk.content
        result = (chunk.json().get("data") or {}).get("uploadChunk")
        refused = path_refused_for_leaving_the_root()
        event(f"PATH refused by the system check: {refused}")
        event(f"answer: {result['__typename'] if result else 'a GraphQL error'}")
        # What the system check calls an escape is exactly what is never stored.
        stored = bool(result) and result["__typename"] == "ChunkedUpload"
        assert stored != refused, f"PATH {path!r}: stored {stored}, refused {refused}"
        if stored:
            # The stored name is PATH (normalised) and the id; neither escapes.
            completed = api.complete(result["id"], md5(DATA))
            assert completed["status"] == "COMPLETE", completed
            name = ChunkedUpload.objects.get(pk=result["id"]).file.name
            assert not os.path.isabs(name) and ".." not in name.split("/")
            assert files_under(media_root) == [name]
        else:
            assert ChunkedUpload.objects.count() == 0
            assert files_under(sandbox) == []
        assert files_outside(sandbox, media_root) == []
    finally:
        ChunkedUpload.objects.all().delete()
        shutil.rmtree(sandbox, ignore_errors=True)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["chunked_uploads/%Y", "", "a/./b//c", "..hidden/%d"])
def test_every_path_the_check_accepts_stores_uploads_under_the_storage_root(
    api: GraphQLClient, settings: Any, media_root: Path, path: str
) -> None:
    """The other direction of the property above: an accepted PATH is usable."""
    settings.CHUNKED_GRAPHQL_PATH = path
    assert path_setting_accepted()

    result = api.upload_chunk(DATA, "bytes 0-19/20", filename="../../escape.bin")

    name = ChunkedUpload.objects.get(pk=result["id"]).file.name
    assert files_under(media_root) == [name]
    assert files_outside(media_root.parent, media_root) == []


def test_the_file_parts_own_filename_never_shapes_the_stored_name_over_gunicorn(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    """The multipart part's filename (not the ``filename`` argument) is the client's too."""
    server = gunicorn(workers=1)
    operations = {
        "query": UPLOAD_CHUNK,
        "variables": {"file": None, "contentRange": "bytes 0-19/20", "filename": "f.bin"},
    }
    response = requests.post(
        server.graphql_url,
        headers={"Authorization": f"Bearer {make_token(user)}"},
        data={"operations": json.dumps(operations), "map": '{"0": ["variables.file"]}'},
        files={"0": ("../../../outside.bin", DATA, "application/octet-stream")},
        timeout=60,
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
    # The example site as configured, with its completion hook (which reports the stored name).
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
    stored_as = json.loads(completed["responseData"])["storedAs"]
    targets += [f"/{stored_as}", f"/media/{stored_as}"]

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

"""The app beside graphene-file-upload (tests/support/project_site), through Django's test
client: which ``Upload`` scalar each schema keeps, and how a file part shared between the app's
upload fields and the project's own fields behaves at the app's endpoint and at
graphene-file-upload's view, whichever scalar is kept. The same project over real HTTP is
tests/e2e/test_dropin.py."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import graphene_file_upload.scalars
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

import chunked_graphql.scalars
from chunked_graphql.models import ChunkedUpload
from tests.support.project_site.schema import app_first_schema, kept_upload_scalar, schema
from tests.support.uploads import DATA, stored_bytes

pytestmark = [pytest.mark.urls("tests.support.project_site.urls"), pytest.mark.django_db]

APP_VIEWS = ["/graphql/", "/app-first/graphql/"]
LEGACY_VIEWS = ["/legacy/graphql/", "/legacy/app-first/graphql/"]

RANGE = f"bytes 0-{len(DATA) - 1}/{len(DATA)}"
SELECTION = "{ __typename ... on UploadError { code message } ... on ChunkedUpload { id } }"
PICTURE = "{ received readMd5 chunksMd5 savedAs }"


def chunk(alias: str, variable: str) -> str:
    return (
        f'{alias}: uploadChunk(file: ${variable}, contentRange: $range, filename: "f.bin")'
        f" {SELECTION}"
    )


@pytest.fixture
def client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(
    client: Client, url: str, query: str, files_map: dict[str, list[str]], **variables: Any
) -> Any:
    """A multipart request: each part of ``files_map`` (named for its key, 20 bytes) at the
    variables it names. The response as it came."""
    for names in files_map.values():
        variables.update(dict.fromkeys(names))
    data: dict[str, Any] = {
        "operations": json.dumps({"query": query, "variables": variables}),
        "map": json.dumps(
            {key: [f"variables.{name}" for name in names] for key, names in files_map.items()}
        ),
    }
    for key in files_map:
        data[key] = SimpleUploadedFile(f"{key}.bin", DATA)
    return client.post(url, data)


def post(
    client: Client, url: str, query: str, files_map: dict[str, list[str]], **variables: Any
) -> dict[str, Any]:
    """The body of ``send``'s request, which must be answered with HTTP 200."""
    response = send(client, url, query, files_map, **variables)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_the_schema_keeps_the_upload_scalar_graphene_meets_first() -> None:
    """Both orders: the project's mutations collected before the app's mixin, and after."""
    assert kept_upload_scalar(schema) is graphene_file_upload.scalars.Upload
    assert kept_upload_scalar(app_first_schema) is chunked_graphql.scalars.Upload


# Only where the request limits do not apply: the app's endpoint refuses two upload fields
# taking a file before they run (tests/e2e/test_shared_file_parts.py).
@pytest.mark.parametrize("url", LEGACY_VIEWS)
def test_a_part_mapped_to_two_variables_feeds_one_upload(client: Client, url: str) -> None:
    """Was, at graphene-file-upload's view: both fields stored the part, each wrapping the file
    Django received in a chunk source of its own."""
    fields = f"{chunk('x', 'a')} {chunk('y', 'b')}"
    query = f"mutation($a: Upload, $b: Upload, $range: String) {{ {fields} }}"
    body = post(client, url, query, {"0": ["a", "b"]}, range=RANGE)

    assert body["data"]["x"]["__typename"] == "ChunkedUpload", body
    assert body["data"]["y"]["__typename"] == "MissingChunk", body
    assert ChunkedUpload.objects.count() == 1


# Only where the request limits do not apply: the app's endpoint refuses two upload fields
# taking a file before they run (tests/e2e/test_shared_file_parts.py).
@pytest.mark.parametrize("url", LEGACY_VIEWS)
def test_one_file_variable_in_two_upload_fields_feeds_one_upload(client: Client, url: str) -> None:
    """Was, at graphene-file-upload's view with its scalar kept: both fields stored the part."""
    query = f"mutation($a: Upload, $range: String) {{ {chunk('x', 'a')} {chunk('y', 'a')} }}"
    body = post(client, url, query, {"0": ["a"]}, range=RANGE)

    assert body["data"]["x"]["__typename"] == "ChunkedUpload", body
    assert body["data"]["y"]["__typename"] == "MissingChunk", body
    assert ChunkedUpload.objects.count() == 1


@pytest.mark.parametrize("url", APP_VIEWS + LEGACY_VIEWS)
def test_a_project_field_before_the_apps_shares_the_part(client: Client, url: str) -> None:
    query = (
        f"mutation($a: Upload!, $range: String) {{ y: setAvatar(file: $a) {PICTURE}"
        f" {chunk('x', 'a')} }}"
    )
    body = post(client, url, query, {"0": ["a"]}, range=RANGE)

    assert body["data"]["y"]["readMd5"] == hashlib.md5(DATA).hexdigest(), body
    assert stored_bytes(body["data"]["x"]["id"]) == DATA


def test_a_project_field_after_the_apps_cannot_read_a_streamed_part(client: Client) -> None:
    """The one file of a request at the app's endpoint went from the socket to the storage:
    the later field gets an error saying so, and the upload is unharmed."""
    for url in APP_VIEWS:
        query = (
            f"mutation($a: Upload!, $range: String) {{ {chunk('x', 'a')}"
            f" y: setAvatar(file: $a) {PICTURE} }}"
        )
        body = post(client, url, query, {"0": ["a"]}, range=RANGE)

        assert body["data"]["y"] is None
        assert body["errors"][0]["message"] == (
            "This file part has already been streamed to the storage."
        )
        assert stored_bytes(body["data"]["x"]["id"]) == DATA


@pytest.mark.parametrize("url", APP_VIEWS + LEGACY_VIEWS)
def test_a_project_field_after_the_apps_reads_a_received_file_whole(
    client: Client, url: str
) -> None:
    """A file received whole (a request with several files, or any file at
    graphene-file-upload's view) is left at its start by the upload. Was: read() in the later
    field returned b"" (the upload had read the file to its end)."""
    query = (
        f"mutation($a: Upload!, $b: Upload!, $range: String) {{ {chunk('x', 'a')}"
        f" y: setAvatar(file: $a) {PICTURE} z: setBanner(file: $b) {PICTURE} }}"
    )
    body = post(client, url, query, {"0": ["a"], "1": ["b"]}, range=RANGE)

    digest = hashlib.md5(DATA).hexdigest()
    assert body["data"]["y"]["readMd5"] == body["data"]["y"]["chunksMd5"] == digest, body
    assert body["data"]["z"]["readMd5"] == digest
    assert stored_bytes(body["data"]["x"]["id"]) == DATA


@pytest.mark.parametrize("url", APP_VIEWS + LEGACY_VIEWS)
def test_project_fields_before_and_after_the_apps_both_read_the_part(
    client: Client, url: str
) -> None:
    """The first field receives the one file of the request whole, so the upload reads that
    copy and the last field reads it again. Was: read() in the last field returned b""."""
    query = (
        f"mutation($a: Upload!, $range: String) {{ y: setAvatar(file: $a) {PICTURE}"
        f" {chunk('x', 'a')} z: setBanner(file: $a) {PICTURE} }}"
    )
    body = post(client, url, query, {"0": ["a"]}, range=RANGE)

    digest = hashlib.md5(DATA).hexdigest()
    assert body["data"]["y"]["readMd5"] == body["data"]["z"]["readMd5"] == digest, body
    assert body["data"]["z"]["chunksMd5"] == digest
    assert stored_bytes(body["data"]["x"]["id"]) == DATA


@pytest.mark.parametrize("url", APP_VIEWS + LEGACY_VIEWS)
def test_a_value_that_is_not_a_file_is_a_missing_chunk(client: Client, url: str) -> None:
    """graphene-file-upload's scalar passes any value through; the app's resolvers still take
    only files."""
    query = f"mutation($a: Upload, $range: String) {{ {chunk('x', 'a')} }}"
    response = client.post(
        url,
        json.dumps({"query": query, "variables": {"a": "not a file", "range": RANGE}}),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["data"]["x"]["__typename"] == "MissingChunk"
    assert ChunkedUpload.objects.count() == 0


@pytest.mark.parametrize("files", [1, 2])
def test_a_project_file_over_max_chunk_size_is_refused(
    client: Client, settings: Any, files: int
) -> None:
    """At the app's endpoint every file part is received at most MAX_CHUNK_SIZE bytes far, also
    one that only a project's mutation reads."""
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = len(DATA) - 1
    if files == 1:
        query = "mutation($a: Upload!) { y: setAvatar(file: $a) { size } }"
        files_map = {"0": ["a"]}
    else:
        query = (
            "mutation($a: Upload!, $b: Upload!) {"
            " y: setAvatar(file: $a) { size } z: setBanner(file: $b) { size } }"
        )
        files_map = {"0": ["a"], "1": ["b"]}
    response = send(client, "/graphql/", query, files_map)

    assert response.status_code == 400, response.content
    assert "exceeds MAX_CHUNK_SIZE" in response.json()["errors"][0]["message"]

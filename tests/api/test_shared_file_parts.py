"""One file part feeds at most one of the app's upload operations: the bytes of a request are
stored once, whatever its map or its variables say (the first operation gets the part, the
others a MissingChunk that names why). A project's own mutations still share parts as the
multipart request spec allows.

The app's endpoint refuses such a request before executing it (at most one upload field may
take a file: tests/api/test_limits.py); these requests go through graphene-file-upload's view,
which a project may keep on other URLs with the app's mutations in its schema, and where the
claim of a part is what keeps the bytes from being stored many times over."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import path
from graphene_file_upload.django import FileUploadGraphQLView

from chunked_graphql.models import ChunkedUpload
from example_site.schema import schema
from tests.support.graphql_client import GraphQLClient
from tests.support.uploads import DATA, files_under

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

urlpatterns = [path("legacy/graphql/", FileUploadGraphQLView.as_view(schema=schema))]

CHUNK = "uploadChunk(file: ${var}, contentRange: $range, filename: $name)"
SELECTION = "{ __typename ... on ChunkedUpload { id offset } ... on UploadError { code message } }"


def aliased_chunks(count: int, *, shared_variable: bool) -> str:
    """A mutation of ``count`` aliased uploadChunk fields, all of one variable or each of its
    own."""
    variables = ["$f0: Upload"] if shared_variable else [f"$f{i}: Upload" for i in range(count)]
    fields = [
        f"c{i}: " + CHUNK.replace("{var}", "f0" if shared_variable else f"f{i}") + SELECTION
        for i in range(count)
    ]
    signature = ", ".join([*variables, "$range: String", "$name: String"])
    return f"mutation({signature}) {{ {' '.join(fields)} }}"


def post(api: GraphQLClient, query: str, paths: list[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {"range": f"bytes 0-{len(DATA) - 1}/{len(DATA)}", "name": "a"}
    for mapped in paths:
        variables[mapped.removeprefix("variables.")] = None
    operations = json.dumps({"query": query, "variables": variables})
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api.client.post(
            "/legacy/graphql/",
            {
                "operations": operations,
                "map": json.dumps({"0": paths}),
                "0": SimpleUploadedFile("c.bin", DATA),
            },
        )
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_a_part_mapped_to_several_variables_is_stored_once(api: GraphQLClient, media_root) -> None:
    data = post(
        api, aliased_chunks(5, shared_variable=False), [f"variables.f{i}" for i in range(5)]
    )

    assert data["c0"]["__typename"] == "ChunkedUpload"
    for alias in ("c1", "c2", "c3", "c4"):
        assert data[alias]["__typename"] == "MissingChunk"
    assert ChunkedUpload.objects.count() == 1
    assert len(files_under(media_root)) == 1


def test_one_variable_used_by_several_fields_is_stored_once(api: GraphQLClient) -> None:
    data = post(api, aliased_chunks(3, shared_variable=True), ["variables.f0"])

    assert data["c0"]["__typename"] == "ChunkedUpload"
    assert [data[alias]["__typename"] for alias in ("c1", "c2")] == ["MissingChunk"] * 2
    assert ChunkedUpload.objects.count() == 1


def test_the_refused_operation_says_why(api: GraphQLClient) -> None:
    data = post(api, aliased_chunks(2, shared_variable=True), ["variables.f0"])

    assert data["c1"]["code"] == "MISSING_CHUNK"
    assert "another upload operation" in data["c1"]["message"]


def test_the_first_operation_keeps_every_byte(api: GraphQLClient) -> None:
    data = post(api, aliased_chunks(2, shared_variable=True), ["variables.f0"])

    upload = ChunkedUpload.objects.get(pk=data["c0"]["id"])
    assert data["c0"]["offset"] == len(DATA)
    with upload.file.open("rb") as stored:
        assert stored.read() == DATA

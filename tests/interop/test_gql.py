"""Python ``gql`` (``RequestsHTTPTransport`` with ``FileVar``) against a real gunicorn server,
authenticated with the example site's bearer token: the flow, resuming, typed errors."""

from __future__ import annotations

import io
import os

import pytest
from gql import Client, FileVar, GraphQLRequest, gql
from gql.transport.requests import RequestsHTTPTransport

from example_site.auth import make_token
from tests.support.graphql_client import md5
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 100_000
DATA = os.urandom(350_000)

UPLOAD_CHUNK = gql("""
    mutation UploadChunk($file: Upload, $range: String, $name: String, $id: ID) {
      uploadChunk(file: $file, contentRange: $range, filename: $name, uploadId: $id) {
        __typename
        ... on ChunkedUpload { id url offset }
        ... on UploadError { code message httpStatus }
        ... on OffsetMismatch { expectedOffset providedOffset }
      }
    }
""")
COMPLETE = gql("""
    mutation Complete($id: ID, $checksum: String) {
      completeUpload(uploadId: $id, checksum: $checksum) {
        __typename
        ... on ChunkedUpload { id status offset }
        ... on UploadError { code message }
      }
    }
""")
OFFSET = gql("query Offset($id: ID!) { chunkedUpload(id: $id) { offset status } }")


@pytest.fixture
def client(gunicorn, user):
    server = gunicorn(workers=2)
    transport = RequestsHTTPTransport(
        url=server.graphql_url, headers={"Authorization": f"Bearer {make_token(user)}"}, timeout=30
    )
    return Client(transport=transport)


def send(client, start, upload_id=None, end=None):
    end = min(start + CHUNK, len(DATA)) if end is None else end
    request = GraphQLRequest(
        UPLOAD_CHUNK,
        variable_values={
            "file": FileVar(io.BytesIO(DATA[start:end]), filename="chunk"),
            "range": f"bytes {start}-{end - 1}/{len(DATA)}",
            "name": "data.bin",
            "id": upload_id,
        },
    )
    return client.execute(request, upload_files=True)["uploadChunk"]


def complete(client, upload_id):
    request = GraphQLRequest(COMPLETE, variable_values={"id": upload_id, "checksum": md5(DATA)})
    return client.execute(request)["completeUpload"]


def test_gql_uploads_a_file_in_chunks_with_filevar_and_completes_it(client):
    result = send(client, 0)
    while result["offset"] < len(DATA):
        result = send(client, result["offset"], result["id"])
        assert result["__typename"] == "ChunkedUpload", result
    completed = complete(client, result["id"])
    assert (completed["status"], completed["offset"]) == ("COMPLETE", len(DATA))
    assert stored_bytes(result["id"]) == DATA


def test_gql_resumes_from_the_offset_the_server_reports(client):
    upload_id = send(client, 0)["id"]
    send(client, CHUNK, upload_id)
    # A new process knows only the id: it asks for the offset and goes on from there.
    offset = client.execute(GraphQLRequest(OFFSET, variable_values={"id": upload_id}))
    offset = offset["chunkedUpload"]["offset"]
    assert offset == 2 * CHUNK
    while offset < len(DATA):
        offset = send(client, offset, upload_id)["offset"]
    assert complete(client, upload_id)["status"] == "COMPLETE"
    assert stored_bytes(upload_id) == DATA


def test_gql_receives_a_typed_error_as_an_ordinary_result(client):
    upload_id = send(client, 0)["id"]
    result = send(client, 2 * CHUNK, upload_id)
    assert result == {
        "__typename": "OffsetMismatch",
        "code": "OFFSET_MISMATCH",
        "message": result["message"],
        "httpStatus": 400,
        "expectedOffset": CHUNK,
        "providedOffset": 2 * CHUNK,
    }


def test_gql_sends_chunks_to_the_uploads_own_url(client):
    first = send(client, 0)
    headers = client.transport.headers
    by_url = Client(transport=RequestsHTTPTransport(url=first["url"], headers=headers, timeout=30))
    result = first
    while result["offset"] < len(DATA):
        result = send(by_url, result["offset"])  # no uploadId: the URL names the upload
        assert result["id"] == first["id"], result
    assert complete(client, first["id"])["status"] == "COMPLETE"
    assert stored_bytes(first["id"]) == DATA

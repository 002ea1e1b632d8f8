"""The endpoint: requests the schema cannot express get HTTP 400 with a JSON body, never a 500
or an HTML page; CSRF protects session-authenticated requests (the specification,
docs/specification.md, §2 and §4)."""

import json

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import FILE_MAP, UPLOAD_CHUNK, GraphQLClient

pytestmark = pytest.mark.django_db

OPERATIONS = json.dumps(
    {
        "query": UPLOAD_CHUNK,
        "variables": {"file": None, "contentRange": "bytes 0-2/3", "filename": "a.bin"},
    }
)


@pytest.fixture
def csrf_client(user):
    """A browser-like client: signed in by session cookie, CSRF checks enforced."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def chunk():
    return SimpleUploadedFile("chunk.bin", b"abc")


def assert_json_400(response, fragment):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert fragment in errors[0]["message"]


def test_operations_that_is_not_json_is_a_json_400(client, user):
    client.force_login(user)
    response = client.post("/graphql/", {"operations": "{not json", "map": FILE_MAP, "0": chunk()})
    assert_json_400(response, "'operations' is not valid JSON")


def test_missing_operations_field_is_a_json_400(client, user):
    client.force_login(user)
    response = client.post("/graphql/", {"map": FILE_MAP, "0": chunk()})
    assert_json_400(response, "no 'operations' field")


def test_operations_that_is_not_an_object_is_a_json_400(client, user):
    client.force_login(user)
    response = client.post("/graphql/", {"operations": "[1, 2]", "map": "{}"})
    assert_json_400(response, "must be a JSON object")


def test_map_that_is_not_json_is_a_json_400(client, user):
    client.force_login(user)
    response = client.post("/graphql/", {"operations": OPERATIONS, "map": "{0:", "0": chunk()})
    assert_json_400(response, "'map' is not valid JSON")


@pytest.mark.parametrize(
    "files_map", ['["variables.file"]', '{"0": "variables.file"}', '{"0": [1]}']
)
def test_map_of_the_wrong_shape_is_a_json_400(client, user, files_map):
    client.force_login(user)
    response = client.post("/graphql/", {"operations": OPERATIONS, "map": files_map, "0": chunk()})
    assert_json_400(response, "'map' must be a JSON object")


def test_map_naming_a_missing_file_part_is_a_json_400(client, user):
    client.force_login(user)
    response = client.post("/graphql/", {"operations": OPERATIONS, "map": FILE_MAP})
    assert_json_400(response, "names the part '0', which was not sent")


@pytest.mark.parametrize(
    "path", ["variables.nope", "variables.file.inner", "query.x", "0.variables.file", "", "."]
)
def test_map_path_leading_nowhere_is_a_json_400(client, user, path):
    client.force_login(user)
    files_map = json.dumps({"0": [path]})
    response = client.post("/graphql/", {"operations": OPERATIONS, "map": files_map, "0": chunk()})
    assert_json_400(response, "leads nowhere")


def test_map_path_to_a_value_that_is_not_null_is_a_json_400(client, user):
    client.force_login(user)
    files_map = json.dumps({"0": ["variables.filename"]})
    response = client.post("/graphql/", {"operations": OPERATIONS, "map": files_map, "0": chunk()})
    assert_json_400(response, "does not lead to a null placeholder")


def test_multipart_body_without_boundary_is_a_json_400(csrf_client):
    response = csrf_client.post(
        "/graphql/", data=b"operations=whatever", content_type="multipart/form-data"
    )
    assert_json_400(response, "Malformed multipart body")


def test_too_many_file_parts_is_a_json_400(client, user, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    client.force_login(user)
    parts = {str(i): SimpleUploadedFile(f"{i}.bin", b"x") for i in range(5)}
    response = client.post("/graphql/", {"operations": OPERATIONS, "map": FILE_MAP, **parts})
    assert_json_400(response, "Multipart body refused")
    assert ChunkedUpload.objects.count() == 0


def test_huge_non_file_field_is_a_json_400(client, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(user)
    response = client.post(
        "/graphql/",
        {"operations": OPERATIONS, "map": FILE_MAP, "padding": "x" * 20_000, "0": chunk()},
    )
    assert_json_400(response, "Multipart body refused")
    assert ChunkedUpload.objects.count() == 0


def test_unused_file_parts_are_ignored(api):
    response = api.client.post(
        "/graphql/",
        {"operations": OPERATIONS, "map": FILE_MAP, "0": chunk(), "extra": chunk()},
    )
    assert response.status_code == 200
    assert response.json()["data"]["uploadChunk"]["offset"] == 3


def test_a_file_sent_for_a_string_argument_is_a_graphql_error_not_a_500(api):
    files_map = json.dumps({"0": ["variables.contentRange"]})
    operations = json.dumps(
        {"query": UPLOAD_CHUNK, "variables": {"contentRange": None, "filename": "a.bin"}}
    )
    response = api.client.post(
        "/graphql/", {"operations": operations, "map": files_map, "0": chunk()}
    )
    assert response.status_code == 400
    assert "contentRange" in response.json()["errors"][0]["message"]
    assert ChunkedUpload.objects.count() == 0


def test_json_body_that_is_not_json_is_a_json_400(client):
    response = client.post("/graphql/", data=b"{nope", content_type="application/json")
    assert_json_400(response, "invalid JSON")


def test_mutation_over_get_is_refused_with_json(client):
    response = client.get(
        "/graphql/", {"query": 'mutation { cancelUpload(uploadId: "x") { __typename } }'}
    )
    assert response.status_code == 405
    assert "errors" in response.json()


def test_browser_get_renders_graphiql(client, settings):
    settings.CHUNKED_GRAPHQL_GRAPHIQL = True  # the tests run with DEBUG off, which turns it off
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


# CSRF ------------------------------------------------------------------------------------------


def test_session_authenticated_post_without_csrf_token_is_refused_with_json_403(csrf_client):
    response = csrf_client.post(
        "/graphql/", {"operations": OPERATIONS, "map": FILE_MAP, "0": chunk()}
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "CSRF" in response.json()["errors"][0]["message"]
    assert ChunkedUpload.objects.count() == 0


def test_session_authenticated_json_post_without_csrf_token_is_refused(csrf_client):
    response = csrf_client.post(
        "/graphql/", {"query": "{ chunkedUploads { id } }"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_session_authenticated_post_with_csrf_header_is_accepted(csrf_client):
    token = _get_new_csrf_string()
    csrf_client.cookies["csrftoken"] = token
    response = csrf_client.post(
        "/graphql/",
        {"operations": OPERATIONS, "map": FILE_MAP, "0": chunk()},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert response.json()["data"]["uploadChunk"]["__typename"] == "ChunkedUpload"


def test_session_authenticated_post_with_csrf_form_field_is_accepted(csrf_client):
    token = _get_new_csrf_string()
    csrf_client.cookies["csrftoken"] = token
    response = csrf_client.post(
        "/graphql/",
        # The form field must come before the file parts: the endpoint checks CSRF before it
        # reads a file (scripts send the X-CSRFToken header instead).
        {"csrfmiddlewaretoken": token, "operations": OPERATIONS, "map": FILE_MAP, "0": chunk()},
    )
    assert response.status_code == 200
    assert response.json()["data"]["uploadChunk"]["__typename"] == "ChunkedUpload"


def test_request_without_a_session_needs_no_csrf_token(settings):
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    client = GraphQLClient(Client(enforce_csrf_checks=True))
    result = client.upload_chunk(b"abc", "bytes 0-2/3", filename="a.bin")
    assert result["__typename"] == "ChunkedUpload"


def test_get_sets_the_csrf_cookie_for_browsers(client):
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert "csrftoken" in response.cookies


def test_a_post_sets_the_csrf_cookie_as_graphene_django_does(client, user):
    client.force_login(user)
    response = client.post("/graphql/", {"operations": OPERATIONS, "map": FILE_MAP, "0": chunk()})
    assert response.json()["data"]["uploadChunk"]["__typename"] == "ChunkedUpload"
    assert len(response.cookies["csrftoken"].value) == 32


def test_a_post_renews_the_csrf_cookie_it_carries(client):
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    response = client.post(
        "/graphql/", {"query": "{ __typename }"}, content_type="application/json"
    )
    assert response.status_code == 200
    cookie = response.cookies["csrftoken"]
    assert (cookie.value, cookie["max-age"]) == (token, django_settings.CSRF_COOKIE_AGE)


def raw_upload_body(boundary):
    operations = json.dumps(
        {
            "query": UPLOAD_CHUNK,
            "variables": {"file": None, "contentRange": "bytes 0-9999/10000", "filename": "a"},
        }
    )
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f"{operations}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.file"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="c"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n" + "x" * 10_000 + f"\r\n--{boundary}--\r\n"
    ).encode()


def test_complete_raw_body_is_accepted(api):
    response = api.client.post(
        "/graphql/",
        data=raw_upload_body("BOUNDARY"),
        content_type="multipart/form-data; boundary=BOUNDARY",
    )
    assert response.json()["data"]["uploadChunk"]["offset"] == 10_000


@pytest.mark.parametrize("keep", [50, 300, 5_000, -20])
def test_truncated_body_is_a_json_400_and_stores_nothing(api, keep):
    response = api.client.post(
        "/graphql/",
        data=raw_upload_body("BOUNDARY")[:keep],
        content_type="multipart/form-data; boundary=BOUNDARY",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"]
    assert ChunkedUpload.objects.count() == 0


def test_wrong_boundary_is_a_json_400_and_stores_nothing(api):
    response = api.client.post(
        "/graphql/",
        data=raw_upload_body("BOUNDARY"),
        content_type="multipart/form-data; boundary=SOMETHING-ELSE",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert ChunkedUpload.objects.count() == 0


def test_missing_map_field_is_a_json_400(client, user):
    client.force_login(user)
    response = client.post("/graphql/", {"operations": OPERATIONS, "0": chunk()})
    assert_json_400(response, "no 'map' field")


def test_map_naming_a_text_part_is_a_missing_chunk(api):
    response = api.client.post(
        "/graphql/", {"operations": OPERATIONS, "map": FILE_MAP, "0": "not a file"}
    )
    assert response.status_code == 200
    result = response.json()["data"]["uploadChunk"]
    assert result["__typename"] == "MissingChunk"
    assert ChunkedUpload.objects.count() == 0


def test_urlencoded_body_with_too_many_fields_is_a_json_400(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = client.post(
        "/graphql/",
        data="&".join(f"f{i}=x" for i in range(10)),
        content_type="application/x-www-form-urlencoded",
    )
    assert_json_400(response, "Request body refused")


@pytest.mark.parametrize("content_type", ["application/graphql", "application/json"])
def test_oversized_body_is_a_json_400(client, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = client.post(
        "/graphql/", data="{ chunkedUploads { id } }" + " " * 2_000, content_type=content_type
    )
    assert_json_400(response, "Request body refused")

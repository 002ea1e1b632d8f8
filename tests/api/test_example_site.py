"""The example site: sign-in, the demo account, script authentication and its completion hook."""

import base64
import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from graphene_file_upload.django.testing import file_graphql_query

from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token, user_for_token
from tests.support.graphql_client import GraphQLClient

pytestmark = pytest.mark.django_db


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_demo_user_command_creates_the_account_and_prints_its_credentials():
    out = StringIO()
    call_command("ensure_demo_user", stdout=out)
    assert "'demo'" in out.getvalue() and "'demo-upload'" in out.getvalue()
    demo = get_user_model().objects.get(username="demo")
    assert demo.check_password("demo-upload")
    token = out.getvalue().split("Authorization: Bearer ")[1].strip()
    assert user_for_token(token) == demo


def test_demo_user_command_is_repeatable():
    call_command("ensure_demo_user", stdout=StringIO())
    call_command("ensure_demo_user", stdout=StringIO())
    assert get_user_model().objects.filter(username="demo").count() == 1


def test_demo_user_can_sign_in_through_the_login_page():
    call_command("ensure_demo_user", stdout=StringIO())
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "demo", "password": "demo-upload"}, follow=True
    )
    assert response.status_code == 200
    assert b"Signed in as <strong>demo</strong>" in response.content


def test_home_page_links_to_graphiql_and_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/graphql/"' in response.content
    assert b'href="/accounts/login/"' in response.content


def test_script_with_a_token_uploads_without_a_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    operations = {
        "query": "mutation($f: Upload, $r: String) { uploadChunk(file: $f, contentRange: $r,"
        ' filename: "a.txt") { __typename ... on ChunkedUpload { offset } } }',
        "variables": {"f": None, "r": "bytes 0-2/3"},
    }
    response = client.post(
        "/graphql/",
        {
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.f"]}),
            "0": SimpleUploadedFile("chunk", b"abc"),
        },
        **bearer(make_token(user)),
    )
    assert response.status_code == 200
    assert response.json()["data"]["uploadChunk"] == {"__typename": "ChunkedUpload", "offset": 3}


@pytest.mark.parametrize("token", ["garbage", "", "a:b:c", "a b", "tok\u00e9n"])
def test_an_invalid_token_gets_a_json_401(user, token):
    response = Client().post(
        "/graphql/",
        {"query": "{ chunkedUploads { id } }"},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["errors"][0]["message"] == "Invalid or expired token."


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_bearer_scheme_is_case_insensitive(user, scheme):
    """RFC 9110 §11.1: the scheme is a case-insensitive token."""
    response = Client().post(
        "/graphql/",
        {"query": "{ chunkedUploads { id } }"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"{scheme}   {make_token(user)}",
    )
    assert response.status_code == 200
    assert "errors" not in response.json()


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a,b", "@@@ token", " "])
def test_a_malformed_authorization_header_gets_a_json_401(user, header):
    response = Client().post(
        "/graphql/",
        {"query": "{ chunkedUploads { id } }"},
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 401, header
    assert response.json()["errors"][0]["message"] == "Invalid or expired token."


def test_a_token_expires(user, settings):
    token = make_token(user)
    assert user_for_token(token) == user
    settings.EXAMPLE_SITE_TOKEN_MAX_AGE = -1
    assert user_for_token(token) is None


def test_a_token_is_a_token68(user):
    """RFC 9110 §11.4: what may follow the scheme unquoted."""
    assert re.fullmatch(r"[A-Za-z0-9\-._~+/]+=*", make_token(user))


def test_a_token_stops_working_when_the_password_changes(user):
    token = make_token(user)
    user.set_password("something-new")
    user.save()
    assert user_for_token(token) is None


def test_basic_credentials_do_not_authenticate(user):
    """Browsers resend cached Basic credentials by themselves: they would need CSRF too."""
    credentials = base64.b64encode(b"alice:alice-password").decode()
    response = Client().post(
        "/graphql/",
        {"query": "{ chunkedUploads { id } }"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert response.json() == {"data": {"chunkedUploads": []}}


def test_completion_hook_of_the_example_site_reports_name_and_size(api, settings):
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "example_site.hooks.describe_upload"
    data = b"hello world" * 100
    completed = api.upload_and_complete(data, 400, filename="hello.txt")
    response_data = json.loads(completed["responseData"])
    assert response_data == {"id": completed["id"], "filename": "hello.txt", "size": len(data)}


def test_completion_hook_of_the_example_site_names_no_storage_path(api, settings):
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "example_site.hooks.describe_upload"
    completed = api.upload_and_complete(b"hello world", 4, filename="hello.txt")
    stored_name = ChunkedUpload.objects.get(pk=completed["id"]).file.name
    assert stored_name not in completed["responseData"]
    assert ".done" not in completed["responseData"]


def test_graphql_client_helper_of_graphene_file_upload_works(user):
    """graphene-file-upload's own test helper is one of the clients the contract names."""
    client = Client()
    client.force_login(user)
    response = file_graphql_query(
        "mutation Up($file: Upload, $r: String) { uploadChunk(file: $file, contentRange: $r,"
        ' filename: "x") { __typename ... on ChunkedUpload { offset } } }',
        op_name="Up",
        variables={"r": "bytes 0-3/4"},
        files={"file": SimpleUploadedFile("x", b"abcd")},
        client=client,
    )
    assert response.json()["data"]["uploadChunk"] == {"__typename": "ChunkedUpload", "offset": 4}
    assert GraphQLClient(client).list()[0]["offset"] == 4

"""Uploads through a real HTTP server (pytest-django's live_server) with real clients: the Python
``gql`` client for the flow, the suite's HTTP caller (``tests.support.http_api.Http``, with the
browser's session cookie and CSRF token) for races and malformed bodies."""

import io
import os
import threading

import pytest
from django.conf import settings as django_settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from gql import Client as GqlClient
from gql import FileVar, GraphQLRequest
from gql.transport.requests import RequestsHTTPTransport

from chunked_graphql.models import ChunkedUpload
from chunked_graphql.signals import upload_completed
from tests.support.graphql_client import COMPLETE_UPLOAD, UPLOAD_CHUNK, md5
from tests.support.http_api import Http, content_range

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def credentials(user):
    """Session cookie and CSRF token of a signed-in user, as a browser or script would send."""
    client = Client()
    client.force_login(user)
    token = _get_new_csrf_string()
    return {
        "cookies": {
            django_settings.SESSION_COOKIE_NAME: client.cookies[
                django_settings.SESSION_COOKIE_NAME
            ].value,
            django_settings.CSRF_COOKIE_NAME: token,
        },
        "headers": {"X-CSRFToken": token},
    }


def gql_client(url, credentials):
    transport = RequestsHTTPTransport(url=url, timeout=60, **credentials)
    return GqlClient(transport=transport)


def send_chunk(client, data, start, total, upload_id=None, filename="data.bin"):
    request = GraphQLRequest(
        UPLOAD_CHUNK,
        variable_values={
            "uploadId": upload_id,
            "file": FileVar(io.BytesIO(data), filename="chunk"),
            "contentRange": f"bytes {start}-{start + len(data) - 1}/{total}",
            "filename": filename,
        },
    )
    return client.execute(request, upload_files=True)["uploadChunk"]


def test_gql_client_uploads_a_file_in_chunks_and_completes_it(live_server, credentials):
    data = os.urandom(700_000)
    chunk_size = 128 * 1024
    client = gql_client(f"{live_server.url}/graphql/", credentials)

    result = send_chunk(client, data[:chunk_size], 0, len(data))
    upload_id = result["id"]
    while result["offset"] < len(data):
        start = result["offset"]
        result = send_chunk(client, data[start : start + chunk_size], start, len(data), upload_id)
        assert result["__typename"] == "ChunkedUpload", result

    completed = client.execute(
        GraphQLRequest(
            COMPLETE_UPLOAD, variable_values={"uploadId": upload_id, "checksum": md5(data)}
        )
    )["completeUpload"]

    assert completed["status"] == "COMPLETE"
    with ChunkedUpload.objects.get(pk=upload_id).file.open("rb") as stored:
        assert stored.read() == data


def test_chunks_posted_to_the_upload_url_continue_that_upload(live_server, credentials):
    data = os.urandom(300_000)
    first = send_chunk(
        gql_client(f"{live_server.url}/graphql/", credentials), data[:100_000], 0, len(data)
    )
    assert first["url"] == f"{live_server.url}/graphql/{first['id']}/"

    at_url = gql_client(first["url"], credentials)
    second = send_chunk(at_url, data[100_000:200_000], 100_000, len(data))
    third = send_chunk(at_url, data[200_000:], 200_000, len(data))
    completed = at_url.execute(
        GraphQLRequest(COMPLETE_UPLOAD, variable_values={"checksum": md5(data)})
    )["completeUpload"]

    assert second["id"] == third["id"] == first["id"]
    assert completed["__typename"] == "ChunkedUpload"
    assert completed["status"] == "COMPLETE"
    with ChunkedUpload.objects.get(pk=first["id"]).file.open("rb") as stored:
        assert stored.read() == data


def post_chunk(url, credentials, data, start, total, upload_id):
    caller = Http(url=url, **credentials)
    return caller.send_chunk(data, content_range(start, len(data), total), upload_id, None)


def test_duplicate_chunks_racing_get_one_success_and_one_offset_mismatch(live_server, credentials):
    chunk_size = 1024 * 1024
    rounds = 4
    data = os.urandom(chunk_size * (rounds + 1))
    url = f"{live_server.url}/graphql/"
    client = gql_client(url, credentials)
    upload_id = send_chunk(client, data[:chunk_size], 0, len(data))["id"]

    for round_number in range(1, rounds + 1):
        start = round_number * chunk_size
        piece = data[start : start + chunk_size]
        barrier = threading.Barrier(2)
        answers = []

        def race(piece=piece, start=start, barrier=barrier, answers=answers):
            barrier.wait()
            response = post_chunk(url, credentials, piece, start, len(data), upload_id)
            answers.append((response.status_code, response.json()))

        threads = [threading.Thread(target=race) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert [status for status, _ in answers] == [200, 200]
        results = [body["data"]["uploadChunk"] for _, body in answers]
        assert sorted(result["__typename"] for result in results) == [
            "ChunkedUpload",
            "OffsetMismatch",
        ]
        mismatch = next(r for r in results if r["__typename"] == "OffsetMismatch")
        assert mismatch["expectedOffset"] == start + chunk_size
        assert mismatch["providedOffset"] == start

    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.offset == len(data)
    with upload.file.open("rb") as stored:
        assert stored.read() == data


def test_multipart_body_without_boundary_gets_a_json_400_over_http(live_server, credentials):
    response = Http(url=f"{live_server.url}/graphql/", **credentials).raw(
        data=b"--x\r\nContent-Disposition: form-data; name=operations\r\n\r\n{}\r\n--x--\r\n",
        headers={"Content-Type": "multipart/form-data"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert "Malformed multipart body" in response.json()["errors"][0]["message"]


def test_cross_site_post_with_session_cookie_and_no_token_is_refused_over_http(
    live_server, credentials
):
    session_only = {
        django_settings.SESSION_COOKIE_NAME: credentials["cookies"][
            django_settings.SESSION_COOKIE_NAME
        ]
    }
    response = post_chunk(
        f"{live_server.url}/graphql/",
        {"cookies": session_only, "headers": {"Origin": "https://evil.example"}},
        b"abc",
        0,
        3,
        "0" * 32,
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert "CSRF" in response.json()["errors"][0]["message"]


def test_operations_that_is_not_json_gets_a_json_400_over_http(live_server, credentials):
    response = Http(url=f"{live_server.url}/graphql/", **credentials).raw(
        data={"operations": "{nope", "map": "{}"},
        files={"0": ("chunk", b"abc")},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert "not valid JSON" in response.json()["errors"][0]["message"]


def post_completion(url, credentials, upload_id, checksum):
    return Http(url=url, **credentials).send_complete(upload_id, checksum)


def test_racing_completions_complete_once_and_fire_the_signal_once(live_server, credentials):
    data = os.urandom(3 * 1024 * 1024)
    url = f"{live_server.url}/graphql/"
    client = gql_client(url, credentials)
    upload_id = send_chunk(client, data, 0, len(data))["id"]
    completions = []

    def count(sender, upload, request, **kwargs):
        completions.append(upload.pk)

    upload_completed.connect(count)
    try:
        barrier = threading.Barrier(3)
        answers = []

        def complete():
            barrier.wait()
            response = post_completion(url, credentials, upload_id, md5(data))
            answers.append(response.json()["data"]["completeUpload"])

        threads = [threading.Thread(target=complete) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        upload_completed.disconnect(count)

    assert sorted(answer["__typename"] for answer in answers) == [
        "ChunkedUpload",
        "UploadAlreadyComplete",
        "UploadAlreadyComplete",
    ]
    assert len(completions) == 1
    with ChunkedUpload.objects.get(pk=upload_id).file.open("rb") as stored:
        assert stored.read() == data


def test_a_chunk_racing_a_completion_never_reopens_the_upload(live_server, credentials):
    size = 2 * 1024 * 1024
    data = os.urandom(size)
    url = f"{live_server.url}/graphql/"
    client = gql_client(url, credentials)
    upload_id = send_chunk(client, data, 0, len(data))["id"]
    barrier = threading.Barrier(2)
    answers = {}

    def complete():
        barrier.wait()
        answers["complete"] = post_completion(url, credentials, upload_id, md5(data)).json()[
            "data"
        ]["completeUpload"]

    def resend_last_chunk():
        barrier.wait()
        answers["chunk"] = post_chunk(
            url, credentials, data[-1024:], size - 1024, size, upload_id
        ).json()["data"]["uploadChunk"]

    threads = [threading.Thread(target=complete), threading.Thread(target=resend_last_chunk)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert answers["complete"]["__typename"] == "ChunkedUpload"
    assert answers["chunk"]["__typename"] in {"OffsetMismatch", "UploadAlreadyComplete"}
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.status == ChunkedUpload.COMPLETE
    with upload.file.open("rb") as stored:
        assert stored.read() == data

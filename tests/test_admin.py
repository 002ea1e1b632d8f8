"""The Django admin for uploads."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from chunked_graphql.models import ChunkedUpload
from tests.graphql_client import GraphQLClient

pytestmark = pytest.mark.django_db

DATA = b"0123456789abcdefghij"
CHANGELIST = "admin:chunked_graphql_chunkedupload_changelist"


@pytest.fixture
def uploads(api: GraphQLClient) -> dict[str, str]:
    """Three uploads of ``user``: two still uploading, one complete; name → id."""
    report = api.start(DATA, 8, filename="quarterly-report.pdf")
    photo = api.start(DATA, 8, filename="holiday-photo.jpg")
    done = api.upload_and_complete(DATA, 10, filename="finished-archive.zip")
    assert done["status"] == "COMPLETE"
    return {"report": report["id"], "photo": photo["id"], "done": done["id"]}


def listed_ids(response: Any) -> set[str]:
    return {str(upload.pk) for upload in response.context["cl"].result_list}


def test_changelist_loads_for_superuser(admin_client: Any, uploads: dict[str, str]) -> None:
    response = admin_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert listed_ids(response) == set(uploads.values())
    assert b"quarterly-report.pdf" in response.content


def test_changelist_requires_staff_login(client: Any) -> None:
    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_changelist_filters_by_complete_status(admin_client: Any, uploads: dict[str, str]) -> None:
    response = admin_client.get(reverse(CHANGELIST), {"status__exact": "2"})

    assert response.status_code == 200
    assert listed_ids(response) == {uploads["done"]}


def test_changelist_filters_by_uploading_status(admin_client: Any, uploads: dict[str, str]) -> None:
    response = admin_client.get(reverse(CHANGELIST), {"status__exact": "1"})

    assert response.status_code == 200
    assert listed_ids(response) == {uploads["report"], uploads["photo"]}


def test_changelist_searches_by_filename(admin_client: Any, uploads: dict[str, str]) -> None:
    response = admin_client.get(reverse(CHANGELIST), {"q": "report"})

    assert response.status_code == 200
    assert listed_ids(response) == {uploads["report"]}


def test_changelist_searches_by_id(admin_client: Any, uploads: dict[str, str]) -> None:
    response = admin_client.get(reverse(CHANGELIST), {"q": uploads["photo"]})

    assert response.status_code == 200
    assert listed_ids(response) == {uploads["photo"]}


def test_changelist_searches_by_id_without_hyphens(
    admin_client: Any, uploads: dict[str, str]
) -> None:
    response = admin_client.get(reverse(CHANGELIST), {"q": uploads["done"].replace("-", "")})

    assert response.status_code == 200
    assert listed_ids(response) == {uploads["done"]}


def test_changelist_search_without_match_lists_nothing(
    admin_client: Any, uploads: dict[str, str]
) -> None:
    response = admin_client.get(reverse(CHANGELIST), {"q": "no-such-file"})

    assert response.status_code == 200
    assert listed_ids(response) == set()


def test_change_page_loads(admin_client: Any, uploads: dict[str, str]) -> None:
    url = reverse("admin:chunked_graphql_chunkedupload_change", args=[uploads["done"]])

    response = admin_client.get(url)

    assert response.status_code == 200
    assert b"finished-archive.zip" in response.content
    assert response.context["original"] == ChunkedUpload.objects.get(pk=uploads["done"])


def test_change_page_loads_for_incomplete_upload(
    admin_client: Any, uploads: dict[str, str]
) -> None:
    url = reverse("admin:chunked_graphql_chunkedupload_change", args=[uploads["report"]])

    response = admin_client.get(url)

    assert response.status_code == 200
    assert b"quarterly-report.pdf" in response.content

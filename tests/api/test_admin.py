"""The Django admin for uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import GraphQLClient
from tests.support.uploads import age

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


# What the admin may not change -------------------------------------------------------------------

PROTECTED = ("status", "offset", "total_size", "file", "checksum_algorithm", "created_at")


@pytest.mark.parametrize("field", PROTECTED)
def test_the_change_form_offers_no_input_for_what_the_service_alone_changes(
    admin_client: Any, uploads: dict[str, str], field: str
) -> None:
    url = reverse("admin:chunked_graphql_chunkedupload_change", args=[uploads["report"]])

    form = admin_client.get(url).context["adminform"].form

    assert field not in form.fields


def test_posting_a_complete_status_leaves_an_incomplete_upload_as_it_was(
    admin_client: Any, uploads: dict[str, str]
) -> None:
    url = reverse("admin:chunked_graphql_chunkedupload_change", args=[uploads["report"]])
    before = ChunkedUpload.objects.get(pk=uploads["report"])

    admin_client.post(
        url,
        {
            "filename": before.filename,
            "user": before.user_id,
            "status": ChunkedUpload.COMPLETE,
            "offset": 20,
            "total_size": 8,
            "file": "elsewhere.done",
        },
    )

    after = ChunkedUpload.objects.get(pk=uploads["report"])
    assert (after.status, after.offset, after.total_size, after.file.name) == (
        before.status,
        before.offset,
        before.total_size,
        before.file.name,
    )


def test_there_is_no_add_form(admin_client: Any) -> None:
    response = admin_client.get(reverse("admin:chunked_graphql_chunkedupload_add"))

    assert response.status_code == 403


def test_the_changelist_offers_no_add_button(admin_client: Any, uploads: dict[str, str]) -> None:
    response = admin_client.get(reverse(CHANGELIST))

    assert response.context["has_add_permission"] is False


# Deleting from the admin --------------------------------------------------------------------------

ACTION = "delete_expired"


def run_action(admin_client: Any, action: str, ids: list[str]) -> Any:
    return admin_client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": ids}, follow=True
    )


def stored_name(upload_id: str) -> str:
    return ChunkedUpload.objects.get(pk=upload_id).file.name


def test_expiry_action_deletes_row_and_bytes_of_expired_upload(
    admin_client: Any, uploads: dict[str, str], media_root: Path
) -> None:
    name = stored_name(uploads["report"])
    age(uploads["report"])

    run_action(admin_client, ACTION, [uploads["report"]])

    assert not ChunkedUpload.objects.filter(pk=uploads["report"]).exists()
    assert not (media_root / name).exists()


def test_expiry_action_keeps_selected_uploads_that_have_not_expired(
    admin_client: Any, uploads: dict[str, str], media_root: Path
) -> None:
    name = stored_name(uploads["photo"])

    response = run_action(admin_client, ACTION, [uploads["photo"]])

    assert ChunkedUpload.objects.get(pk=uploads["photo"]).offset == 8
    assert (media_root / name).read_bytes() == DATA[:8]
    assert "1 selected upload is complete or not expired and was kept." in [
        str(message) for message in response.context["messages"]
    ]


def test_expiry_action_never_touches_completed_uploads(
    admin_client: Any, uploads: dict[str, str], media_root: Path
) -> None:
    name = stored_name(uploads["done"])
    age(uploads["done"], days=30)

    run_action(admin_client, ACTION, [uploads["done"]])

    assert ChunkedUpload.objects.get(pk=uploads["done"]).status == ChunkedUpload.COMPLETE
    assert (media_root / name).read_bytes() == DATA


def test_expiry_action_cleans_only_the_selection(
    admin_client: Any, uploads: dict[str, str]
) -> None:
    age(uploads["report"])
    age(uploads["photo"])

    response = run_action(admin_client, ACTION, [uploads["report"]])

    assert not ChunkedUpload.objects.filter(pk=uploads["report"]).exists()
    assert ChunkedUpload.objects.filter(pk=uploads["photo"]).exists()
    assert "Deleted 1 expired upload." in [str(m) for m in response.context["messages"]]


def test_expiry_action_needs_the_delete_permission(
    client: Any, django_user_model: Any, uploads: dict[str, str]
) -> None:
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_chunkedupload"))
    client.force_login(viewer)
    age(uploads["report"])

    run_action(client, ACTION, [uploads["report"]])

    assert ChunkedUpload.objects.filter(pk=uploads["report"]).exists()


def test_admin_delete_of_incomplete_upload_removes_its_bytes(
    admin_client: Any,
    uploads: dict[str, str],
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    name = stored_name(uploads["report"])
    url = reverse("admin:chunked_graphql_chunkedupload_delete", args=[uploads["report"]])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not ChunkedUpload.objects.filter(pk=uploads["report"]).exists()
    assert not (media_root / name).exists()


def test_admin_delete_selected_removes_bytes_of_incomplete_uploads_only(
    admin_client: Any,
    uploads: dict[str, str],
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    names = {key: stored_name(upload_id) for key, upload_id in uploads.items()}

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse(CHANGELIST),
            {
                "action": "delete_selected",
                "_selected_action": list(uploads.values()),
                "post": "yes",
            },
        )

    assert ChunkedUpload.objects.count() == 0
    assert not (media_root / names["report"]).exists()
    assert not (media_root / names["photo"]).exists()
    # A completed upload's file belongs to the project once it is complete.
    assert (media_root / names["done"]).read_bytes() == DATA

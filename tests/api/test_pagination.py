"""chunkedUploads one page at a time (specification §9): newest first, ``first`` clamped to
1..MAX_PAGE_SIZE, ``after`` the last id of the previous page; and uploadLimits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import GraphQLClient
from tests.support.uploads import DATA

pytestmark = pytest.mark.django_db

PAGE = """
query($status: ChunkedUploadStatus, $first: Int, $after: ID) {
    chunkedUploads(status: $status, first: $first, after: $after) { id }
}
"""


def make_uploads(api: GraphQLClient, count: int) -> list[str]:
    """``count`` uploads created a minute apart; their ids, newest first."""
    ids = [api.start(DATA, 5)["id"] for _ in range(count)]
    now = timezone.now()
    for age, upload_id in enumerate(reversed(ids)):
        ChunkedUpload.objects.filter(pk=upload_id).update(created_at=now - timedelta(minutes=age))
    return list(reversed(ids))


def page(api: GraphQLClient, **variables: Any) -> list[str]:
    return [upload["id"] for upload in api.execute(PAGE, variables)["chunkedUploads"]]


def test_uploads_are_listed_newest_first(api: GraphQLClient) -> None:
    newest_first = make_uploads(api, 3)

    assert page(api) == newest_first


def test_first_limits_the_page(api: GraphQLClient) -> None:
    newest_first = make_uploads(api, 3)

    assert page(api, first=2) == newest_first[:2]


def test_after_continues_where_the_previous_page_ended(api: GraphQLClient) -> None:
    newest_first = make_uploads(api, 5)

    assert page(api, first=2, after=newest_first[1]) == newest_first[2:4]


def test_paging_to_the_end_lists_every_upload_once(api: GraphQLClient, settings: Any) -> None:
    newest_first = make_uploads(api, 7)
    seen: list[str] = []
    after = None
    while batch := page(api, first=3, after=after):
        seen += batch
        after = batch[-1]

    assert seen == newest_first


def test_uploads_created_at_the_same_moment_page_by_id_each_once(api: GraphQLClient) -> None:
    """Ties on createdAt are broken by the id, in the database's own order of ids (MariaDB's
    UUID type orders them otherwise than their text), so pages neither repeat nor skip."""
    ids = [api.start(DATA, 5)["id"] for _ in range(5)]
    ChunkedUpload.objects.update(created_at=timezone.now())
    in_one_page = page(api)

    first = page(api, first=2)
    second = page(api, first=2, after=first[-1])
    third = page(api, first=2, after=second[-1])

    assert sorted(in_one_page) == sorted(ids)
    assert first + second + third == in_one_page


def test_without_first_a_page_holds_max_page_size(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_PAGE_SIZE = 2
    newest_first = make_uploads(api, 3)

    assert page(api) == newest_first[:2]


@pytest.mark.parametrize(("first", "expected"), [(1000, 2), (3, 2), (0, 1), (-5, 1)])
def test_first_is_clamped_to_one_through_max_page_size(
    api: GraphQLClient, settings: Any, first: int, expected: int
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_PAGE_SIZE = 2
    make_uploads(api, 3)

    assert len(page(api, first=first)) == expected


def test_an_unknown_after_gives_an_empty_page(api: GraphQLClient) -> None:
    make_uploads(api, 2)

    assert page(api, after="7d1f5c9e-2b4a-4c8d-9e6f-0a1b2c3d4e5f") == []
    assert page(api, after="not-an-id") == []


def test_another_users_upload_as_after_gives_an_empty_page(
    api: GraphQLClient, other_api: GraphQLClient
) -> None:
    make_uploads(api, 2)
    foreign = other_api.start(DATA, 5)["id"]

    assert page(api, after=foreign) == []


def test_the_status_filter_applies_to_every_page(api: GraphQLClient) -> None:
    uploading = make_uploads(api, 3)
    api.upload_and_complete(DATA, 10)

    assert page(api, status="UPLOADING", first=2) == uploading[:2]
    assert page(api, status="UPLOADING", after=uploading[1]) == uploading[2:]


def test_each_chunked_uploads_field_has_its_own_page(api: GraphQLClient) -> None:
    newest_first = make_uploads(api, 3)
    query = f"""{{
        a: chunkedUploads(first: 1) {{ id }}
        b: chunkedUploads(first: 2, after: "{newest_first[0]}") {{ id }}
    }}"""

    data = api.execute(query)

    assert [u["id"] for u in data["a"]] == newest_first[:1]
    assert [u["id"] for u in data["b"]] == newest_first[1:]


# uploadLimits ------------------------------------------------------------------------------

LIMITS = "{ uploadLimits { maxBytes maxChunkSize expiresIn checksumAlgorithm maxPageSize } }"


def test_upload_limits_report_the_defaults(anon_api: GraphQLClient) -> None:
    assert anon_api.execute(LIMITS)["uploadLimits"] == {
        "maxBytes": None,
        "maxChunkSize": 128 * 1024 * 1024,
        "expiresIn": 24 * 60 * 60,
        "checksumAlgorithm": "md5",
        "maxPageSize": 100,
    }


def test_upload_limits_follow_the_settings(anon_api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 5_000_000_000
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 8 * 1024 * 1024
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = timedelta(hours=2)
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    settings.CHUNKED_GRAPHQL_MAX_PAGE_SIZE = 20

    assert anon_api.execute(LIMITS)["uploadLimits"] == {
        "maxBytes": 5_000_000_000,
        "maxChunkSize": 8 * 1024 * 1024,
        "expiresIn": 7200,
        "checksumAlgorithm": "sha256",
        "maxPageSize": 20,
    }


@pytest.mark.parametrize("value", [0, -1, 2.5, "100", True, None])
def test_an_invalid_max_page_size_fails_the_system_check(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_PAGE_SIZE = value

    assert "chunked_graphql.E040" in {message.id for message in run_checks()}

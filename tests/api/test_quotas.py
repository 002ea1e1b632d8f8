"""The per-user quotas on incomplete uploads (specification §9): MAX_INCOMPLETE_UPLOADS and
MAX_INCOMPLETE_BYTES, as the service reserves them for a new upload, and their system checks.

Each creation here is what the service does for a new upload: ``reserve_quota`` and the insert
of the row, in one transaction. Racing creations are in tests/e2e/test_quota_races.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import connection, transaction
from django.utils import timezone

from chunked_graphql.exceptions import QuotaExceeded, QuotaKind
from chunked_graphql.models import AbstractChunkedUpload, ChunkedUpload
from chunked_graphql.services.common import new_upload, write_db
from chunked_graphql.services.quotas import reserve_quota

pytestmark = pytest.mark.django_db

KIB = 1024

Create = Callable[..., AbstractChunkedUpload]


@pytest.fixture
def create(django_capture_on_commit_callbacks: Any) -> Create:
    """``create(owner, total_size)``: a new upload admitted by the quotas, or ``QuotaExceeded``.
    The test's own transaction never commits, so the creation's commit hooks run as it ends."""

    def create(owner: Any, total_size: int = KIB) -> AbstractChunkedUpload:
        alias = write_db()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic(using=alias):
            reserve_quota(owner, total_size, alias)
            upload = new_upload(owner, "quota.bin", total_size=total_size)
            upload.save(force_insert=True)
        return upload

    return create


def refusal(create: Create, owner: Any, total_size: int = KIB) -> QuotaExceeded:
    """The QuotaExceeded that creating one more upload gets; that nothing was created."""
    before = ChunkedUpload.objects.count()
    with pytest.raises(QuotaExceeded) as refused:
        create(owner, total_size)
    assert ChunkedUpload.objects.count() == before
    return refused.value


# MAX_INCOMPLETE_UPLOADS ------------------------------------------------------------------------


def test_uploads_up_to_the_quota_are_admitted(settings: Any, user: Any, create: Create) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 3

    for _ in range(3):
        create(user)

    assert ChunkedUpload.objects.filter(user=user).count() == 3


def test_the_upload_past_the_quota_is_refused_naming_the_quota_and_its_limit(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 2
    create(user)
    create(user)

    refused = refusal(create, user)

    assert (refused.quota, refused.limit) == (QuotaKind.INCOMPLETE_UPLOADS, 2)
    assert "at most 2 incomplete uploads" in refused.message


def test_expired_uploads_not_yet_deleted_do_not_count(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 2
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = timedelta(hours=1)
    expired = create(user)
    create(user)
    ChunkedUpload.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - timedelta(hours=1, seconds=1)
    )

    create(user)

    assert ChunkedUpload.objects.filter(user=user).count() == 3


def test_an_upload_about_to_expire_still_counts(settings: Any, user: Any, create: Create) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = timedelta(hours=1)
    upload = create(user)
    ChunkedUpload.objects.filter(pk=upload.pk).update(
        created_at=timezone.now() - timedelta(minutes=59)
    )

    assert refusal(create, user).quota is QuotaKind.INCOMPLETE_UPLOADS


def test_completed_uploads_do_not_count(settings: Any, user: Any, create: Create) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    completed = create(user)
    ChunkedUpload.objects.filter(pk=completed.pk).update(
        status=ChunkedUpload.COMPLETE, completed_at=timezone.now()
    )

    create(user)

    assert ChunkedUpload.objects.filter(user=user).count() == 2


def test_other_users_uploads_do_not_count(
    settings: Any, user: Any, other_user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 2
    create(other_user)
    create(other_user)

    create(user)
    create(user)

    assert ChunkedUpload.objects.filter(user=user).count() == 2


def test_anonymous_uploads_share_one_count(settings: Any, create: Create) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 2
    create(None)
    create(None)

    refused = refusal(create, None)

    assert (refused.quota, refused.limit) == (QuotaKind.INCOMPLETE_UPLOADS, 2)


def test_anonymous_uploads_do_not_count_for_a_user(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    create(None)

    create(user)

    assert ChunkedUpload.objects.filter(user=user).count() == 1


def test_a_users_uploads_do_not_count_for_anonymous_ones(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    create(user)

    create(None)

    assert ChunkedUpload.objects.filter(user=None).count() == 1


# MAX_INCOMPLETE_BYTES --------------------------------------------------------------------------


def test_declared_sizes_up_to_the_quota_are_admitted(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    create(user, 60 * KIB)

    create(user, 40 * KIB)

    assert ChunkedUpload.objects.filter(user=user).count() == 2


def test_the_upload_whose_declared_size_passes_the_quota_is_refused_naming_it(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    create(user, 60 * KIB)
    create(user, 40 * KIB)

    refused = refusal(create, user, 1)

    assert (refused.quota, refused.limit) == (QuotaKind.INCOMPLETE_BYTES, 100 * KIB)
    assert f"at most {100 * KIB} bytes" in refused.message


def test_an_upload_larger_than_the_byte_quota_alone_is_refused(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB

    assert refusal(create, user, 100 * KIB + 1).quota is QuotaKind.INCOMPLETE_BYTES


def test_the_declared_total_counts_not_the_bytes_stored(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    upload = create(user, 90 * KIB)
    ChunkedUpload.objects.filter(pk=upload.pk).update(offset=10)

    assert refusal(create, user, 20 * KIB).quota is QuotaKind.INCOMPLETE_BYTES


def test_expired_and_completed_uploads_declare_no_bytes(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    expired, completed = create(user, 50 * KIB), create(user, 50 * KIB)
    two_days_ago = timezone.now() - timedelta(days=2)
    ChunkedUpload.objects.filter(pk=expired.pk).update(created_at=two_days_ago)
    ChunkedUpload.objects.filter(pk=completed.pk).update(status=ChunkedUpload.COMPLETE)

    create(user, 100 * KIB)

    assert ChunkedUpload.objects.filter(user=user).count() == 3


def test_an_upload_without_a_declared_size_counts_no_bytes(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    ChunkedUpload.objects.create(user=user, filename="legacy.bin", total_size=None)

    create(user, 100 * KIB)

    assert ChunkedUpload.objects.filter(user=user).count() == 2


def test_another_users_declared_bytes_do_not_count(
    settings: Any, user: Any, other_user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    create(other_user, 100 * KIB)

    create(user, 100 * KIB)

    assert ChunkedUpload.objects.filter(user=user).count() == 1


def test_anonymous_uploads_share_one_byte_count(settings: Any, create: Create) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    create(None, 70 * KIB)

    assert refusal(create, None, 31 * KIB).quota is QuotaKind.INCOMPLETE_BYTES


def test_the_upload_count_is_checked_before_the_bytes(
    settings: Any, user: Any, create: Create
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100 * KIB
    create(user, 100 * KIB)

    refused = refusal(create, user, 1)

    assert (refused.quota, refused.limit) == (QuotaKind.INCOMPLETE_UPLOADS, 1)


# What a reservation costs ----------------------------------------------------------------------


def test_without_quotas_a_reservation_makes_no_query(
    user: Any, django_assert_num_queries: Any
) -> None:
    with transaction.atomic(), django_assert_num_queries(0):
        reserve_quota(user, 10 * KIB**3, "default")


# Lock (none on SQLite, whose writers already wait for each other), then count.
QUERIES_WITH_A_QUOTA = {"sqlite": 1, "postgresql": 2, "mysql": 2}


@pytest.mark.parametrize(
    "quotas",
    [
        {"MAX_INCOMPLETE_UPLOADS": 5},
        {"MAX_INCOMPLETE_BYTES": 5 * KIB},
        {"MAX_INCOMPLETE_UPLOADS": 5, "MAX_INCOMPLETE_BYTES": 5 * KIB},
    ],
)
def test_with_a_quota_a_users_reservation_makes_one_query_and_a_lock(
    settings: Any, user: Any, django_assert_num_queries: Any, quotas: dict[str, int]
) -> None:
    for name, value in quotas.items():
        setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    queries = QUERIES_WITH_A_QUOTA[connection.vendor]
    with transaction.atomic(), django_assert_num_queries(queries):
        reserve_quota(user, KIB, "default")


@pytest.mark.django_db(transaction=True)
def test_a_reservation_outside_a_transaction_is_refused(settings: Any, user: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 5

    with pytest.raises(transaction.TransactionManagementError):
        reserve_quota(user, KIB, "default")


# System checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "check_id"),
    [
        ("MAX_INCOMPLETE_UPLOADS", "chunked_graphql.E050"),
        ("MAX_INCOMPLETE_BYTES", "chunked_graphql.E051"),
    ],
)
@pytest.mark.parametrize("value", [0, -1, 2.5, "100", True])
def test_an_invalid_quota_fails_the_system_check(
    settings: Any, name: str, check_id: str, value: Any
) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert check_id in {message.id for message in run_checks()}


@pytest.mark.parametrize("name", ["MAX_INCOMPLETE_UPLOADS", "MAX_INCOMPLETE_BYTES"])
@pytest.mark.parametrize("value", [None, 1, 10**12])
def test_a_valid_quota_passes_the_system_check(settings: Any, name: str, value: Any) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    ids = {message.id for message in run_checks()}
    assert not ids & {"chunked_graphql.E050", "chunked_graphql.E051"}

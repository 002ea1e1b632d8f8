"""Against gunicorn: a query cannot make a worker list every upload a user has, however many
fields it asks for (specification §9: pages of at most MAX_PAGE_SIZE per field)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.utils import timezone

from chunked_graphql.models import ChunkedUpload
from tests.support.http_api import Http

pytestmark = pytest.mark.django_db(transaction=True)

UPLOADS = 1027
ALIASES = 50


def test_fifty_aliases_over_a_thousand_uploads_answer_fifty_pages(gunicorn: Any, user: Any) -> None:
    """Was: 21.6 s and a 14.5 MB answer from a 4 KB query."""
    now = timezone.now()
    ChunkedUpload.objects.bulk_create(
        ChunkedUpload(
            id=uuid.uuid4(),
            user=user,
            filename=f"f{i}.bin",
            offset=1,
            total_size=2,
            created_at=now,
            checksum_algorithm="md5",
        )
        for i in range(UPLOADS)
    )
    http = Http(gunicorn(workers=1), user)
    query = (
        "{ " + " ".join(f"a{i}: chunkedUploads {{ id filename }}" for i in range(ALIASES)) + " }"
    )

    started = time.monotonic()
    response = http.send(query, {})
    elapsed = time.monotonic() - started

    data = Http.data(response)
    assert all(len(data[f"a{i}"]) == 100 for i in range(ALIASES))
    assert len(response.content) < 5_000_000
    assert elapsed < 5  # a bounded answer; was 21.6 s

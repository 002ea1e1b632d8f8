"""Against gunicorn: one file part cannot be stored many times over by pointing several of the
app's upload fields at it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.http_api import Http
from tests.support.uploads import files_under

pytestmark = pytest.mark.django_db(transaction=True)

PART = b"x" * 64 * 1024
FIELDS = 4
SELECTION = "{ __typename ... on UploadError { code message } }"


def test_fields_sharing_one_file_variable_are_refused_and_store_nothing(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    """Was: the second field answered "the chunk is 4 bytes, contentRange declares 4". Now the
    endpoint refuses the request before executing it: one upload field of a request may take a
    file (tests/api/test_shared_file_parts.py shows the claim that backs this up elsewhere)."""
    http = Http(gunicorn(workers=1), user)
    fields = " ".join(
        f'c{i}: uploadChunk(file: $file, contentRange: $range, filename: "f") {SELECTION}'
        for i in range(FIELDS)
    )
    query = f"mutation($file: Upload, $range: String) {{ {fields} }}"
    operations = {"query": query, "variables": {"file": None, "range": f"bytes 0-3/{len(PART)}"}}

    response = http.raw(
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("part", PART, "application/octet-stream")},
    )

    assert response.status_code == 400, response.text
    assert "upload fields" in response.json()["errors"][0]["message"]
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []

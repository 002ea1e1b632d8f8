"""Against gunicorn: one file part stores its bytes once, however many of the app's upload
fields a request points at it (the unit of this is tests/api/test_shared_file_parts.py)."""

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
FIELDS = 20
SELECTION = "{ __typename ... on UploadError { code message } }"


def test_fields_sharing_one_file_variable_store_the_part_once(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    """Was: the second field answered "the chunk is 4 bytes, contentRange declares 4"."""
    http = Http(gunicorn(workers=1), user)
    fields = " ".join(
        f'c{i}: uploadChunk(file: $file, contentRange: $range, filename: "f") {SELECTION}'
        for i in range(FIELDS)
    )
    query = f"mutation($file: Upload, $range: String) {{ {fields} }}"

    data = http.post(query, {"range": f"bytes 0-{len(PART) - 1}/{len(PART)}"}, file=PART)

    typenames = [data[f"c{i}"]["__typename"] for i in range(FIELDS)]
    assert typenames == ["ChunkedUpload"] + ["MissingChunk"] * (FIELDS - 1)
    assert ChunkedUpload.objects.count() == 1
    assert len(files_under(media_root)) == 1


def test_a_part_mapped_to_many_variables_stores_its_bytes_once(
    gunicorn: Any, user: Any, media_root: Path
) -> None:
    """Was: one 64 KiB part mapped to 1,000 variables stored 1,000 uploads (64 MB)."""
    http = Http(gunicorn(workers=1), user)
    signature = ", ".join([*(f"$f{i}: Upload" for i in range(FIELDS)), "$range: String"])
    fields = " ".join(
        f'c{i}: uploadChunk(file: $f{i}, contentRange: $range, filename: "f") {SELECTION}'
        for i in range(FIELDS)
    )
    variables: dict[str, Any] = {f"f{i}": None for i in range(FIELDS)}
    variables["range"] = f"bytes 0-{len(PART) - 1}/{len(PART)}"
    response = http.raw(
        data={
            "operations": json.dumps(
                {"query": f"mutation({signature}) {{ {fields} }}", "variables": variables}
            ),
            "map": json.dumps({"0": [f"variables.f{i}" for i in range(FIELDS)]}),
        },
        files={"0": ("part", PART, "application/octet-stream")},
    )

    data = Http.data(response)
    assert sum(data[f"c{i}"]["__typename"] == "ChunkedUpload" for i in range(FIELDS)) == 1
    assert ChunkedUpload.objects.count() == 1
    assert sum((media_root / name).stat().st_size for name in files_under(media_root)) == len(PART)

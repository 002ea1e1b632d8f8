"""Stored paths, through Django's test client (a property, for speed): a stored file never lies
outside the storage root, whatever the filename or the PATH setting, and every PATH the system
check accepts is usable.

The rest of the security tests go over real HTTP to gunicorn: tests/e2e/test_security.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chunked_graphql.checks import check_settings
from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import (
    UPLOAD_CHUNK,
    GraphQLClient,
    md5,
)
from tests.support.uploads import DATA, files_under

# Stored paths ------------------------------------------------------------------------------------

PATH_SEGMENTS = st.sampled_from(
    [
        "..", ".", "", "uploads", "%Y", "%m", "%d", "%%", "%n", "\\", "..\\..", "\x00", "~",
        "\u2215", "\uff0e\uff0e", " ", "C:", "x" * 30, "\u65e5\u672c", "\ud800",
    ]
)  # fmt: skip
# Valid filenames (a refused one never reaches the storage; see tests/api/test_hostile_input.py), as
# hostile as the contract allows: separators, parent segments, drive letters, Unicode.
HOSTILE_FILENAMES = st.one_of(
    st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30),
    st.lists(
        st.sampled_from(["..", "/", "\\", "etc", "passwd", "C:", "~", "\u2215", "\U0001f4c4"]),
        min_size=1,
        max_size=10,
    ).map("".join),
).filter(str.strip)
# How far below the sandbox MEDIA_ROOT lies: deeper than any PATH drawn can climb. (Nor can a
# PATH drawn be too long for stored names, the other reason the system check refuses one.)
DEPTH = 6


def path_setting_accepted() -> bool:
    """Whether the system check accepts the PATH setting in force."""
    return not [e for e in check_settings() if e.id == "chunked_graphql.E002"]


def path_refused_for_leaving_the_root() -> bool:
    """Whether the system check refuses the PATH setting in force as leaving the storage root
    (rather than as too long)."""
    return any(
        e.id == "chunked_graphql.E002" and "inside the storage root" in e.msg
        for e in check_settings()
    )


def files_outside(root: Path, inside: Path) -> list[str]:
    """Files below ``root`` that do not lie below ``inside`` (symbolic links resolved)."""
    outside = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.realpath(os.path.join(directory, name))
            if os.path.commonpath([path, os.path.realpath(inside)]) != os.path.realpath(inside):
                outside.append(path)
    return outside


@pytest.mark.slow
@pytest.mark.django_db
@hypothesis_settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_stored_files_never_leave_the_storage_root_whatever_the_filename_or_path(
    api: GraphQLClient, settings: Any, tmp_path: Path, data: st.DataObject
) -> None:
    sandbox = tmp_path / "sandbox"
    media_root = sandbox.joinpath(*(str(level) for level in range(DEPTH)), "media")
    settings.MEDIA_ROOT = str(media_root)
    segments = data.draw(st.lists(PATH_SEGMENTS, max_size=DEPTH), label="PATH segments")
    path = data.draw(
        st.sampled_from(
            [
                "/".join(segments),
                "\\".join(segments),
                # Absolute, into the sandbox: were it used, the file would land outside.
                str(sandbox / "absolute") + "/" + "/".join(segments),
            ]
        ),
        label="PATH",
    )
    settings.CHUNKED_GRAPHQL_PATH = path
    filename = data.draw(HOSTILE_FILENAMES, label="filename")
    try:
        chunk = api.post(
            UPLOAD_CHUNK, {"contentRange": "bytes 0-19/20", "filename": filename},
            files={"file": DATA},
        )  # fmt: skip
        assert chunk.status_code in (200, 400), chunk.content
        result = (chunk.json().get("data") or {}).get("uploadChunk")
        refused = path_refused_for_leaving_the_root()
        event(f"PATH refused by the system check: {refused}")
        event(f"answer: {result['__typename'] if result else 'a GraphQL error'}")
        # What the system check calls an escape is exactly what is never stored.
        stored = bool(result) and result["__typename"] == "ChunkedUpload"
        assert stored != refused, f"PATH {path!r}: stored {stored}, refused {refused}"
        if stored:
            # The stored name is PATH (normalised) and the id; neither escapes.
            completed = api.complete(result["id"], md5(DATA))
            assert completed["status"] == "COMPLETE", completed
            name = ChunkedUpload.objects.get(pk=result["id"]).file.name
            assert not os.path.isabs(name) and ".." not in name.split("/")
            assert files_under(media_root) == [name]
        else:
            assert ChunkedUpload.objects.count() == 0
            assert files_under(sandbox) == []
        assert files_outside(sandbox, media_root) == []
    finally:
        ChunkedUpload.objects.all().delete()
        shutil.rmtree(sandbox, ignore_errors=True)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["chunked_uploads/%Y", "", "a/./b//c", "..hidden/%d"])
def test_every_path_the_check_accepts_stores_uploads_under_the_storage_root(
    api: GraphQLClient, settings: Any, media_root: Path, path: str
) -> None:
    """The other direction of the property above: an accepted PATH is usable."""
    settings.CHUNKED_GRAPHQL_PATH = path
    assert path_setting_accepted()

    result = api.upload_chunk(DATA, "bytes 0-19/20", filename="../../escape.bin")

    name = ChunkedUpload.objects.get(pk=result["id"]).file.name
    assert files_under(media_root) == [name]
    assert files_outside(media_root.parent, media_root) == []

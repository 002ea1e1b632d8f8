"""Apollo Client 4 with apollo-upload-client 19 (Node, ``tests/interop/node``) against a real
gunicorn server: chunks, resuming, typed errors, and why ``InMemoryCache`` needs
``possibleTypes``."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from graphql import GraphQLInterfaceType, GraphQLUnionType, build_schema

from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token
from tests.support.components import NODE_PACKAGE, ROOT, node
from tests.support.uploads import stored_bytes

CHUNK = 64 * 1024
SIZE = 4 * CHUNK + 777

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.fixture
def apollo(gunicorn, user, data_file):
    """Runs ``upload.mjs`` with Apollo against a fresh server; returns its JSON report."""
    executable = node()
    server = gunicorn(workers=2)
    env = {**os.environ, "TOKEN": make_token(user)}

    def run(*args):
        result = subprocess.run(
            [executable, "upload.mjs", server.graphql_url, str(data_file), "--chunk-size",
             str(CHUNK), *args],
            cwd=NODE_PACKAGE, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run


@live
def test_apollo_upload_client_uploads_in_chunks_and_completes(apollo, data_file):
    report = apollo()
    assert report["offsets"] == [CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    assert report["completed"]["status"] == "COMPLETE"
    assert stored_bytes(report["id"]) == data_file.read_bytes()


@live
def test_apollo_resumes_from_the_offset_the_server_reports(apollo, data_file):
    stopped = apollo("--stop-after", "2")
    resumed = apollo("--resume", stopped["id"])
    assert resumed["resumedFrom"] == 2 * CHUNK
    assert resumed["completed"]["status"] == "COMPLETE"
    assert ChunkedUpload.objects.count() == 1
    assert stored_bytes(stopped["id"]) == data_file.read_bytes()


@live
def test_apollo_with_possible_types_sees_the_fields_of_a_typed_error(apollo):
    error = apollo("--first-offset", "5")["error"]
    assert error["__typename"] == "OffsetMismatch"
    assert (error["code"], error["httpStatus"], error["expectedOffset"]) == (
        "OFFSET_MISMATCH",
        400,
        0,
    )
    assert error["message"]


@live
def test_apollo_without_possible_types_drops_the_upload_error_fields(apollo):
    """What the README warns about: the cache cannot tell that OffsetMismatch implements
    UploadError, so ``... on UploadError { code message httpStatus }`` comes back empty."""
    error = apollo("--first-offset", "5", "--without-possible-types")["error"]
    assert error["__typename"] == "OffsetMismatch"
    assert "code" not in error and "message" not in error


def test_possible_types_of_the_apollo_client_match_the_schema():
    schema = build_schema((ROOT / "schema.graphql").read_text())
    expected = {
        name: sorted(member.name for member in schema.get_possible_types(kind))
        for name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLUnionType | GraphQLInterfaceType)
    }
    shipped = json.loads((NODE_PACKAGE / "possible-types.json").read_text())
    assert {name: sorted(members) for name, members in shipped.items()} == expected

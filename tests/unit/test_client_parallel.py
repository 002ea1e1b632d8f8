"""The client's parts for parallel uploads and older servers that need no server: the documents
of each dialect against the schemas they are for, telling an older server from its refusals,
the chunk size of a parallel upload, the whole file's digest, the ascending chunk queue, progress
and the per-thread transports."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
import requests
from graphql import GraphQLSchema, build_schema, parse, validate

from chunked_graphql import exceptions
from chunked_graphql.client import operations
from chunked_graphql.client.errors import ServerError, UploadRejected
from chunked_graphql.client.operations import (
    BEFORE_PARALLEL,
    CURRENT,
    UPLOAD_LIMITS,
    Operations,
    ServerLimits,
    UploadInfo,
)
from chunked_graphql.client.planning import DEFAULT_CHUNK_SIZE, parallel_chunk_size
from chunked_graphql.client.progress import reporter
from chunked_graphql.client.reading import ChunkSource, FileDigest
from chunked_graphql.client.transport import BearerAuth, Transport
from chunked_graphql.client.uploader import ChunkedUploader
from example_site.schema import schema as current_schema

ENDPOINT = "http://127.0.0.1:8000/graphql/"
SCHEMAS = Path(__file__).resolve().parents[1] / "support" / "schemas"
KIB = 1024
MIB = 1024 * KIB


def older_schema(name: str) -> GraphQLSchema:
    return build_schema((SCHEMAS / name).read_text())


# The schemas of servers before createUpload: release 0.1.0 (no uploadLimits) and the one that
# added uploadLimits without the fields of parallel uploads.
OLDER = ["release-0.1.0.graphql", "before-create-upload.graphql"]


def documents(dialect: Operations) -> dict[str, str]:
    found = {
        "upload_chunk": dialect.upload_chunk,
        "complete_upload": dialect.complete_upload,
        "cancel_upload": dialect.cancel_upload,
        "get_upload": dialect.get_upload,
    }
    if dialect.create_upload is not None:
        found["create_upload"] = dialect.create_upload
    return found


def refusal(schema: GraphQLSchema, document: str) -> ServerError:
    """What the transport raises for ``document`` sent to a server with ``schema``: the
    validation errors graphql-core finds, in the body of an HTTP 400."""
    errors = [{"message": error.message} for error in validate(schema, parse(document))]
    assert errors, "the schema takes the document"
    return ServerError(f"Unexpected answer (HTTP 400): {errors[0]['message']}", 400, errors=errors)


# The documents of each dialect -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(documents(CURRENT)))
def test_the_current_documents_are_valid_in_this_releases_schema(name):
    assert validate(current_schema.graphql_schema, parse(documents(CURRENT)[name])) == []


def test_the_limits_query_is_valid_in_this_releases_schema():
    assert validate(current_schema.graphql_schema, parse(UPLOAD_LIMITS)) == []


@pytest.mark.parametrize("schema_file", OLDER)
@pytest.mark.parametrize("name", sorted(documents(BEFORE_PARALLEL)))
def test_the_documents_for_older_servers_are_valid_in_their_schemas(name, schema_file):
    document = documents(BEFORE_PARALLEL)[name]
    assert validate(older_schema(schema_file), parse(document)) == []


def test_the_dialect_for_older_servers_has_no_create_upload():
    assert BEFORE_PARALLEL.create_upload is None and BEFORE_PARALLEL.before_parallel


CREATE_UPLOAD_ERRORS_WITH_FIELDS = [
    error
    for error in exceptions.typed_errors()
    if exceptions.CREATE_UPLOAD in error.returned_by and error.fields
]


@pytest.mark.parametrize(
    "error", CREATE_UPLOAD_ERRORS_WITH_FIELDS, ids=lambda error: error.__name__
)
def test_create_upload_selects_the_extra_fields_of_every_error_it_can_answer(error):
    assert CURRENT.create_upload is not None
    fields = " ".join(operations._camel(name) for name in error.fields)
    assert f"... on {error.__name__} {{ {fields} }}" in CURRENT.create_upload


def test_a_missing_ranges_field_of_an_error_is_selected_with_its_bounds():
    assert "... on UploadIncomplete { offset expectedSize missingRanges { start end } }" in (
        CURRENT.complete_upload
    )


# Telling an older server from its refusals ---------------------------------------------------


@pytest.mark.parametrize("schema_file", OLDER)
def test_an_older_servers_refusal_of_the_limits_query_says_its_schema_lacks_them(schema_file):
    assert refusal(older_schema(schema_file), UPLOAD_LIMITS).schema_lacks_it


@pytest.mark.parametrize("schema_file", OLDER)
def test_an_older_servers_refusal_of_create_upload_says_its_schema_lacks_it(schema_file):
    assert CURRENT.create_upload is not None
    assert refusal(older_schema(schema_file), CURRENT.create_upload).schema_lacks_it


def test_a_storage_error_is_not_taken_for_an_older_server():
    error = ServerError(
        "The server reported an error: storage failed",
        200,
        transient=True,
        errors=[{"message": "The storage failed.", "extensions": {"code": "STORAGE_ERROR"}}],
    )
    assert not error.schema_lacks_it


def test_an_answer_without_graphql_errors_is_not_taken_for_an_older_server():
    assert not ServerError("Unexpected answer (HTTP 502): bad gateway", 502).schema_lacks_it


def test_a_refusal_mixing_unknown_names_with_other_errors_is_not_taken_for_an_older_server():
    errors = [
        {"message": "Cannot query field 'createUpload' on type 'Mutation'."},
        {"message": "Variable '$totalSize' of required type 'BigInt!' was not provided."},
    ]
    assert not ServerError("refused", 400, errors=errors).schema_lacks_it


# The chunk size of a parallel upload -----------------------------------------------------------


def limits(min_parallel=64 * KIB, max_chunk=128 * MIB, max_parts=10_000):
    return ServerLimits(
        max_bytes=None,
        max_chunk_size=max_chunk,
        min_parallel_chunk_size=min_parallel,
        max_parts=max_parts,
        checksum_algorithm="md5",
        chunk_checksum_algorithms=("md5", "sha256"),
    )


def chunk_size(size, server=None, chunk_size=None, parallel=None):
    return parallel_chunk_size(size, server or limits(), chunk_size, parallel)


def test_a_parallel_upload_uses_the_default_chunk_size_where_the_server_takes_it():
    assert chunk_size(100 * MIB) == DEFAULT_CHUNK_SIZE


def test_the_default_chunk_size_grows_to_the_servers_smallest_parallel_chunk():
    assert chunk_size(100 * MIB, limits(min_parallel=5 * MIB)) == 5 * MIB


def test_the_default_chunk_size_grows_so_the_file_fits_in_the_most_parts():
    size = 100 * 1024 * MIB + 1
    assert chunk_size(size) == -(-size // 10_000)


def test_the_chunk_size_asked_for_is_kept_when_the_server_takes_it():
    assert chunk_size(100 * MIB, chunk_size=MIB) == MIB


def test_a_file_of_one_chunk_is_sent_serially():
    assert chunk_size(DEFAULT_CHUNK_SIZE) is None


def test_a_file_no_larger_than_the_chunk_size_asked_for_is_sent_serially():
    assert chunk_size(MIB, chunk_size=MIB, parallel=4) is None


def test_parallel_1_sends_serially():
    assert chunk_size(100 * MIB, parallel=1) is None


def test_by_default_a_chunk_size_the_server_refuses_for_parallel_uploads_is_sent_serially():
    assert chunk_size(100 * MIB, limits(min_parallel=5 * MIB), chunk_size=MIB) is None


def test_parallel_asked_for_with_a_chunk_size_the_server_refuses_is_refused_with_the_range():
    with pytest.raises(UploadRejected) as refused:
        chunk_size(100 * MIB, limits(min_parallel=5 * MIB), chunk_size=MIB, parallel=4)

    assert refused.value.code == "INVALID_CHUNK_SIZE"
    assert refused.value.details == {"minChunkSize": 5 * MIB, "maxChunkSize": 128 * MIB}
    assert "--parallel 1" in str(refused.value)


def test_parallel_asked_for_with_a_chunk_size_above_the_servers_largest_is_refused():
    with pytest.raises(UploadRejected, match="not 2097152"):
        chunk_size(100 * MIB, limits(max_chunk=MIB), chunk_size=2 * MIB, parallel=2)


def test_by_default_a_file_too_large_for_any_parallel_chunk_size_is_sent_serially():
    assert chunk_size(100 * MIB, limits(max_chunk=MIB, max_parts=10)) is None


def test_parallel_asked_for_where_no_chunk_size_fits_says_why():
    with pytest.raises(UploadRejected, match="takes no parallel upload of a file of"):
        chunk_size(100 * MIB, limits(max_chunk=MIB, max_parts=10), parallel=4)


def test_parallel_must_be_at_least_one():
    with pytest.raises(ValueError, match="parallel"):
        ChunkedUploader(ENDPOINT, parallel=0)


# The whole file's digest ----------------------------------------------------------------------


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(700_001))
    return path


def md5_of(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def pieces(path, size):
    content = path.read_bytes()
    return [(start, content[start : start + size]) for start in range(0, len(content), size)]


def test_the_digest_of_chunks_fed_in_order_reads_nothing_from_the_file(data_file):
    expected = md5_of(data_file)
    digest = FileDigest(data_file, data_file.stat().st_size)
    digest.use("md5")
    chunks = pieces(data_file, 100_000)
    data_file.unlink()  # any read of its own would fail now

    for start, content in chunks:
        digest.feed(start, content)

    assert digest.hexdigest() == expected


def test_the_digest_reads_the_bytes_it_was_not_fed_from_the_file(data_file):
    digest = FileDigest(data_file, data_file.stat().st_size)
    digest.use("md5")
    for start, content in pieces(data_file, 100_000)[3:5]:
        digest.feed(start, content)

    assert digest.hexdigest() == md5_of(data_file)
    digest.close()


def test_the_digest_hashes_bytes_fed_again_once(data_file):
    digest = FileDigest(data_file, data_file.stat().st_size)
    digest.use("sha256")
    chunks = pieces(data_file, 100_000)
    for start, content in [chunks[0], chunks[1], chunks[0], *pieces(data_file, 150_000)]:
        digest.feed(start, content)

    assert digest.hexdigest() == hashlib.sha256(data_file.read_bytes()).hexdigest()


def test_the_digest_ignores_what_it_is_fed_before_it_knows_its_algorithm(data_file):
    digest = FileDigest(data_file, data_file.stat().st_size)
    first, *rest = pieces(data_file, 100_000)
    digest.feed(*first)
    digest.use("md5")
    for start, content in rest:
        digest.feed(start, content)

    assert digest.hexdigest() == md5_of(data_file)
    digest.close()


# The chunk queue of a parallel upload ------------------------------------------------------


def test_senders_taking_chunks_at_once_feed_the_digest_the_whole_file_in_order(data_file):
    expected = md5_of(data_file)
    size = data_file.stat().st_size
    digest = FileDigest(data_file, size)
    digest.use("md5")
    taken: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    with data_file.open("rb") as stream:
        data_file.unlink()  # the digest cannot read a byte it was not fed in order
        source = ChunkSource(stream, list(range(0, size, 10_000)), 10_000, size, digest, "d")

        def sender():
            while (chunk := source.take()) is not None:
                with lock:
                    taken.append(chunk)

        threads = [threading.Thread(target=sender) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert digest.hexdigest() == expected
    assert sorted(start for start, _ in taken) == list(range(0, size, 10_000))
    assert hashlib.md5(b"".join(content for _, content in sorted(taken))).hexdigest() == expected


def test_the_chunk_queue_hands_out_only_the_chunks_asked_for(data_file):
    size = data_file.stat().st_size
    digest = FileDigest(data_file, size)
    digest.use("md5")
    with data_file.open("rb") as stream:
        source = ChunkSource(stream, [200_000, 600_000], 200_000, size, digest, "d")
        taken = [source.take(), source.take(), source.take()]
    content = data_file.read_bytes()

    assert taken == [(200_000, content[200_000:400_000]), (600_000, content[600_000:]), None]
    assert digest.hexdigest() == md5_of(data_file)
    digest.close()


# Progress, upload descriptions, transports ---------------------------------------------------


def test_progress_never_goes_back_nor_past_the_total():
    seen = []
    report = reporter(seen.append, 100, 0)
    for offset in (0, 40, 30, 90, 130):
        report(offset, "id")

    assert [progress.offset for progress in seen] == [0, 40, 40, 90, 100]


def test_a_parallel_upload_holds_its_total_less_its_missing_ranges():
    upload = UploadInfo.from_result(
        {
            "id": "i",
            "url": "u",
            "filename": "f",
            "offset": 10,
            "totalSize": 100,
            "status": "UPLOADING",
            "expires": "e",
            "checksumAlgorithm": "md5",
            "parallel": True,
            "chunkSize": 10,
            "missingRanges": [{"start": 10, "end": 19}, {"start": 50, "end": 99}],
            "expired": False,
        }
    )

    assert (upload.missing_ranges, upload.stored_bytes) == (((10, 19), (50, 99)), 40)


def test_a_serial_upload_from_an_older_server_holds_its_offset():
    upload = UploadInfo.from_result(
        {
            "id": "i",
            "url": "u",
            "filename": "f",
            "offset": 10,
            "totalSize": 100,
            "status": "UPLOADING",
            "expires": "e",
            "checksumAlgorithm": "md5",
        }
    )

    assert (upload.parallel, upload.missing_ranges, upload.stored_bytes) == (False, None, 10)


def test_a_forked_transport_has_its_own_session_with_the_same_cookies_and_headers():
    transport = Transport(ENDPOINT, BearerAuth("t"), session=requests.Session())
    transport.session.cookies.set("sessionid", "s1")
    transport.session.cookies.set("csrftoken", "c1")
    transport.session.headers["X-Extra"] = "1"

    fork = transport.fork()

    assert fork.session is not transport.session
    assert fork.session.cookies.get_dict() == {"sessionid": "s1", "csrftoken": "c1"}
    assert fork.session.headers["X-Extra"] == "1"
    assert (fork.endpoint, fork.auth, fork.timeout) == (ENDPOINT, transport.auth, 120.0)

"""The createUpload mutation (specification §9): an upload with no bytes yet, each check in its
order, and the limits a client reads before it sends."""

from typing import Any

import pytest

from chunked_graphql.models import ChunkedUpload
from chunked_graphql.stores.base import ChunkStore
from tests.support.graphql_client import GraphQLClient
from tests.support.uploads import assert_error, files_under

pytestmark = pytest.mark.django_db

KIB = 1024
MIB = 1024 * KIB
MIN_CHUNK = ChunkStore.min_parallel_chunk_size
MAX_PARTS = ChunkStore.max_parts or 0
MAX_TOTAL = 2**63 - 1


def test_a_serial_upload_is_created_with_no_bytes(api: GraphQLClient) -> None:
    result = api.create(1000)

    assert result["__typename"] == "ChunkedUpload"
    assert (result["offset"], result["totalSize"], result["status"]) == (0, 1000, "UPLOADING")
    assert (result["parallel"], result["chunkSize"]) == (False, None)
    assert result["missingRanges"] == [{"start": 0, "end": 999}]
    assert ChunkedUpload.objects.get(pk=result["id"]).offset == 0


def test_a_created_serial_upload_takes_its_chunks_from_byte_zero(api: GraphQLClient) -> None:
    upload_id = api.create(20)["id"]

    first = api.upload_chunk(b"0123456789", "bytes 0-9/20", upload_id=upload_id)
    last = api.upload_chunk(b"abcdefghij", "bytes 10-19/20", upload_id=upload_id)

    assert (first["offset"], last["offset"], last["missingRanges"]) == (10, 20, [])


def test_a_parallel_upload_is_created_with_its_chunk_size(api: GraphQLClient) -> None:
    result = api.create(5 * MIN_CHUNK, parallel=True, chunk_size=MIN_CHUNK)

    assert (result["parallel"], result["chunkSize"], result["offset"]) == (True, MIN_CHUNK, 0)
    assert result["missingRanges"] == [{"start": 0, "end": 5 * MIN_CHUNK - 1}]


def test_the_filename_is_checked_first(api: GraphQLClient) -> None:
    result = api.create(0, parallel=True, filename=" ")
    assert_error(result, "InvalidFilename", "INVALID_FILENAME")


@pytest.mark.parametrize("total", [0, -1, MAX_TOTAL + 1])
def test_a_total_size_out_of_range_is_an_invalid_content_range(
    api: GraphQLClient, total: int
) -> None:
    assert_error(api.create(total), "InvalidContentRange", "INVALID_CONTENT_RANGE")


def test_an_anonymous_caller_needs_to_sign_in(anon_api: GraphQLClient) -> None:
    result = anon_api.create(10, parallel=True)
    assert_error(result, "AuthenticationRequired", "AUTHENTICATION_REQUIRED", 401)


def test_max_bytes_comes_before_the_chunk_size(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 100
    result = api.create(101, parallel=True)
    assert_error(result, "MaxBytesExceeded", "MAX_BYTES_EXCEEDED")
    assert result["maxBytes"] == 100


def test_a_parallel_upload_without_a_chunk_size_is_refused(api: GraphQLClient) -> None:
    result = api.create(10 * MIN_CHUNK, parallel=True)

    assert_error(result, "InvalidChunkSize", "INVALID_CHUNK_SIZE")
    assert (result["minChunkSize"], result["maxChunkSize"]) == (MIN_CHUNK, 128 * MIB)


def test_a_chunk_size_below_the_stores_smallest_is_refused(api: GraphQLClient) -> None:
    result = api.create(10 * MIN_CHUNK, parallel=True, chunk_size=MIN_CHUNK - 1)
    assert_error(result, "InvalidChunkSize", "INVALID_CHUNK_SIZE")


def test_a_chunk_size_above_max_chunk_size_is_refused(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_CHUNK_SIZE = 2 * MIN_CHUNK
    result = api.create(10 * MIN_CHUNK, parallel=True, chunk_size=2 * MIN_CHUNK + 1)

    assert_error(result, "InvalidChunkSize", "INVALID_CHUNK_SIZE")
    assert result["maxChunkSize"] == 2 * MIN_CHUNK


def test_too_many_parts_raise_the_smallest_chunk_size(api: GraphQLClient) -> None:
    total = MAX_PARTS * MIN_CHUNK * 3 + 1
    smallest = -(-total // MAX_PARTS)

    refused = api.create(total, parallel=True, chunk_size=smallest - 1)
    accepted = api.create(total, parallel=True, chunk_size=smallest)

    assert_error(refused, "InvalidChunkSize", "INVALID_CHUNK_SIZE")
    assert refused["minChunkSize"] == smallest
    assert accepted["__typename"] == "ChunkedUpload"


def test_a_refused_creation_stores_nothing(api: GraphQLClient, media_root: Any) -> None:
    api.create(10 * MIN_CHUNK, parallel=True, chunk_size=1)
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_the_quota_on_incomplete_uploads_comes_last(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    api.create(10)

    assert_error(api.create(10, parallel=True), "InvalidChunkSize", "INVALID_CHUNK_SIZE")
    result = api.create(10)
    assert_error(result, "QuotaExceeded", "QUOTA_EXCEEDED", 403)
    assert (result["quota"], result["limit"]) == ("INCOMPLETE_UPLOADS", 1)


def test_the_quota_on_incomplete_bytes_names_its_limit(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 100
    api.create(60)

    result = api.create(41)

    assert_error(result, "QuotaExceeded", "QUOTA_EXCEEDED", 403)
    assert (result["quota"], result["limit"]) == ("INCOMPLETE_BYTES", 100)
    assert api.create(40)["__typename"] == "ChunkedUpload"


def test_a_first_chunk_checks_the_quota_too(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    api.create(10)

    result = api.upload_chunk(b"0123456789", "bytes 0-9/20")

    assert_error(result, "QuotaExceeded", "QUOTA_EXCEEDED", 403)
    assert ChunkedUpload.objects.count() == 1


def test_upload_limits_describe_parallel_uploads(anon_api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 3
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES = 10**9

    limits = anon_api.limits()

    assert limits["minParallelChunkSize"] == MIN_CHUNK
    assert limits["maxParts"] == MAX_PARTS
    assert limits["chunkChecksumAlgorithms"] == ["crc32c", "sha256", "md5"]
    assert (limits["maxIncompleteUploads"], limits["maxIncompleteBytes"]) == (3, 10**9)

"""Parallel uploads (specification §9): chunks of a fixed size in any order, the gap-free prefix
as the offset, missing ranges, idempotent re-sends, per-chunk checksums and completion."""

import hashlib
import os
from typing import Any

import google_crc32c
import pytest
from django.db import connection

from chunked_graphql.models import ChunkedUpload
from chunked_graphql.services import parallel
from chunked_graphql.stores.base import ChunkStore
from tests.support.graphql_client import GraphQLClient, chunk_checksum, md5
from tests.support.uploads import assert_error, stored_bytes

pytestmark = pytest.mark.django_db

CHUNK = ChunkStore.min_parallel_chunk_size
DATA = os.urandom(3 * CHUNK + 1000)  # four chunks, the last one short
STARTS = [0, CHUNK, 2 * CHUNK, 3 * CHUNK]


def size_at(start: int) -> int:
    return min(CHUNK, len(DATA) - start)


@pytest.fixture
def upload_id(api: GraphQLClient) -> str:
    result = api.create(len(DATA), parallel=True, chunk_size=CHUNK)
    assert result["__typename"] == "ChunkedUpload", result
    return str(result["id"])


def send(api: GraphQLClient, upload_id: str, start: int, **kwargs: Any) -> dict[str, Any]:
    return api.send_range(upload_id, DATA, start, size_at(start), **kwargs)


def row(upload_id: str) -> ChunkedUpload:
    return ChunkedUpload.objects.get(pk=upload_id)


# Order and ranges ------------------------------------------------------------------------------


def test_chunks_sent_in_reverse_order_complete_byte_exact(api: GraphQLClient, upload_id: str):
    for start in reversed(STARTS):
        assert send(api, upload_id, start)["__typename"] == "ChunkedUpload"

    result = api.complete(upload_id, md5(DATA))

    assert result["status"] == "COMPLETE", result
    assert stored_bytes(upload_id) == DATA


def test_the_offset_is_the_gap_free_prefix(api: GraphQLClient, upload_id: str):
    assert send(api, upload_id, CHUNK)["offset"] == 0
    assert send(api, upload_id, 0)["offset"] == 2 * CHUNK


def test_missing_ranges_are_ascending_and_coalesced(api: GraphQLClient, upload_id: str):
    result = send(api, upload_id, CHUNK)

    assert result["missingRanges"] == [
        {"start": 0, "end": CHUNK - 1},
        {"start": 2 * CHUNK, "end": len(DATA) - 1},
    ]


def test_every_byte_stored_leaves_no_missing_ranges(api: GraphQLClient, upload_id: str):
    for start in STARTS:
        result = send(api, upload_id, start)
    assert (result["offset"], result["missingRanges"]) == (len(DATA), [])


@pytest.mark.parametrize(
    "start, size",
    [
        (1, CHUNK),  # not at a multiple of the chunk size
        (0, CHUNK - 1),  # shorter than a chunk, and not the last
        (3 * CHUNK, 999),  # a last chunk that stops short of the end
    ],
)
def test_a_chunk_off_the_grid_is_an_invalid_content_range(
    api: GraphQLClient, upload_id: str, start: int, size: int
):
    result = api.send_range(upload_id, DATA, start, size)

    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")
    assert row(upload_id).stored_ranges == []


def test_a_total_other_than_the_declared_one_is_refused(api: GraphQLClient, upload_id: str):
    result = api.upload_chunk(DATA[:CHUNK], f"bytes 0-{CHUNK - 1}/{len(DATA) + 1}", upload_id)
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


# Re-sends --------------------------------------------------------------------------------------


def test_a_re_sent_chunk_is_answered_with_the_upload_unchanged(api: GraphQLClient, upload_id):
    first = send(api, upload_id, CHUNK, chunk_checksum=chunk_checksum(DATA[CHUNK : 2 * CHUNK]))

    again = send(api, upload_id, CHUNK, chunk_checksum=chunk_checksum(DATA[CHUNK : 2 * CHUNK]))

    assert again["__typename"] == "ChunkedUpload"
    assert again["missingRanges"] == first["missingRanges"]
    assert row(upload_id).stored_ranges == [[CHUNK, 2 * CHUNK - 1]]


def test_a_re_sent_chunk_stores_none_of_its_bytes(api: GraphQLClient, upload_id: str):
    send(api, upload_id, 0)
    other = os.urandom(CHUNK)

    result = api.upload_chunk(other, f"bytes 0-{CHUNK - 1}/{len(DATA)}", upload_id)

    assert result["__typename"] == "ChunkedUpload"
    assert stored_bytes(upload_id)[:CHUNK] == DATA[:CHUNK]


def test_a_re_sent_chunk_with_another_checksum_is_a_mismatch(api: GraphQLClient, upload_id):
    send(api, upload_id, 0, chunk_checksum=chunk_checksum(DATA[:CHUNK]))
    other = os.urandom(CHUNK)

    result = api.upload_chunk(
        other, f"bytes 0-{CHUNK - 1}/{len(DATA)}", upload_id, chunk_checksum=chunk_checksum(other)
    )

    assert_error(result, "ChunkChecksumMismatch", "CHUNK_CHECKSUM_MISMATCH")
    assert stored_bytes(upload_id)[:CHUNK] == DATA[:CHUNK]


# Chunk checksums -------------------------------------------------------------------------------


def digest_of(algorithm: str, data: bytes) -> str:
    if algorithm == "crc32c":
        return f"{google_crc32c.value(data):08x}"
    return hashlib.new(algorithm, data).hexdigest()


def test_crc32c_is_the_castagnoli_checksum_in_big_endian_hex() -> None:
    assert digest_of("crc32c", b"123456789") == "e3069283"  # the check value of CRC-32C


@pytest.mark.parametrize("algorithm", ["crc32c", "sha256", "md5", "SHA256"])
def test_a_matching_chunk_checksum_is_accepted(api: GraphQLClient, upload_id: str, algorithm):
    digest = digest_of(algorithm.lower(), DATA[:CHUNK]).upper()

    result = send(api, upload_id, 0, chunk_checksum=f"{algorithm}:{digest}")

    assert result["offset"] == CHUNK


def test_a_chunk_not_matching_its_checksum_stores_nothing(api: GraphQLClient, upload_id: str):
    result = send(api, upload_id, 0, chunk_checksum=chunk_checksum(b"something else"))

    assert_error(result, "ChunkChecksumMismatch", "CHUNK_CHECKSUM_MISMATCH")
    assert (row(upload_id).offset, row(upload_id).stored_ranges) == (0, [])


def test_a_serial_chunk_not_matching_its_checksum_stores_nothing(api: GraphQLClient):
    result = api.upload_chunk(b"0123456789", "bytes 0-9/20", chunk_checksum=chunk_checksum(b"x"))

    assert_error(result, "ChunkChecksumMismatch", "CHUNK_CHECKSUM_MISMATCH")
    assert ChunkedUpload.objects.count() == 0


@pytest.mark.parametrize(
    "value",
    [
        "sha256",
        "sha256:",
        "sha256:abc",
        "crc32c:" + "0" * 64,
        "crc99:" + "0" * 8,
        ":" + "0" * 64,
        "sha256:" + "g" * 64,
    ],
)
def test_a_malformed_chunk_checksum_is_refused(api: GraphQLClient, upload_id: str, value: str):
    result = send(api, upload_id, 0, chunk_checksum=value)
    assert_error(result, "InvalidChunkChecksum", "INVALID_CHUNK_CHECKSUM")


def test_an_invalid_chunk_checksum_comes_right_after_the_content_range(api: GraphQLClient):
    result = api.upload_chunk(b"0123456789", "bytes 0-9/20", upload_id="nope", chunk_checksum="x")
    assert_error(result, "InvalidChunkChecksum", "INVALID_CHUNK_CHECKSUM")


def test_a_wrong_length_wins_over_a_chunk_checksum_mismatch(api: GraphQLClient, upload_id: str):
    result = api.upload_chunk(
        DATA[: CHUNK - 1],
        f"bytes 0-{CHUNK - 1}/{len(DATA)}",
        upload_id,
        chunk_checksum=chunk_checksum(b"x"),
    )
    assert_error(result, "InvalidContentRange", "INVALID_CONTENT_RANGE")


# Completion ------------------------------------------------------------------------------------


def test_completing_with_ranges_missing_names_them(api: GraphQLClient, upload_id: str):
    send(api, upload_id, 0)
    send(api, upload_id, 2 * CHUNK)

    result = api.complete(upload_id, md5(DATA))

    assert_error(result, "UploadIncomplete", "INCOMPLETE")
    assert result["offset"] == CHUNK
    assert result["missingRanges"] == [
        {"start": CHUNK, "end": 2 * CHUNK - 1},
        {"start": 3 * CHUNK, "end": len(DATA) - 1},
    ]


def test_a_wrong_checksum_leaves_the_upload_open(api: GraphQLClient, upload_id: str):
    for start in STARTS:
        send(api, upload_id, start)

    assert_error(api.complete(upload_id, md5(b"x")), "ChecksumMismatch", "CHECKSUM_MISMATCH")
    assert api.complete(upload_id, md5(DATA))["status"] == "COMPLETE"


def test_ascending_chunks_are_hashed_as_they_arrive(api: GraphQLClient, upload_id: str):
    for start in STARTS:
        send(api, upload_id, start)
    upload = row(upload_id)
    assert (upload.hashed_offset, upload.hashing_until) == (len(DATA), None)


def test_a_chunk_ahead_is_hashed_once_the_prefix_reaches_it(api: GraphQLClient, upload_id: str):
    send(api, upload_id, 2 * CHUNK)
    send(api, upload_id, CHUNK)
    assert row(upload_id).hashed_offset == 0

    send(api, upload_id, 0)

    upload = row(upload_id)
    assert (upload.hashed_offset, upload.hashing_until) == (3 * CHUNK, None)


@pytest.mark.parametrize("algorithm", ["sha256", "sha3_256"])
def test_other_algorithms_complete_in_any_order(
    api: GraphQLClient, settings: Any, algorithm: str
) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = algorithm
    upload_id = api.create(len(DATA), parallel=True, chunk_size=CHUNK)["id"]
    for start in [CHUNK, 3 * CHUNK, 0, 2 * CHUNK]:
        send(api, upload_id, start)

    result = api.complete(upload_id, hashlib.new(algorithm, DATA).hexdigest())

    assert result["status"] == "COMPLETE", result
    assert stored_bytes(upload_id) == DATA


def test_a_serial_upload_reports_its_missing_range(api: GraphQLClient):
    result = api.upload_chunk(b"0123456789", "bytes 0-9/20")
    assert (result["parallel"], result["missingRanges"]) == (False, [{"start": 10, "end": 19}])


def test_a_cancelled_parallel_upload_leaves_nothing(api, upload_id, media_root):
    send(api, upload_id, CHUNK)
    assert api.cancel(upload_id)["__typename"] == "CancelledUpload"
    assert ChunkedUpload.objects.count() == 0
    assert not any(path.is_file() for path in media_root.rglob("*"))


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_chunks_are_written_under_the_row_lock(
    api: GraphQLClient, monkeypatch: Any
) -> None:
    """With ATOMIC_REQUESTS a range commits when the request's transaction does, after the
    store's lock is gone; only the row lock keeps a second writer of the range out."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    received = []
    real_received = parallel.received

    def recording(incoming: Any) -> Any:
        received.append(incoming.length)
        return real_received(incoming)

    monkeypatch.setattr(parallel, "received", recording)
    upload_id = api.create(len(DATA), parallel=True, chunk_size=CHUNK)["id"]

    for start in [2 * CHUNK, 0, 3 * CHUNK, CHUNK, CHUNK]:
        assert send(api, upload_id, start)["__typename"] == "ChunkedUpload"
    result = api.complete(upload_id, md5(DATA))

    assert result["status"] == "COMPLETE", result
    assert stored_bytes(upload_id) == DATA
    assert received == [CHUNK, CHUNK, size_at(3 * CHUNK), CHUNK, CHUNK]

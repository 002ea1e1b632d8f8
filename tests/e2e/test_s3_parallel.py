"""Parallel uploads on S3 (moto's S3 server): each chunk is staged as an object of its own, copied
into one multipart upload as part ``start // chunk_size + 1`` once hashed, and completed on the
server side.

The store's tests call its methods in the order the upload service does (``services/parallel.py``):
``write_range`` outside any lock, ``record_range`` and ``committed`` around each commit,
``read_range`` and ``settle_range`` by the request holding the hashing lease, ``copy`` at
completion, ``delete`` on cancel and expiry. The API's tests go through ``createUpload`` and
``uploadChunk``, in this process and on two gunicorn servers sharing the database and the bucket.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.config import Config

from chunked_graphql.client.transport import RETRYABLE_CODES
from chunked_graphql.exceptions import ChunkStorageError
from chunked_graphql.models import ChunkedUpload
from chunked_graphql.stores import BLOCK_SIZE, chunk_store
from chunked_graphql.stores.s3 import PART_SIZE, S3ChunkStore
from tests.e2e.test_s3 import completed_key, keys, object_bytes, pending_multipart_uploads
from tests.support.graphql_client import md5
from tests.support.http_api import Http, content_range

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
CHUNK = PART_SIZE  # the smallest chunk size S3 allows a parallel upload


def blocks(data: bytes) -> Iterator[bytes]:
    """``data`` as a chunk arrives at the store: block by block."""
    for start in range(0, len(data), BLOCK_SIZE):
        yield data[start : start + BLOCK_SIZE]


class StoredUpload:
    """One parallel upload driven through the store as the service drives it: ``state`` is what
    the upload's row holds, each change of it "commits" and then runs ``committed``."""

    def __init__(self, store: S3ChunkStore, data: bytes, chunk_size: int = CHUNK) -> None:
        self.store = store
        self.data = data
        self.chunk_size = chunk_size
        stem = f"parallel/{uuid.uuid4()}"
        self.name, self.complete_name = stem + ".part", stem + ".done"
        self.state = store.parallel_create(self.name, len(data), chunk_size)

    def starts(self) -> list[int]:
        return list(range(0, len(self.data), self.chunk_size))

    def chunk(self, start: int) -> bytes:
        return self.data[start : start + self.chunk_size]

    def write(self, start: int, data: bytes | None = None) -> Any:
        """Store the chunk at ``start`` (or ``data`` in its place); its piece, not recorded."""
        chunk = self.chunk(start) if data is None else data
        return self.store.write_range(self.name, start, blocks(chunk), self.state, readable=True)

    def record(self, start: int, piece: Any) -> None:
        old = self.state
        self.state = self.store.record_range(old, start, len(self.chunk(start)), piece)
        self.store.committed(self.name, old, self.state)

    def store_chunk(self, start: int) -> None:
        self.record(start, self.write(start))

    def settle(self, start: int) -> None:
        """Read the chunk back, as the hashing request does, then settle it."""
        size = len(self.chunk(start))
        piece = self.store.piece(self.state, start)
        read = b"".join(self.store.read_range(self.name, start, size, self.state, piece))
        assert read == self.chunk(start)
        self.record(start, self.store.settle_range(self.name, start, size, self.state, piece))

    def store_all(self) -> None:
        for start in self.starts():
            self.store_chunk(start)
        for start in self.starts():
            self.settle(start)

    def complete(self) -> None:
        self.store.copy(self.name, self.complete_name, len(self.data), self.state)

    def key(self, name: str | None = None) -> str:
        return self.store._key(name or self.name)


@pytest.fixture
def store(s3: Any) -> S3ChunkStore:
    found = chunk_store()
    assert isinstance(found, S3ChunkStore)
    return found


def staged(s3: Any, upload: StoredUpload) -> list[str]:
    return [key for key in keys(s3) if key.startswith(upload.key() + ".parts/")]


# The store ---------------------------------------------------------------------------------


def test_the_s3_store_takes_ranges_in_any_order_in_chunks_of_s3_parts(store):
    assert (store.random_access, store.min_parallel_chunk_size, store.max_parts) == (
        True,
        5 * MIB,
        10_000,
    )


def test_chunks_stored_out_of_order_complete_byte_exact(s3, store):
    upload = StoredUpload(store, os.urandom(3 * CHUNK + 1234))
    for start in [2 * CHUNK, 0, 3 * CHUNK, CHUNK]:
        upload.store_chunk(start)
    for start in upload.starts():
        upload.settle(start)

    upload.complete()

    assert object_bytes(s3, upload.key(upload.complete_name)) == upload.data


def test_each_chunk_becomes_one_part_of_the_assembled_file(s3, store):
    upload = StoredUpload(store, os.urandom(3 * CHUNK + 1234))
    upload.store_all()

    upload.complete()

    head = s3.client.head_object(Bucket=s3.bucket, Key=upload.key(), PartNumber=4)
    assert head["PartsCount"] == 4
    assert head["ContentLength"] == 1234


def test_a_chunk_ahead_of_the_hashed_prefix_reads_back_its_bytes(store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK))
    upload.store_chunk(CHUNK)

    piece = store.piece(upload.state, CHUNK)
    read = b"".join(store.read_range(upload.name, CHUNK, CHUNK, upload.state, piece))

    assert read == upload.chunk(CHUNK)


def test_a_settled_chunk_cannot_be_read_back(store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK))
    upload.store_chunk(0)
    upload.settle(0)
    piece = store.piece(upload.state, 0)

    with pytest.raises(ChunkStorageError, match="cannot read back"):
        b"".join(store.read_range(upload.name, 0, CHUNK, upload.state, piece))


def test_settled_chunks_leave_no_staged_objects(s3, store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK + 10))

    upload.store_all()

    assert keys(s3) == []
    assert pending_multipart_uploads(s3) == [upload.key()]


def test_only_staged_chunks_wait_to_be_settled(store):
    upload = StoredUpload(store, os.urandom(3 * CHUNK))
    for start in upload.starts():
        upload.store_chunk(start)
    upload.settle(0)

    assert store.unsettled(upload.state, 3 * CHUNK) == [CHUNK, 2 * CHUNK]
    assert store.unsettled(upload.state, 2 * CHUNK) == [CHUNK]


def test_completion_then_removal_of_the_incomplete_name_leaves_only_the_file(s3, store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK + 10))
    upload.store_all()
    upload.complete()

    store.delete(upload.name, upload.state)  # after the completion commits

    assert keys(s3) == [upload.key(upload.complete_name)]
    assert pending_multipart_uploads(s3) == []


def test_a_completion_under_the_incomplete_name_keeps_the_assembled_file(s3, store):
    """COMPLETE_EXT may equal INCOMPLETE_EXT: the file is then assembled in place."""
    upload = StoredUpload(store, os.urandom(2 * CHUNK + 10))
    upload.store_all()

    store.copy(upload.name, upload.name, len(upload.data), upload.state)

    assert object_bytes(s3, upload.key()) == upload.data


def test_a_completion_rolled_back_after_assembling_completes_again(s3, store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK + 10))
    upload.store_all()
    upload.complete()
    store.delete(upload.complete_name)  # the completion hook failed: the service removes it

    upload.complete()  # the same state: nothing of the first completion was recorded

    assert object_bytes(s3, upload.key(upload.complete_name)) == upload.data


def test_a_completion_the_store_no_longer_knows_goes_on_from_the_assembled_file(s3, store):
    """Stores that forget a completed multipart upload (NoSuchUpload) refuse a second
    completion; the assembled file under the incomplete name is then copied as it is."""
    upload = StoredUpload(store, os.urandom(2 * CHUNK + 10))
    upload.store_all()
    upload.complete()
    store.delete(upload.complete_name)
    upload.state = {**upload.state, "multipart": "forgotten-by-the-store"}

    upload.complete()

    assert object_bytes(s3, upload.key(upload.complete_name)) == upload.data


def test_completion_refuses_a_chunk_not_settled_yet(store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK))
    upload.store_chunk(0)
    upload.store_chunk(CHUNK)
    upload.settle(0)

    with pytest.raises(ChunkStorageError, match="not a part"):
        upload.complete()


def test_completion_refuses_missing_bytes(store):
    upload = StoredUpload(store, os.urandom(3 * CHUNK))
    for start in (0, 2 * CHUNK):
        upload.store_chunk(start)
        upload.settle(start)

    with pytest.raises(ChunkStorageError, match="missing"):
        upload.complete()


def test_deleting_an_unfinished_upload_leaves_no_objects_or_multipart_uploads(s3, store):
    upload = StoredUpload(store, os.urandom(3 * CHUNK))
    for start in upload.starts():
        upload.store_chunk(start)
    upload.settle(0)  # one part in the multipart upload, two staged objects
    upload.write(CHUNK)  # and a write in flight

    store.delete(upload.name, upload.state)

    assert keys(s3) == []
    assert pending_multipart_uploads(s3) == []


def test_an_abandoned_chunk_leaves_no_object(s3, store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK))
    piece = upload.write(0)

    store.abandon_range(upload.name, 0, CHUNK - 1, upload.state, piece)

    assert keys(s3) == []


def test_two_attempts_at_the_same_range_leave_only_the_recorded_one(s3, store):
    upload = StoredUpload(store, os.urandom(CHUNK + 10))
    winner = upload.write(0)
    loser = upload.write(0, os.urandom(CHUNK))  # written at the same time, under its own name
    upload.record(0, winner)

    store.abandon_range(upload.name, 0, CHUNK - 1, upload.state, loser)

    assert staged(s3, upload) == [winner["staged"]]
    upload.store_chunk(CHUNK)
    upload.settle(0)
    upload.settle(CHUNK)
    upload.complete()
    assert object_bytes(s3, upload.key(upload.complete_name)) == upload.data


def test_abandoning_never_removes_a_recorded_chunk(s3, store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK))
    upload.store_chunk(0)
    recorded = store.piece(upload.state, 0)

    store.abandon_range(upload.name, 0, CHUNK - 1, upload.state, recorded)

    assert staged(s3, upload) == [recorded["staged"]]


def test_a_chunk_recorded_again_replaces_the_first_staged_object(s3, store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK))
    upload.store_chunk(0)

    upload.store_chunk(0)

    assert staged(s3, upload) == [store.piece(upload.state, 0)["staged"]]


def test_a_chunk_settled_by_two_requests_is_one_part(s3, store):
    """A request whose hashing lease ran out may settle a chunk its successor settles too."""
    upload = StoredUpload(store, os.urandom(CHUNK + 10))
    for start in upload.starts():
        upload.store_chunk(start)
    stale = store.settle_range(upload.name, 0, CHUNK, upload.state, store.piece(upload.state, 0))

    upload.settle(0)

    assert stale == store.piece(upload.state, 0)
    upload.settle(CHUNK)
    upload.complete()
    assert object_bytes(s3, upload.key(upload.complete_name)) == upload.data


def test_a_parallel_upload_reads_back_whole_while_its_chunks_are_staged(store):
    upload = StoredUpload(store, os.urandom(2 * CHUNK + 10))
    for start in reversed(upload.starts()):
        upload.store_chunk(start)

    assert b"".join(store.read(upload.name, len(upload.data), upload.state)) == upload.data


def test_reading_back_a_parallel_upload_with_a_settled_chunk_is_refused(store):
    """A settled chunk is a part of an unfinished multipart upload, which S3 cannot read."""
    upload = StoredUpload(store, os.urandom(2 * CHUNK))
    upload.store_all()

    with pytest.raises(ChunkStorageError, match="cannot read back"):
        b"".join(store.read(upload.name, len(upload.data), upload.state))


def test_recording_a_range_leaves_the_state_it_started_from_as_it_was(store):
    upload = StoredUpload(store, os.urandom(CHUNK))
    before = upload.state
    piece = upload.write(0)

    after = store.record_range(before, 0, CHUNK, piece)

    assert (before["pieces"], after["pieces"]) == ({}, {"0": piece})


def test_a_parallel_upload_takes_no_serial_writes(store):
    upload = StoredUpload(store, os.urandom(CHUNK))

    with pytest.raises(ChunkStorageError, match="parallel upload"):
        store.write(upload.name, 0, blocks(upload.data), upload.state)


def test_chunks_below_s3s_smallest_part_are_refused(store):
    with pytest.raises(ChunkStorageError, match="smallest part"):
        StoredUpload(store, os.urandom(3 * MIB), chunk_size=MIB)


# Through the API -----------------------------------------------------------------------------

CREATE_UPLOAD = """
mutation Create($filename: String!, $totalSize: BigInt!, $chunkSize: BigInt) {
    createUpload(filename: $filename, totalSize: $totalSize, parallel: true,
                 chunkSize: $chunkSize) {
        __typename
        ... on ChunkedUpload { id parallel chunkSize offset }
        ... on UploadError { code message }
    }
}
"""

SEND_CHUNK = """
mutation Send($uploadId: ID, $file: Upload, $contentRange: String, $chunkChecksum: String) {
    uploadChunk(uploadId: $uploadId, file: $file, contentRange: $contentRange,
                chunkChecksum: $chunkChecksum) {
        __typename
        ... on ChunkedUpload { id offset missingRanges { start end } }
        ... on UploadError { code message }
    }
}
"""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def starts_in_any_order(total: int, seed: int = 14) -> list[int]:
    starts = list(range(0, total, CHUNK))
    random.Random(seed).shuffle(starts)
    return starts


def chunk_variables(upload_id: str, data: bytes, start: int) -> dict[str, Any]:
    chunk = data[start : start + CHUNK]
    return {
        "uploadId": upload_id,
        "contentRange": content_range(start, len(chunk), len(data)),
        "chunkChecksum": sha256(chunk),
    }


def create(api: Any, data: bytes) -> str:
    variables = {"filename": "parallel.bin", "totalSize": len(data), "chunkSize": CHUNK}
    created = api.execute(CREATE_UPLOAD, variables)["createUpload"]
    assert created["__typename"] == "ChunkedUpload", created
    upload_id: str = created["id"]
    return upload_id


def send(api: Any, upload_id: str, data: bytes, start: int) -> dict[str, Any]:
    chunk = data[start : start + CHUNK]
    variables = chunk_variables(upload_id, data, start)
    answer: dict[str, Any] = api.execute(SEND_CHUNK, variables, files={"file": chunk})[
        "uploadChunk"
    ]
    assert answer["__typename"] == "ChunkedUpload", answer
    return answer


def test_a_parallel_upload_sent_out_of_order_completes_byte_exact(api, s3):
    data = os.urandom(3 * CHUNK + 1234)
    upload_id = create(api, data)
    for start in starts_in_any_order(len(data)):
        send(api, upload_id, data, start)

    completed = api.complete(upload_id, md5(data))

    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(upload_id)) == data


def test_an_algorithm_hashed_only_at_completion_reads_the_staged_chunks_once(api, s3, settings):
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha3_256"
    data = os.urandom(2 * CHUNK + 1234)
    upload_id = create(api, data)
    for start in starts_in_any_order(len(data)):
        send(api, upload_id, data, start)

    wrong = api.complete(upload_id, hashlib.sha3_256(b"other").hexdigest())
    completed = api.complete(upload_id, hashlib.sha3_256(data).hexdigest())

    assert wrong["__typename"] == "ChecksumMismatch", wrong
    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(upload_id)) == data
    assert keys(s3) == [completed_key(upload_id)]


def test_a_completed_parallel_upload_leaves_only_the_file(api, s3):
    data = os.urandom(2 * CHUNK + 1234)
    upload_id = create(api, data)
    for start in starts_in_any_order(len(data)):
        send(api, upload_id, data, start)

    api.complete(upload_id, md5(data))

    assert keys(s3) == [completed_key(upload_id)]
    assert pending_multipart_uploads(s3) == []


def test_a_cancelled_parallel_upload_leaves_no_objects_or_multipart_uploads(api, s3):
    data = os.urandom(3 * CHUNK)
    upload_id = create(api, data)
    for start in (2 * CHUNK, 0):  # one chunk ahead of the prefix, one at it
        send(api, upload_id, data, start)

    assert api.cancel(upload_id)["__typename"] == "CancelledUpload"

    assert keys(s3) == []
    assert pending_multipart_uploads(s3) == []


def test_storage_failure_mid_chunk_of_a_parallel_upload_leaves_it_resumable(
    api, s3, settings, moto_server
):
    """The object store stops answering while a chunk at the gap-free prefix is written (a
    chunk ahead of it staged already): the client gets a retryable error, the range stays
    missing and nothing of it is recorded, and once the store is back the same range is sent
    again and the upload completes byte-exact."""
    settings.AWS_S3_CLIENT_CONFIG = Config(
        connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"}
    )
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = "storages.backends.s3.S3Storage"  # rebuilt
    data = os.urandom(3 * CHUNK + 1234)
    upload_id = create(api, data)
    for start in (2 * CHUNK, 0):
        send(api, upload_id, data, start)
    before = ChunkedUpload.objects.get(pk=upload_id)

    os.kill(moto_server.process.pid, signal.SIGSTOP)
    try:
        response = api.post(
            SEND_CHUNK,
            chunk_variables(upload_id, data, CHUNK),
            files={"file": data[CHUNK : 2 * CHUNK]},
        ).json()
    finally:
        os.kill(moto_server.process.pid, signal.SIGCONT)

    error = response["errors"][0]
    assert error["extensions"]["code"] in RETRYABLE_CODES, response
    assert "try again" in error["message"], response
    after = ChunkedUpload.objects.get(pk=upload_id)
    assert (after.stored_ranges, after.offset, after.hashed_offset) == (
        [[0, CHUNK - 1], [2 * CHUNK, 3 * CHUNK - 1]],
        CHUNK,
        before.hashed_offset,
    )
    missing = api.get(upload_id)["missingRanges"]  # as a client resumes
    assert missing == [
        {"start": CHUNK, "end": 2 * CHUNK - 1},
        {"start": 3 * CHUNK, "end": len(data) - 1},
    ]
    for start in (CHUNK, 3 * CHUNK):
        send(api, upload_id, data, start)
    completed = api.complete(upload_id, md5(data))

    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(upload_id)) == data
    assert keys(s3) == [completed_key(upload_id)]
    assert pending_multipart_uploads(s3) == []


# Two app servers sharing the database and the bucket -------------------------------------


@pytest.fixture
def callers(s3: Any, gunicorn: Any, user: Any) -> tuple[Http, Http]:
    """The user's caller of each of two servers sharing the database and the bucket."""
    servers = [gunicorn(workers=2, settings=s3.settings) for _ in range(2)]
    return Http(servers[0], user), Http(servers[1], user)


def http_send(http: Http, upload_id: str, data: bytes, start: int) -> dict[str, Any]:
    chunk = data[start : start + CHUNK]
    answer: dict[str, Any] = http.post(
        SEND_CHUNK, chunk_variables(upload_id, data, start), file=chunk
    )["uploadChunk"]
    return answer


def http_create(http: Http, data: bytes) -> str:
    variables = {"filename": "parallel.bin", "totalSize": len(data), "chunkSize": CHUNK}
    created = http.post(CREATE_UPLOAD, variables)["createUpload"]
    assert created["__typename"] == "ChunkedUpload", created
    upload_id: str = created["id"]
    return upload_id


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_chunks_sent_at_once_to_two_servers_complete_byte_exact(s3, callers):
    data = os.urandom(6 * CHUNK + 1234)
    upload_id = http_create(callers[0], data)
    starts = starts_in_any_order(len(data))

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda turn: http_send(callers[turn % 2], upload_id, data, starts[turn]),
                range(len(starts)),
            )
        )
    completed = callers[1].complete(upload_id, md5(data))

    assert {answer["__typename"] for answer in answers} == {"ChunkedUpload"}, answers
    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(upload_id)) == data


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_same_chunk_raced_across_two_servers_is_stored_once(s3, callers):
    data = os.urandom(2 * CHUNK + 1234)
    upload_id = http_create(callers[0], data)
    barrier = threading.Barrier(2)

    def race(http: Http) -> dict[str, Any]:
        barrier.wait()
        return http_send(http, upload_id, data, CHUNK)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(race, callers))
    for start in (0, 2 * CHUNK):
        http_send(callers[0], upload_id, data, start)
    completed = callers[1].complete(upload_id, md5(data))

    assert [answer["__typename"] for answer in answers] == ["ChunkedUpload"] * 2, answers
    assert completed["status"] == "COMPLETE", completed
    assert object_bytes(s3, completed_key(upload_id)) == data
    assert keys(s3) == [completed_key(upload_id)]

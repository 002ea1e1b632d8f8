"""Many requests racing on one upload leave it consistent, across server processes.

A gunicorn server with 4 sync workers (so the racing requests run in different processes, sharing
only the database and the media root) gets, round after round, 10 or more requests released at
the same moment from threads waiting at a barrier, all aimed at one upload: copies of the same
chunk, the next chunk, the chunk after it, `completeUpload`, `cancelUpload`. After every round:

- every request got HTTP 200 with a `ChunkedUpload` (or `CancelledUpload`) or a typed error of
  the specification (docs/specification.md), never a 500 nor an untyped GraphQL error;
- the row's offset equals the size of the stored file, whose bytes are the source's prefix, and
  no other file of the upload exists;
- the upload completed at most once: the completion hook, which runs where the
  `upload_completed` signal is sent, records each completion in a file shared by the workers;
- a cancelled upload has neither row nor bytes left.

On SQLite the row lock is the database's write lock; on PostgreSQL (`DATABASE_URL`) it is
`SELECT ... FOR UPDATE`; the bytes are guarded by a lock on the stored file.

Parallel uploads (specification §9) race the same way: copies of one range, different ranges at
once, completions, cancels. After every round the stored ranges hold the expected bytes, the
offset is their gap-free prefix, every stored byte has been hashed into the upload's hash state
and no request still holds the hashing lease, and each stored chunk's chunkChecksum is that of
the bytes kept for it.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from chunked_graphql import ranges
from chunked_graphql.exceptions import typed_errors
from chunked_graphql.hashing import resume_hash
from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import chunk_checksum
from tests.support.http_api import Http, content_range
from tests.support.uploads import files_under

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024
SIZE = 384 * KIB
WORKERS = 4
# Parallel uploads: chunks of the file system's smallest parallel chunk size, six of them, the
# last one short.
CHUNK = 64 * KIB
PARALLEL_SIZE = 6 * CHUNK - 1000
STARTS = list(range(0, PARALLEL_SIZE, CHUNK))
LAST = STARTS[-1]

# The typed errors (specification §2, made from the exception table): GraphQL type, code,
# httpStatus.
TYPED_ERRORS = {error.__name__: (error.code.value, error.http_status) for error in typed_errors()}


def record_completion(upload: Any, request: Any) -> None:
    """The servers' completion hook: one line per completion, appended to the file named by the
    ``RACES_COMPLETION_LOG`` setting (an append of one short line is atomic across processes)."""
    from django.conf import settings

    with open(settings.RACES_COMPLETION_LOG, "a") as log:
        log.write(f"{upload.pk}\n")


@dataclass
class Answer:
    """One racer's request and what it got."""

    kind: str  # "chunk", "complete" or "cancel"
    start: int | None  # the chunk's first byte
    result: dict[str, Any]
    sent: bytes | None = None  # the chunk's bytes (parallel uploads)

    @property
    def typename(self) -> str:
        return str(self.result["__typename"])

    @property
    def succeeded(self) -> bool:
        return self.typename in {"ChunkedUpload", "CancelledUpload"}


class Racer:
    """Requests to the server as the upload's owner, checked to be well-formed answers."""

    def __init__(self, http: Http, data: bytes) -> None:
        self.http = http
        self.data = data

    def _answer(self, response: requests.Response, field: str, members: set[str]) -> Any:
        assert response.status_code == 200, (response.status_code, response.text[:2000])
        body = response.json()
        assert "errors" not in body, body
        result = body["data"][field]
        typename = result["__typename"]
        assert typename in members, result
        if typename in TYPED_ERRORS:
            assert (result["code"], result["httpStatus"]) == TYPED_ERRORS[typename], result
            assert result["message"].strip(), result
        return result

    def chunk(self, start: int, end: int, upload_id: str | None) -> Answer:
        response = self.http.send_chunk(
            self.data[start:end],
            f"bytes {start}-{end - 1}/{len(self.data)}",
            upload_id,
            filename="race.bin",
        )
        members = {"ChunkedUpload", *TYPED_ERRORS}
        return Answer("chunk", start, self._answer(response, "uploadChunk", members))

    def complete(self, upload_id: str, data: bytes | None = None) -> Answer:
        """Complete with the checksum of ``data`` (the source by default)."""
        checksum = hashlib.md5(self.data if data is None else data).hexdigest()
        response = self.http.send_complete(upload_id, checksum)
        members = {"ChunkedUpload", *TYPED_ERRORS}
        return Answer("complete", None, self._answer(response, "completeUpload", members))

    def cancel(self, upload_id: str) -> Answer:
        response = self.http.send_cancel(upload_id)
        members = {"CancelledUpload", "UploadNotFound", "UploadAlreadyComplete"}
        return Answer("cancel", None, self._answer(response, "cancelUpload", members))

    def start_upload(self, end: int) -> str:
        """A new upload holding the source's first ``end`` bytes, sent in one chunk."""
        first = self.chunk(0, end, None)
        assert first.typename == "ChunkedUpload", first.result
        return str(first.result["id"])

    # Parallel uploads.

    def chunk_at(
        self, start: int, upload_id: str, piece: bytes | None = None, checksummed: bool = True
    ) -> Answer:
        """The chunk of the parallel upload at ``start``: the source's bytes, or ``piece``
        instead, with their chunkChecksum unless ``checksummed`` is false."""
        if piece is None:
            piece = self.data[start : start + CHUNK]
        response = self.http.send_chunk(
            piece,
            content_range(start, len(piece), len(self.data)),
            upload_id,
            filename=None,
            chunk_checksum=chunk_checksum(piece) if checksummed else None,
        )
        members = {"ChunkedUpload", *TYPED_ERRORS}
        return Answer("chunk", start, self._answer(response, "uploadChunk", members), piece)

    def start_parallel(self, starts: Sequence[int]) -> str:
        """A new parallel upload holding the source's chunks at ``starts``, sent one by one."""
        response = self.http.send_create(
            len(self.data), parallel=True, chunk_size=CHUNK, filename="race.bin"
        )
        upload_id = str(self._answer(response, "createUpload", {"ChunkedUpload"})["id"])
        for start in starts:
            answer = self.chunk_at(start, upload_id)
            assert answer.typename == "ChunkedUpload", answer.result
        return upload_id


def race(calls: Sequence[Callable[[], Answer]]) -> list[Answer]:
    """Run every call at once, each from its own thread released by one barrier."""
    barrier = threading.Barrier(len(calls))
    answers: list[Answer | None] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], Answer]) -> None:
        try:
            barrier.wait(timeout=60)
            answers[index] = call()
        except BaseException as error:  # reported in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    if failures:
        raise failures[0]
    assert all(answer is not None for answer in answers), "a racer did not finish"
    return [answer for answer in answers if answer is not None]


def source(seed: int) -> bytes:
    """The same pseudo-random bytes on every run."""
    return random.Random(seed).randbytes(SIZE)


class Checker:
    """What the database, the media root and the completion log say about an upload."""

    def __init__(self, media_root: Path, completion_log: Path) -> None:
        self.media_root = media_root
        self.completion_log = completion_log

    def completions(self, upload_id: str) -> int:
        if not self.completion_log.exists():
            return 0
        return self.completion_log.read_text().split().count(upload_id)

    def files_of(self, upload_id: str) -> list[str]:
        return [name for name in files_under(self.media_root) if upload_id in name]

    def consistent(self, upload_id: str, data: bytes) -> ChunkedUpload | None:
        """The upload's row, checked against its stored bytes; ``None`` if it is gone, and then
        checked to have left no bytes behind."""
        upload = ChunkedUpload.objects.filter(pk=upload_id).first()
        if upload is None:
            assert self.files_of(upload_id) == [], "a cancelled upload left bytes behind"
            assert self.completions(upload_id) == 0
            return None
        assert self.files_of(upload_id) == [upload.file.name], self.files_of(upload_id)
        stored = (self.media_root / upload.file.name).read_bytes()
        assert upload.offset == len(stored), (upload.offset, len(stored))
        assert stored == data[: upload.offset], "the stored bytes are not the source's prefix"
        assert upload.total_size == len(data)
        if upload.status == ChunkedUpload.COMPLETE:
            assert upload.offset == len(data)
            assert upload.file.name.endswith(".done")
            assert self.completions(upload_id) == 1
        else:
            assert upload.file.name.endswith(".part")
            assert self.completions(upload_id) == 0
        return upload

    def consistent_parallel(self, upload_id: str, data: bytes) -> ChunkedUpload | None:
        """As ``consistent``, for a parallel upload whose bytes should be ``data``: the row's
        ranges, offset, hash state and chunk checksums checked against its stored bytes."""
        upload = ChunkedUpload.objects.filter(pk=upload_id).first()
        if upload is None:
            assert self.files_of(upload_id) == [], "a cancelled upload left bytes behind"
            assert self.completions(upload_id) == 0
            return None
        assert upload.parallel and upload.total_size == len(data)
        assert self.files_of(upload_id) == [upload.file.name], self.files_of(upload_id)
        stored = (self.media_root / upload.file.name).read_bytes()
        assert len(stored) <= len(data)
        kept = upload.stored_ranges or []
        for start, end in kept:
            assert stored[start : end + 1] == data[start : end + 1], (start, end)
        assert upload.offset == ranges.prefix(kept)
        # Every request has been answered: none may still hold the lease, nor have left a
        # stored chunk unhashed behind the prefix.
        assert upload.hashing_until is None, "a request left the hashing lease held"
        assert upload.hashed_offset == upload.offset, (upload.hashed_offset, upload.offset)
        hashed = resume_hash("md5", upload.hash_state, upload.hashed_offset)
        assert hashed is not None
        assert hashed.hexdigest() == hashlib.md5(data[: upload.offset]).hexdigest()
        starts = [s for low, high in kept for s in range(low, high + 1, CHUNK)]
        assert upload.chunk_checksums == {
            str(s): chunk_checksum(data[s : s + CHUNK]) for s in starts
        }, "a chunkChecksum kept is not that of the bytes kept"
        if upload.status == ChunkedUpload.COMPLETE:
            assert stored == data
            assert upload.file.name.endswith(".done")
            assert self.completions(upload_id) == 1
        else:
            assert upload.file.name.endswith(".part")
            assert self.completions(upload_id) == 0
        return upload


@pytest.fixture
def completion_log(tmp_path: Path) -> Path:
    return tmp_path / "completions.log"


@pytest.fixture
def server(gunicorn: Any, completion_log: Path) -> Any:
    return gunicorn(
        workers=WORKERS,
        settings={
            "CHUNKED_GRAPHQL_COMPLETION_HOOK": "tests.e2e.test_races.record_completion",
            "RACES_COMPLETION_LOG": str(completion_log),
        },
    )


@pytest.fixture
def racer_for(server: Any, user: Any) -> Callable[[bytes], Racer]:
    http = Http(server, user, timeout=120)
    return lambda data: Racer(http, data)


@pytest.fixture
def check(media_root: Path, completion_log: Path) -> Checker:
    return Checker(media_root, completion_log)


def kinds(answers: list[Answer], kind: str) -> list[Answer]:
    return [answer for answer in answers if answer.kind == kind]


def typenames(answers: list[Answer]) -> Counter[str]:
    return Counter(answer.typename for answer in answers)


def assert_completed_once(
    racer: Racer,
    check: Checker,
    upload_id: str,
    completions: list[Answer],
    size: int,
    consistent: Callable[[], Any],
) -> None:
    """Completions raced the last bytes of ``upload_id`` (``size`` bytes, all now stored, as
    ``consistent()`` checks and returns): at most one completed it, and once completed, here
    if none did, it stays completed once."""
    completed = [answer for answer in completions if answer.succeeded]
    assert len(completed) <= 1
    upload = consistent()
    assert upload is not None and upload.offset == size
    assert check.completions(upload_id) == len(completed)
    assert (upload.status == ChunkedUpload.COMPLETE) == bool(completed)

    if not completed:  # every completion came before the last bytes: complete it now
        assert racer.complete(upload_id).result["status"] == "COMPLETE"
    assert consistent() is not None
    assert racer.complete(upload_id).typename == "UploadAlreadyComplete"
    assert check.completions(upload_id) == 1


def assert_one_outcome(
    upload_id: str, completions: list[Answer], cancels: list[Answer], upload: Any
) -> None:
    """Completions and cancels raced on ``upload_id`` (its row now ``upload``, or None): the
    upload was either completed once or cancelled once, and every other caller was told so."""
    completed = [answer for answer in completions if answer.succeeded]
    cancelled = [answer for answer in cancels if answer.succeeded]
    assert len(completed) <= 1
    assert len(cancelled) <= 1
    assert not (completed and cancelled), "an upload was both completed and cancelled"
    if cancelled:
        assert upload is None
        assert cancelled[0].result["id"] == upload_id
        assert set(typenames(cancels)) <= {"CancelledUpload", "UploadNotFound"}
    else:
        # A cancel that found the upload still open would have deleted it.
        assert upload is not None and upload.status == ChunkedUpload.COMPLETE
        assert len(completed) == 1
        assert set(typenames(cancels)) == {"UploadAlreadyComplete"}


# Same chunk ---------------------------------------------------------------------------------------


def test_copies_of_one_chunk_racing_store_it_once(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    chunk, racers = 64 * KIB, 10
    data = source(1)
    racer = racer_for(data)
    upload_id = racer.start_upload(chunk)

    for start in range(chunk, SIZE, chunk):
        answers = race([partial(racer.chunk, start, start + chunk, upload_id)] * racers)

        assert typenames(answers) == {"ChunkedUpload": 1, "OffsetMismatch": racers - 1}
        for answer in answers:
            if answer.succeeded:
                assert answer.result["offset"] == start + chunk
            else:
                assert answer.result["expectedOffset"] == start + chunk
                assert answer.result["providedOffset"] == start
        upload = check.consistent(upload_id, data)
        assert upload is not None and upload.offset == start + chunk

    assert racer.complete(upload_id).result["status"] == "COMPLETE"
    upload = check.consistent(upload_id, data)
    assert upload is not None and upload.status == ChunkedUpload.COMPLETE


# Next chunk vs duplicates -------------------------------------------------------------------------


def test_next_chunks_racing_duplicates_advance_the_offset_in_order(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    chunk = 32 * KIB
    data = source(2)
    racer = racer_for(data)
    upload_id = racer.start_upload(chunk)
    offset = chunk

    while offset < SIZE:
        # Stale copies of the chunk already stored, the next chunk, and the one after it.
        starts = [offset - chunk] * 3 + [offset] * 4
        if offset + chunk < SIZE:
            starts += [offset + chunk] * 3
        answers = race([partial(racer.chunk, start, start + chunk, upload_id) for start in starts])

        assert set(typenames(answers)) <= {"ChunkedUpload", "OffsetMismatch"}
        stored = sorted(answer.start or 0 for answer in answers if answer.succeeded)
        # One winner per chunk, in order from the offset the round began at.
        assert stored == list(range(offset, offset + chunk * len(stored), chunk)), stored
        assert 1 <= len(stored) <= 2
        for answer in answers:
            if not answer.succeeded:
                assert answer.result["providedOffset"] == answer.start
                assert answer.result["expectedOffset"] != answer.start
        offset += chunk * len(stored)
        upload = check.consistent(upload_id, data)
        assert upload is not None and upload.offset == offset

    assert racer.complete(upload_id).result["status"] == "COMPLETE"
    assert check.consistent(upload_id, data) is not None


# Completion vs chunk ------------------------------------------------------------------------------


def test_completions_racing_the_last_chunk_complete_at_most_once(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    chunk, racers = 64 * KIB, 5
    for round_number in range(4):
        data = source(30 + round_number)
        racer = racer_for(data)
        upload_id = racer.start_upload(SIZE - chunk)

        answers = race(
            [partial(racer.chunk, SIZE - chunk, SIZE, upload_id)] * racers
            + [partial(racer.complete, upload_id)] * racers
        )

        chunks, completions = kinds(answers, "chunk"), kinds(answers, "complete")
        assert typenames(chunks)["ChunkedUpload"] == 1, typenames(chunks)
        assert set(typenames(chunks)) <= {
            "ChunkedUpload",
            "OffsetMismatch",
            "UploadAlreadyComplete",
        }
        assert set(typenames(completions)) <= {
            "ChunkedUpload",
            "UploadIncomplete",
            "UploadAlreadyComplete",
        }
        consistent = partial(check.consistent, upload_id, data)
        assert_completed_once(racer, check, upload_id, completions, SIZE, consistent)


def test_completions_racing_copies_of_the_last_chunk_complete_once(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    chunk, racers = 64 * KIB, 6
    for round_number in range(4):
        data = source(40 + round_number)
        racer = racer_for(data)
        upload_id = racer.start_upload(SIZE)

        answers = race(
            [partial(racer.chunk, SIZE - chunk, SIZE, upload_id)] * racers
            + [partial(racer.complete, upload_id)] * racers
        )

        chunks, completions = kinds(answers, "chunk"), kinds(answers, "complete")
        assert set(typenames(chunks)) <= {"OffsetMismatch", "UploadAlreadyComplete"}
        assert typenames(completions) == {"ChunkedUpload": 1, "UploadAlreadyComplete": racers - 1}
        upload = check.consistent(upload_id, data)
        assert upload is not None and upload.status == ChunkedUpload.COMPLETE
        assert check.completions(upload_id) == 1


# Cancel vs chunk vs completion --------------------------------------------------------------------


def test_cancel_racing_chunks_and_completions_leaves_one_outcome(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    chunk = 64 * KIB
    for round_number in range(6):
        data = source(50 + round_number)
        racer = racer_for(data)
        # Every other round all bytes are in already, so a completion can win from the start.
        upload_id = racer.start_upload(SIZE - chunk if round_number % 2 else SIZE)

        answers = race(
            [partial(racer.chunk, SIZE - 2 * chunk, SIZE - chunk, upload_id)] * 2
            + [partial(racer.chunk, SIZE - chunk, SIZE, upload_id)] * 4
            + [partial(racer.complete, upload_id)] * 3
            + [partial(racer.cancel, upload_id)] * 3
        )

        chunks, completions = kinds(answers, "chunk"), kinds(answers, "complete")
        cancels = kinds(answers, "cancel")
        assert set(typenames(chunks)) <= {
            "ChunkedUpload",
            "OffsetMismatch",
            "UploadNotFound",
            "UploadAlreadyComplete",
        }
        assert set(typenames(completions)) <= {
            "ChunkedUpload",
            "UploadIncomplete",
            "UploadNotFound",
            "UploadAlreadyComplete",
        }
        assert sum(answer.succeeded for answer in chunks) <= 1
        assert_one_outcome(upload_id, completions, cancels, check.consistent(upload_id, data))


def test_cancels_racing_next_chunks_leave_no_bytes(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    chunk = 32 * KIB
    for round_number in range(6):
        data = source(60 + round_number)
        racer = racer_for(data)
        upload_id = racer.start_upload(2 * chunk)

        answers = race(
            [partial(racer.chunk, 2 * chunk, 3 * chunk, upload_id)] * 5
            + [partial(racer.chunk, 3 * chunk, 4 * chunk, upload_id)] * 3
            + [partial(racer.cancel, upload_id)] * 3
        )

        chunks, cancels = kinds(answers, "chunk"), kinds(answers, "cancel")
        assert set(typenames(chunks)) <= {"ChunkedUpload", "OffsetMismatch", "UploadNotFound"}
        assert typenames(cancels) == {"CancelledUpload": 1, "UploadNotFound": 2}
        assert check.consistent(upload_id, data) is None


# Parallel uploads ---------------------------------------------------------------------------------


def parallel_source(seed: int) -> bytes:
    return random.Random(seed).randbytes(PARALLEL_SIZE)


def size_at(start: int) -> int:
    return min(CHUNK, PARALLEL_SIZE - start)


def missing(answer: Answer, start: int) -> bool:
    """Whether the upload in ``answer`` lists any byte of the chunk at ``start`` as missing."""
    end = start + size_at(start) - 1
    gaps = [[gap["start"], gap["end"]] for gap in answer.result["missingRanges"]]
    return ranges.overlaps(gaps, start, end)


def test_parallel_copies_of_one_range_racing_store_it_once(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    data = parallel_source(70)
    racer = racer_for(data)
    upload_id = racer.start_parallel([])
    expected = bytearray(data)
    others = random.Random(71)

    for start in [2 * CHUNK, 0, LAST, CHUNK, 4 * CHUNK, 3 * CHUNK]:
        # Copies of the source's bytes and copies of other bytes, each with its chunkChecksum.
        other = others.randbytes(size_at(start))
        answers = race(
            [partial(racer.chunk_at, start, upload_id)] * 5
            + [partial(racer.chunk_at, start, upload_id, other)] * 3
        )

        kept = (check.media_root / ChunkedUpload.objects.get(pk=upload_id).file.name).read_bytes()
        winner = kept[start : start + size_at(start)]
        assert winner in (data[start : start + size_at(start)], other)
        for answer in answers:
            if answer.sent == winner:
                # Answered once the range was stored, by this copy or another.
                assert answer.typename == "ChunkedUpload", answer.result
                assert not missing(answer, start), answer.result
            else:
                assert answer.typename == "ChunkChecksumMismatch", answer.result
        expected[start : start + size_at(start)] = winner
        assert check.consistent_parallel(upload_id, bytes(expected)) is not None

    assert racer.complete(upload_id, bytes(expected)).result["status"] == "COMPLETE"
    upload = check.consistent_parallel(upload_id, bytes(expected))
    assert upload is not None and upload.status == ChunkedUpload.COMPLETE


def test_parallel_different_ranges_sent_at_once_are_all_stored(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    for round_number in range(3):
        data = parallel_source(80 + round_number)
        racer = racer_for(data)
        upload_id = racer.start_parallel([])

        answers = race([partial(racer.chunk_at, start, upload_id) for start in STARTS])

        assert typenames(answers) == {"ChunkedUpload": len(STARTS)}
        for answer in answers:
            assert not missing(answer, answer.start or 0), answer.result
        upload = check.consistent_parallel(upload_id, data)
        assert upload is not None and upload.stored_ranges == [[0, PARALLEL_SIZE - 1]]
        assert racer.complete(upload_id).result["status"] == "COMPLETE"
        assert check.consistent_parallel(upload_id, data) is not None


def test_parallel_completions_racing_the_last_chunks_complete_at_most_once(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    # A chunk in the middle and the last one are missing: the one in the middle lets the
    # prefix reach the chunks after it, which then wait to be hashed.
    absent = [2 * CHUNK, LAST]
    for round_number in range(4):
        data = parallel_source(90 + round_number)
        racer = racer_for(data)
        upload_id = racer.start_parallel([start for start in STARTS if start not in absent])

        answers = race(
            [partial(racer.chunk_at, start, upload_id) for start in absent] * 2
            + [partial(racer.complete, upload_id)] * 5
        )

        chunks, completions = kinds(answers, "chunk"), kinds(answers, "complete")
        assert set(typenames(chunks)) <= {"ChunkedUpload", "UploadAlreadyComplete"}
        for start in absent:  # stored by one of its copies
            assert any(a.succeeded for a in chunks if a.start == start), typenames(chunks)
        assert set(typenames(completions)) <= {
            "ChunkedUpload",
            "UploadIncomplete",
            "UploadAlreadyComplete",
        }
        for answer in completions:
            if answer.typename == "UploadIncomplete":
                assert answer.result["missingRanges"], answer.result
        consistent = partial(check.consistent_parallel, upload_id, data)
        assert_completed_once(racer, check, upload_id, completions, PARALLEL_SIZE, consistent)


def test_parallel_chunks_racing_a_completion_never_reopen_the_upload(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    others = random.Random(101)
    for round_number in range(3):
        data = parallel_source(100 + round_number)
        racer = racer_for(data)
        upload_id = racer.start_parallel(STARTS)

        # Every chunk sent again, as it was and with other bytes and no chunkChecksum.
        answers = race(
            [partial(racer.complete, upload_id)]
            + [partial(racer.chunk_at, start, upload_id) for start in STARTS]
            + [
                partial(racer.chunk_at, start, upload_id, others.randbytes(size_at(start)), False)
                for start in STARTS
            ]
        )

        chunks, completions = kinds(answers, "chunk"), kinds(answers, "complete")
        assert typenames(completions) == {"ChunkedUpload": 1}
        assert set(typenames(chunks)) <= {"ChunkedUpload", "UploadAlreadyComplete"}
        for answer in chunks:
            if answer.succeeded:  # answered before the completion, with the upload unchanged
                assert answer.result["status"] == "UPLOADING", answer.result
                assert answer.result["missingRanges"] == [], answer.result
        upload = check.consistent_parallel(upload_id, data)
        assert upload is not None and upload.status == ChunkedUpload.COMPLETE
        late = racer.chunk_at(0, upload_id)
        assert late.typename == "UploadAlreadyComplete", late.result
        assert check.consistent_parallel(upload_id, data) is not None


def test_parallel_cancel_racing_chunks_and_completions_leaves_one_outcome(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    for round_number in range(6):
        data = parallel_source(110 + round_number)
        racer = racer_for(data)
        # Every other round all bytes are in already, so a completion can win from the start;
        # in the others the first chunk and the last are missing, so the one storing the first
        # goes on to hash the chunks after it while the cancels run.
        upload_id = racer.start_parallel(STARTS if round_number % 2 else STARTS[1:-1])

        answers = race(
            [partial(racer.chunk_at, 0, upload_id)] * 2
            + [partial(racer.chunk_at, LAST, upload_id)] * 3
            + [partial(racer.complete, upload_id)] * 3
            + [partial(racer.cancel, upload_id)] * 3
        )

        chunks, completions = kinds(answers, "chunk"), kinds(answers, "complete")
        cancels = kinds(answers, "cancel")
        assert set(typenames(chunks)) <= {
            "ChunkedUpload",
            "UploadNotFound",
            "UploadAlreadyComplete",
        }
        assert set(typenames(completions)) <= {
            "ChunkedUpload",
            "UploadIncomplete",
            "UploadNotFound",
            "UploadAlreadyComplete",
        }
        upload = check.consistent_parallel(upload_id, data)
        assert_one_outcome(upload_id, completions, cancels, upload)


def test_parallel_cancels_racing_chunks_leave_no_bytes(
    racer_for: Callable[[bytes], Racer], check: Checker
) -> None:
    for round_number in range(6):
        # Many chunks after the first two are in, waiting for the prefix to reach them: the
        # request storing the second goes on to hash them, one by one, while the cancels run.
        data = random.Random(120 + round_number).randbytes(16 * CHUNK - 1000)
        racer = racer_for(data)
        upload_id = racer.start_parallel([])
        ahead = race(
            [
                partial(racer.chunk_at, start, upload_id)
                for start in range(2 * CHUNK, len(data), CHUNK)
            ]
        )
        assert typenames(ahead) == {"ChunkedUpload": len(ahead)}

        answers = race(
            [partial(racer.chunk_at, 0, upload_id)] * 3
            + [partial(racer.chunk_at, CHUNK, upload_id)] * 3
            + [partial(racer.cancel, upload_id)] * 3
        )

        chunks, cancels = kinds(answers, "chunk"), kinds(answers, "cancel")
        assert set(typenames(chunks)) <= {"ChunkedUpload", "UploadNotFound"}
        assert typenames(cancels) == {"CancelledUpload": 1, "UploadNotFound": 2}
        assert check.consistent_parallel(upload_id, data) is None


@pytest.fixture
def pausing_server(gunicorn: Any, tmp_path: Path) -> tuple[Any, Path, Path]:
    """A server whose first request to read back a chunk that arrived ahead, to hash it, waits
    just before the read until the test creates the release file (``tests.support.faults``);
    its second worker answers meanwhile. The server, the marker the waiting worker writes, and
    the release file."""
    marker, release = tmp_path / "paused.pid", tmp_path / "release"
    server = gunicorn(
        workers=2,
        app="tests.support.faults:application",
        env={
            "CHUNKED_GRAPHQL_FAULT_STAGE": "hashing",
            "CHUNKED_GRAPHQL_FAULT_MARKER": str(marker),
            "CHUNKED_GRAPHQL_FAULT_RELEASE": str(release),
        },
    )
    return server, marker, release


def test_parallel_cancel_while_chunks_ahead_are_hashed_answers_the_chunk_and_leaves_no_bytes(
    pausing_server: tuple[Any, Path, Path], user: Any, check: Checker
) -> None:
    server, marker, release = pausing_server
    data = parallel_source(130)
    racer = Racer(Http(server, user, timeout=120), data)
    upload_id = racer.start_parallel(STARTS[1:])  # all but the first, waiting for it

    with ThreadPoolExecutor(1) as pool:
        # The first chunk is stored; its request then goes on to hash the chunks after it.
        first = pool.submit(racer.chunk_at, 0, upload_id)
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and not first.done(), server.log()
            time.sleep(0.01)
        cancelled = racer.cancel(upload_id)
        release.touch()
        stored = first.result(timeout=60)

    assert cancelled.typename == "CancelledUpload", cancelled.result
    # Its bytes were stored before the cancel: the cancel took them, not an error.
    assert stored.typename == "ChunkedUpload", stored.result
    assert check.consistent_parallel(upload_id, data) is None

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
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from chunked_graphql.exceptions import typed_errors
from chunked_graphql.models import ChunkedUpload
from tests.support.http_api import Http
from tests.support.uploads import files_under

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024
SIZE = 384 * KIB
WORKERS = 4

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

    def complete(self, upload_id: str) -> Answer:
        checksum = hashlib.md5(self.data).hexdigest()
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
        completed = [answer for answer in completions if answer.succeeded]
        assert len(completed) <= 1
        upload = check.consistent(upload_id, data)
        assert upload is not None and upload.offset == SIZE
        assert check.completions(upload_id) == len(completed)
        assert (upload.status == ChunkedUpload.COMPLETE) == bool(completed)

        if not completed:  # every completion came before the last chunk: complete it now
            assert racer.complete(upload_id).result["status"] == "COMPLETE"
        assert check.consistent(upload_id, data) is not None
        assert racer.complete(upload_id).typename == "UploadAlreadyComplete"
        assert check.completions(upload_id) == 1


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
        completed = [answer for answer in completions if answer.succeeded]
        cancelled = [answer for answer in cancels if answer.succeeded]
        assert len(completed) <= 1
        assert len(cancelled) <= 1
        assert not (completed and cancelled), "an upload was both completed and cancelled"

        upload = check.consistent(upload_id, data)
        if cancelled:
            assert upload is None
            assert cancelled[0].result["id"] == upload_id
            assert set(typenames(cancels)) <= {"CancelledUpload", "UploadNotFound"}
        else:
            # A cancel that found the upload still open would have deleted it.
            assert upload is not None and upload.status == ChunkedUpload.COMPLETE
            assert len(completed) == 1
            assert set(typenames(cancels)) == {"UploadAlreadyComplete"}


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

"""Hostile input through Django's test client: property-based tests (hypothesis) send arbitrary
content ranges, upload ids, filenames and checksums, and every answer is checked against the
specification (docs/specification.md) §3, and §9 for the chunks of a parallel upload: a typed
error (a member of the result union) or HTTP 400 with a JSON body, and a refused request changes
nothing: no row, no stored byte, the offset (for a parallel upload: the stored ranges) unchanged.

The same promise over real HTTP to gunicorn (malformed multipart bodies, dropped connections,
MAX_CHUNK_SIZE, expiry between chunks) is tests/e2e/test_hostile_input.py; a request against
another user's upload is covered by tests/e2e/test_security.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from chunked_graphql.models import ChunkedUpload
from chunked_graphql.settings import DEFAULTS
from chunked_graphql.stores.base import ChunkStore
from tests.support.graphql_client import GraphQLClient, md5
from tests.support.uploads import (
    DATA,
    assert_typed_error,
    assert_unchanged,
    files_under,
    stored_bytes,
)

pytestmark = pytest.mark.django_db


KIB = 1024
MIB = 1024 * KIB
MAX_TOTAL = 2**63 - 1
MAX_CHUNK_SIZE: int = DEFAULTS["MAX_CHUNK_SIZE"]
DIGEST = md5(DATA)

# The examples of one test share its function-scoped fixtures: each example either creates what
# it needs and removes it again, or leaves the fixture's upload as it found it (and asserts so).
HYPOTHESIS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def remove_everything(media_root: Path) -> None:
    """End an example: no row and no stored byte left for the next one."""
    ChunkedUpload.objects.all().delete()
    shutil.rmtree(media_root, ignore_errors=True)


# contentRange ----------------------------------------------------------------------------------

CONTENT_RANGE = re.compile(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)", re.ASCII)


def declared_range(content_range: str, length: int) -> str | tuple[int, int, int]:
    """``(START, END, TOTAL)`` of ``content_range`` sent with a chunk of ``length`` bytes, or the
    ``__typename`` of the error specification §3.2 to §3.5 prescribes for it."""
    if not content_range:
        return "MissingContentRange"
    match = CONTENT_RANGE.fullmatch(content_range)
    if match is None:
        return "InvalidContentRange"
    digits = [group.lstrip("0") or "0" for group in match.groups()]
    if any(len(number) > len(str(MAX_TOTAL)) for number in digits):
        return "InvalidContentRange"
    start, end, total = (int(number) for number in digits)
    if total > MAX_TOTAL or end < start or end >= total:
        return "InvalidContentRange"
    if end - start + 1 > MAX_CHUNK_SIZE:
        return "ChunkTooLarge"
    if end - start + 1 != length:
        return "InvalidContentRange"
    return start, end, total


def expected_chunk_answer(content_range: str, length: int, upload: tuple[int, int] | None) -> str:
    """The ``__typename`` specification §3 prescribes for a chunk of ``length`` bytes sent with
    ``content_range``, to the upload at ``(offset, total)`` or, for ``None``, as a new upload
    (with a valid filename, by a signed-in user)."""
    declared = declared_range(content_range, length)
    if isinstance(declared, str):
        return declared
    start, _end, total = declared
    if upload is None:
        return "OffsetMismatch" if start != 0 else "ChunkedUpload"
    offset, upload_total = upload
    if total != upload_total:
        return "InvalidContentRange"
    return "OffsetMismatch" if start != offset else "ChunkedUpload"


NON_ASCII_DIGITS = str.maketrans(
    "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
)


@st.composite
def content_ranges(draw: st.DrawFn, offset: int, length: int, total: int) -> str:
    """``bytes START-END/TOTAL``: well formed or with one part slightly wrong (a separator,
    non-ASCII digits, something before or after), with the numbers the upload expects or some
    of them changed (off by one, small, far off, up to and beyond 2^63 - 1), leading zeros."""
    well_formed = draw(st.integers(0, 2)) > 0

    def pick(valid: str, *wrong: str) -> str:
        return valid if well_formed else draw(st.sampled_from([valid, *wrong]))

    numbers = [offset, offset + length - 1, total]
    for index in draw(st.sets(st.sampled_from(range(3)), max_size=3)):
        expected = numbers[index]
        numbers[index] = draw(
            st.one_of(
                # Off by one, or equal to (or one past) another of the numbers: END = TOTAL.
                st.sampled_from([expected + 1, abs(expected - 1), 0, *numbers]).flatmap(
                    lambda n: st.sampled_from([n, n + 1])
                ),
                st.integers(0, 40),
                st.sampled_from([MAX_CHUNK_SIZE, MAX_TOTAL - 1, MAX_TOTAL, MAX_TOTAL + 1]),
                st.integers(0, 2**80),
            )
        )

    def spelled(number: int) -> str:
        text = "0" * draw(st.sampled_from([0, 0, 0, 1, 5])) + str(number)
        return pick(text, text.translate(NON_ASCII_DIGITS))

    unit = pick("bytes ", "bytes  ", "Bytes ", "bytes=", " bytes ", "bytes\t", "", "bytes\xa0")
    dash = pick("-", "\u2013", " - ", "--", "")
    slash = pick("/", " / ", "\\", "/*", "")
    suffix = pick("", "\n", " ", "\x00", "/20", "-")
    start, end, size = (spelled(number) for number in numbers)
    return f"{unit}{start}{dash}{end}{slash}{size}{suffix}"


def edge_ranges(offset: int, length: int, total: int) -> st.SearchStrategy[str]:
    """The boundaries of specification §3.3 around the range the upload expects."""
    start, end = offset, offset + length - 1
    return st.sampled_from(
        [
            f"bytes {start}-{end}/{end}",  # END = TOTAL
            f"bytes {start}-{end}/{end + 1}",  # the last byte
            f"bytes {end}-{start}/{total}",  # END < START when length > 1
            f"bytes {start}-{end}/{MAX_TOTAL}",
            f"bytes {start}-{end}/{MAX_TOTAL + 1}",
            f"bytes {start}-{start + MAX_CHUNK_SIZE - 1}/{MAX_TOTAL}",
            f"bytes {start}-{start + MAX_CHUNK_SIZE}/{MAX_TOTAL}",
            f"bytes {'0' * 30}{start}-{'0' * 30}{end}/{'0' * 30}{total}",
            f"bytes {start}-{end}/{total}",
        ]
    )


@pytest.mark.slow
@settings(HYPOTHESIS, max_examples=300)
@given(data=st.data())
def test_any_content_range_gets_the_contracts_answer_and_a_refusal_stores_nothing(
    api: GraphQLClient, media_root: Path, data: st.DataObject
) -> None:
    existing = data.draw(st.booleans(), label="continue an upload")
    length = data.draw(st.integers(1, 10), label="chunk length")
    offset = 10 if existing else 0
    content_range = data.draw(
        st.one_of(
            content_ranges(offset, length, len(DATA)),
            content_ranges(offset, length, len(DATA)),
            edge_ranges(offset, length, len(DATA)),
            edge_ranges(offset, length, len(DATA)),
            st.text(max_size=40),
            st.just(""),
        ),
        label="contentRange",
    )
    try:
        started = api.start(DATA, 10) if existing else None
        result = api.upload_chunk(
            DATA[offset : offset + length],
            content_range,
            upload_id=started["id"] if started else None,
        )

        expected = expected_chunk_answer(
            content_range, length, (offset, len(DATA)) if existing else None
        )
        event(f"answer: {expected}")
        if expected == "ChunkedUpload":
            assert result["__typename"] == "ChunkedUpload", result
            assert result["offset"] == offset + length
            assert stored_bytes(result["id"]) == DATA[: offset + length]
        else:
            assert_typed_error(result, expected)
            if started is None:
                assert ChunkedUpload.objects.count() == 0
                assert files_under(media_root) == []
            else:
                assert_unchanged(started["id"], 10, media_root)
    finally:
        remove_everything(media_root)


PARALLEL_CHUNK = ChunkStore.min_parallel_chunk_size
PARALLEL_DATA = os.urandom(3 * PARALLEL_CHUNK + 1000)  # four chunks, the last one short
STORED_FIRST = PARALLEL_CHUNK  # the range stored before each example's chunk: ahead of the prefix


def expected_parallel_chunk_answer(content_range: str, length: int) -> str:
    """The ``__typename`` specification §9 prescribes for a chunk of ``length`` bytes sent with
    ``content_range`` to a parallel upload of ``PARALLEL_DATA`` in chunks of ``PARALLEL_CHUNK``:
    §3's checks, then a chunk must start at a multiple of the chunk size and be that long, the
    last one ending at TOTAL - 1; a range stored already is answered with the upload too."""
    declared = declared_range(content_range, length)
    if isinstance(declared, str):
        return declared
    start, end, total = declared
    if total != len(PARALLEL_DATA):
        return "InvalidContentRange"
    if start % PARALLEL_CHUNK or end - start + 1 != min(PARALLEL_CHUNK, total - start):
        return "InvalidContentRange"
    return "ChunkedUpload"


def parallel_snapshot(upload_id: str, media_root: Path) -> tuple[Any, ...]:
    """What a refused chunk must leave as it was: the row's ranges, offset and hash, the stored
    file's bytes and the files under the media root."""
    upload = ChunkedUpload.objects.get(pk=upload_id)
    return (
        upload.stored_ranges,
        upload.offset,
        upload.hashed_offset,
        upload.hash_state,
        upload.store_state,
        stored_bytes(upload_id),
        files_under(media_root),
    )


@pytest.mark.slow
@HYPOTHESIS
@given(data=st.data())
def test_any_parallel_content_range_gets_the_contracts_answer_and_a_refusal_stores_nothing(
    api: GraphQLClient, media_root: Path, data: st.DataObject
) -> None:
    total = len(PARALLEL_DATA)
    # A chunk on the grid or just off it: at or next to a multiple of the chunk size, a chunk
    # long or a byte more or less, as long as the last chunk, or up to the end of the file.
    start = data.draw(
        st.sampled_from(range(0, total, PARALLEL_CHUNK)).flatmap(
            lambda at: st.sampled_from([at, at, at + 1, max(0, at - 1)])
        ),
        label="chunk start",
    )
    length = data.draw(
        st.sampled_from(
            [
                min(PARALLEL_CHUNK, total - start),
                min(PARALLEL_CHUNK, total - start),
                PARALLEL_CHUNK - 1,
                PARALLEL_CHUNK + 1,
                total % PARALLEL_CHUNK,
                total - start,  # the rest of the file: longer than a chunk but from the last
                1,
            ]
        ),
        label="chunk length",
    )
    chunk = (PARALLEL_DATA * 2)[start : start + length]
    content_range = data.draw(
        st.one_of(
            st.just(f"bytes {start}-{start + length - 1}/{total}"),  # the chunk's own range
            content_ranges(start, length, total),
            content_ranges(start, length, total),
            edge_ranges(start, length, total),
            st.text(max_size=40),
            st.just(""),
        ),
        label="contentRange",
    )
    try:
        created = api.create(total, parallel=True, chunk_size=PARALLEL_CHUNK)
        assert created["__typename"] == "ChunkedUpload", created
        upload_id = created["id"]
        first = api.send_range(upload_id, PARALLEL_DATA, STORED_FIRST, PARALLEL_CHUNK)
        assert first["__typename"] == "ChunkedUpload", first
        before = parallel_snapshot(upload_id, media_root)

        result = api.upload_chunk(chunk, content_range, upload_id=upload_id)

        expected = expected_parallel_chunk_answer(content_range, length)
        declared = declared_range(content_range, length)
        stored_already = (
            isinstance(declared, tuple)
            and expected == "ChunkedUpload"
            and declared[0] == STORED_FIRST
        )
        off_the_grid = expected != "ChunkedUpload" and not isinstance(declared, str)
        event(
            f"answer: {expected}"
            + (" (stored already)" if stored_already else "")
            + (
                " (a well-formed range off the chunk grid or of another total)"
                if off_the_grid
                else ""
            )
        )
        if expected != "ChunkedUpload":
            assert_typed_error(result, expected)
            assert parallel_snapshot(upload_id, media_root) == before
        elif stored_already:
            assert result["__typename"] == "ChunkedUpload", result
            assert parallel_snapshot(upload_id, media_root) == before
        else:
            assert result["__typename"] == "ChunkedUpload", result
            assert not isinstance(declared, str)
            got, end, _total = declared
            kept_end = STORED_FIRST + PARALLEL_CHUNK - 1
            if got <= kept_end + 1 and end + 1 >= STORED_FIRST:  # adjacent ranges are merged
                ranges = [[min(got, STORED_FIRST), max(end, kept_end)]]
            else:
                ranges = sorted([[STORED_FIRST, kept_end], [got, end]])
            assert ChunkedUpload.objects.get(pk=upload_id).stored_ranges == ranges
            assert result["offset"] == (kept_end + 1 if got == 0 else 0)
            content = stored_bytes(upload_id)
            assert content[got : end + 1] == chunk
            kept = slice(STORED_FIRST, STORED_FIRST + PARALLEL_CHUNK)
            assert content[kept] == PARALLEL_DATA[kept]
    finally:
        remove_everything(media_root)


# uploadId --------------------------------------------------------------------------------------

_ID_FORMS = re.compile(
    r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII
)


def names_upload(value: str, upload_id: str) -> bool:
    """Whether ``value`` is ``upload_id`` as the contract accepts it: hyphenated or 32 hex
    digits, in any case."""
    return bool(_ID_FORMS.fullmatch(value.lower())) and uuid.UUID(value) == uuid.UUID(upload_id)


@st.composite
def ids_near(draw: st.DrawFn, upload_id: str) -> str:
    """Strings that look like ``upload_id`` or like no id at all."""
    hex_id = uuid.UUID(upload_id).hex
    position = draw(st.integers(0, len(upload_id) - 1))
    some_text = st.text(min_size=1, max_size=4)
    return draw(
        st.one_of(
            st.text(max_size=60),
            st.uuids().map(str),
            st.uuids().map(lambda other: other.hex.upper()),
            st.text(alphabet="0123456789abcdefABCDEF-", min_size=30, max_size=40),
            some_text.map(lambda c: upload_id[:position] + c + upload_id[position + 1 :]),
            some_text.map(lambda c: upload_id[:position] + c + upload_id[position:]),
            some_text.map(lambda c: upload_id + c),
            some_text.map(lambda c: c + hex_id),
            st.sampled_from(
                [
                    upload_id[:-1],
                    hex_id[1:],
                    "{" + upload_id + "}",
                    "urn:uuid:" + upload_id,
                    f" {upload_id}",
                    f"{upload_id}\n",
                    f"{upload_id}\x00",
                    upload_id.replace("-", "_"),
                    upload_id.replace("-", ""),  # 32 hex: names the upload (filtered out)
                    "../" + upload_id,
                    "0",
                    "-1",
                    "null",
                ]
            ),
            st.integers().map(str),
        )
    )


@pytest.fixture
def partial_upload(api: GraphQLClient) -> dict[str, Any]:
    """10 of DATA's 20 bytes, uploaded by ``user``."""
    return api.start(DATA, 10)


@pytest.mark.slow
@HYPOTHESIS
@given(data=st.data())
def test_an_id_that_names_no_upload_is_not_found_everywhere_and_changes_nothing(
    api: GraphQLClient, partial_upload: dict[str, Any], media_root: Path, data: st.DataObject
) -> None:
    upload_id = data.draw(ids_near(partial_upload["id"]), label="uploadId")
    assume(not names_upload(upload_id, partial_upload["id"]))

    chunk = api.upload_chunk(DATA[10:], "bytes 10-19/20", upload_id=upload_id)
    completion = api.complete(upload_id, md5(DATA))
    cancellation = api.cancel(upload_id)
    found = api.get(upload_id)

    assert_typed_error(chunk, "UploadNotFound")
    assert_typed_error(completion, "UploadNotFound")
    assert_typed_error(cancellation, "UploadNotFound")
    assert found is None
    assert_unchanged(partial_upload["id"], 10, media_root)


@HYPOTHESIS
@given(data=st.data())
def test_an_id_in_any_accepted_spelling_names_the_upload(
    api: GraphQLClient, partial_upload: dict[str, Any], data: st.DataObject
) -> None:
    hyphenated = data.draw(st.booleans(), label="hyphenated")
    spelled = partial_upload["id"] if hyphenated else uuid.UUID(partial_upload["id"]).hex
    upper = data.draw(st.lists(st.booleans(), min_size=len(spelled), max_size=len(spelled)))
    spelled = "".join(c.upper() if up else c for c, up in zip(spelled, upper, strict=True))

    found = api.get(spelled)

    assert found is not None
    assert found["id"] == partial_upload["id"]


# filename --------------------------------------------------------------------------------------


def valid_filename(filename: str | None) -> bool:
    """Specification §3.7: present, not blank, at most 255 characters, no control character (and,
    since it must be stored as text, no lone surrogate)."""
    return (
        filename is not None
        and bool(filename.strip())
        and len(filename) <= 255
        and not any(unicodedata.category(c) in ("Cc", "Cs") for c in filename)
    )


ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates and controls included
PATH_PIECES = st.sampled_from(
    [
        "..", ".", "/", "\\", "\x00", "C:", "~", "etc", "passwd", "%2e%2e", "\u2215", "\uff0f",
        " ", "\t", "\n", "\ud800", "\U0001f4c4", "\u202e", "\ufeff", "\uffff", "a" * 60,
    ]
)  # fmt: skip
FILENAMES = st.one_of(
    st.none(),
    st.text(ANY_CHARACTER, max_size=20),
    st.text(max_size=20),
    st.lists(PATH_PIECES, max_size=12).map("".join),
    st.integers(250, 260).map(lambda n: "n" * n),
    st.integers(250, 260).map(lambda n: "\U0001f4c4" * n),
    st.integers(250, 260).flatmap(lambda n: st.text(min_size=n, max_size=n)),
)


@HYPOTHESIS
@given(filename=FILENAMES, whole_file=st.booleans())
def test_any_filename_is_kept_verbatim_or_refused_and_never_shapes_the_stored_name(
    api: GraphQLClient, media_root: Path, filename: str | None, whole_file: bool
) -> None:
    try:
        if whole_file:
            result = api.complete(None, DIGEST, file=DATA, filename=filename)
        else:
            result = api.upload_chunk(DATA, "bytes 0-19/20", filename=filename)

        event(f"filename valid: {valid_filename(filename)}")
        if not valid_filename(filename):
            assert_typed_error(result, "InvalidFilename")
            assert ChunkedUpload.objects.count() == 0
            assert files_under(media_root) == []
            return
        assert result["__typename"] == "ChunkedUpload", result
        assert result["filename"] == filename
        upload = ChunkedUpload.objects.get(pk=result["id"])
        assert upload.filename == filename
        ext = ".done" if whole_file else ".part"
        assert re.fullmatch(
            rf"chunked_uploads/\d{{4}}/\d{{2}}/\d{{2}}/{result['id']}{ext}", upload.file.name
        )
        assert files_under(media_root) == [upload.file.name]
    finally:
        remove_everything(media_root)


# checksum --------------------------------------------------------------------------------------

HEX = "0123456789abcdefABCDEF"
FULLWIDTH = str.maketrans(HEX, "".join(chr(ord(c) + 0xFEE0) for c in HEX))
CHECKSUMS = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=70),
    st.text(ANY_CHARACTER, max_size=40),
    st.text(alphabet=HEX, max_size=70),
    st.integers(0, len(DIGEST) - 1).flatmap(
        lambda i: st.sampled_from("0123456789abcdefg ").map(
            lambda c: DIGEST[:i] + c + DIGEST[i + 1 :]
        )
    ),
    st.sampled_from(
        [
            DIGEST[:-1],
            DIGEST + "0",
            " " + DIGEST,
            DIGEST + "\n",
            DIGEST + "\x00",
            "0x" + DIGEST,
            DIGEST.translate(FULLWIDTH),
            "md5:" + DIGEST,
            hashlib.sha1(DATA).hexdigest(),
            hashlib.sha256(DATA).hexdigest(),
            md5(DATA[:-1]),
            hashlib.md5(DATA).digest().decode("latin-1"),
            DIGEST.replace("a", "\u0430"),  # Cyrillic a
        ]
    ),
)


def matches_digest(checksum: str | None) -> bool:
    return checksum is not None and checksum.lower() == DIGEST


@pytest.fixture
def uploaded(api: GraphQLClient) -> dict[str, Any]:
    """All of DATA uploaded by ``user``, not completed."""
    return api.upload(DATA, 10)


@HYPOTHESIS
@given(checksum=CHECKSUMS)
def test_a_wrong_checksum_is_refused_and_the_upload_stays_open(
    api: GraphQLClient, uploaded: dict[str, Any], media_root: Path, checksum: str | None
) -> None:
    assume(not matches_digest(checksum))

    result = api.complete(uploaded["id"], checksum)

    assert_typed_error(result, "ChecksumMismatch" if checksum else "MissingChecksum")
    upload = ChunkedUpload.objects.get(pk=uploaded["id"])
    assert upload.status == ChunkedUpload.UPLOADING
    assert upload.completed_at is None
    assert_unchanged(uploaded["id"], len(DATA), media_root)


@HYPOTHESIS
@given(checksum=CHECKSUMS)
def test_a_whole_file_with_a_wrong_checksum_stores_nothing(
    api: GraphQLClient, media_root: Path, checksum: str | None
) -> None:
    assume(not matches_digest(checksum))
    try:
        result = api.complete(None, checksum, file=DATA, filename="whole.bin")

        assert_typed_error(result, "ChecksumMismatch" if checksum else "MissingChecksum")
        assert ChunkedUpload.objects.count() == 0
        assert files_under(media_root) == []
    finally:
        remove_everything(media_root)

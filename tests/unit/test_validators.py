"""Unit tests of the input parsers: content ranges, filenames and upload ids."""

import uuid

import pytest

from chunked_graphql.exceptions import InvalidContentRange, InvalidFilename
from chunked_graphql.validators import (
    ContentRange,
    parse_content_range,
    parse_upload_id,
    validate_filename,
)

MAX_TOTAL = 2**63 - 1
pytestmark = pytest.mark.django_db

SAMPLE_ID = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")


# parse_content_range -----------------------------------------------------------------------


def test_content_range_parses_start_end_total():
    assert parse_content_range("bytes 0-9/100") == ContentRange(0, 9, 100)


def test_content_range_length_is_inclusive():
    assert parse_content_range("bytes 10-19/100").length == 10


def test_content_range_single_byte_file():
    parsed = parse_content_range("bytes 0-0/1")
    assert (parsed.start, parsed.end, parsed.total, parsed.length) == (0, 0, 1, 1)


def test_content_range_last_byte_of_file_is_accepted():
    assert parse_content_range("bytes 99-99/100") == ContentRange(99, 99, 100)


def test_content_range_leading_zeros_are_allowed():
    assert parse_content_range("bytes 007-0010/00100") == ContentRange(7, 10, 100)


def test_content_range_total_at_64_bit_limit_is_accepted():
    parsed = parse_content_range(f"bytes 0-9/{MAX_TOTAL}")
    assert parsed == ContentRange(0, 9, MAX_TOTAL)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("0-9/100", id="missing-bytes-unit"),
        pytest.param("bytes  0-9/100", id="two-spaces"),
        pytest.param("bytes 0-9/100\n", id="trailing-newline"),
        pytest.param(" bytes 0-9/100", id="leading-space"),
        pytest.param("bytes 0-9/100 ", id="trailing-space"),
        pytest.param("bytes\t0-9/100", id="tab-instead-of-space"),
        pytest.param("Bytes 0-9/100", id="capitalised-unit"),
        pytest.param("bytes=0-9/100", id="equals-sign"),
        pytest.param("bytes \u0661-9/100", id="arabic-indic-digit-start"),
        pytest.param("bytes 0-\u0669/100", id="arabic-indic-digit-end"),
        pytest.param("bytes 0-9/\uff11\uff10\uff10", id="fullwidth-digits-total"),
        pytest.param("bytes -1-9/100", id="negative-start"),
        pytest.param("bytes 0--9/100", id="negative-end"),
        pytest.param("bytes 0-9/-100", id="negative-total"),
        pytest.param("bytes +0-9/100", id="plus-sign"),
        pytest.param("bytes 0-9/*", id="unknown-total"),
        pytest.param("bytes 0-9", id="no-total"),
        pytest.param("bytes 0/100", id="no-end"),
        pytest.param("bytes 0-9/100/200", id="extra-segment"),
        pytest.param("bytes 0.5-9/100", id="decimal"),
        pytest.param("bytes 0_0-9/100", id="underscore-in-number"),
        pytest.param("", id="empty"),
        pytest.param("bytes ", id="unit-only"),
    ],
)
def test_content_range_malformed_is_refused(value):
    with pytest.raises(InvalidContentRange):
        parse_content_range(value)


def test_content_range_end_before_start_is_refused():
    with pytest.raises(InvalidContentRange, match="before START"):
        parse_content_range("bytes 10-9/100")


def test_content_range_end_equal_to_total_is_refused():
    with pytest.raises(InvalidContentRange, match="less than TOTAL"):
        parse_content_range("bytes 0-100/100")


def test_content_range_end_beyond_total_is_refused():
    with pytest.raises(InvalidContentRange, match="less than TOTAL"):
        parse_content_range("bytes 0-150/100")


def test_content_range_zero_total_is_refused():
    with pytest.raises(InvalidContentRange):
        parse_content_range("bytes 0-0/0")


def test_content_range_total_beyond_64_bit_limit_is_refused():
    with pytest.raises(InvalidContentRange, match="at most"):
        parse_content_range(f"bytes 0-9/{MAX_TOTAL + 1}")


def test_content_range_huge_total_is_refused():
    with pytest.raises(InvalidContentRange):
        parse_content_range(f"bytes 0-9/{10**40}")


def test_content_range_error_is_a_400():
    with pytest.raises(InvalidContentRange) as caught:
        parse_content_range("nonsense")
    assert caught.value.http_status == 400
    assert caught.value.code.value == "INVALID_CONTENT_RANGE"


# validate_filename -------------------------------------------------------------------------


def test_filename_plain_is_returned_unchanged():
    assert validate_filename("report.pdf") == "report.pdf"


def test_filename_none_is_refused():
    with pytest.raises(InvalidFilename):
        validate_filename(None)


def test_filename_empty_is_refused():
    with pytest.raises(InvalidFilename):
        validate_filename("")


@pytest.mark.parametrize("value", [" ", "   ", "\u3000", "\u00a0"])
def test_filename_whitespace_only_is_refused(value):
    with pytest.raises(InvalidFilename):
        validate_filename(value)


def test_filename_of_255_characters_is_accepted():
    name = "a" * 251 + ".bin"
    assert len(name) == 255
    assert validate_filename(name) == name


def test_filename_of_256_characters_is_refused():
    with pytest.raises(InvalidFilename, match="256"):
        validate_filename("a" * 256)


def test_filename_of_255_unicode_characters_is_accepted():
    name = "\u00e9" * 255
    assert validate_filename(name) == name


@pytest.mark.parametrize(
    "char",
    [
        pytest.param("\x00", id="nul"),
        pytest.param("\t", id="tab"),
        pytest.param("\n", id="newline"),
        pytest.param("\r", id="carriage-return"),
        pytest.param("\x1b", id="escape"),
        pytest.param("\x7f", id="del"),
        pytest.param("\x85", id="c1-next-line"),
    ],
)
def test_filename_with_control_character_is_refused(char):
    with pytest.raises(InvalidFilename, match="control character"):
        validate_filename(f"bad{char}name.txt")


def test_filename_with_leading_and_trailing_spaces_is_kept_verbatim():
    assert validate_filename("  padded.txt  ") == "  padded.txt  "


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "../../etc/passwd",
        "/absolute/path.txt",
        "dir\\file.txt",
        "\u65e5\u672c\u8a9e\u30d5\u30a1\u30a4\u30eb.txt",
        "caf\u00e9 \U0001f600.png",
        ".",
        "..",
    ],
)
def test_filename_path_like_and_unicode_are_accepted_verbatim(name):
    assert validate_filename(name) == name


def test_filename_error_is_a_400():
    with pytest.raises(InvalidFilename) as caught:
        validate_filename("")
    assert caught.value.http_status == 400
    assert caught.value.code.value == "INVALID_FILENAME"


# parse_upload_id ---------------------------------------------------------------------------


def test_upload_id_hyphenated_is_parsed():
    assert parse_upload_id(str(SAMPLE_ID)) == SAMPLE_ID


def test_upload_id_32_hex_is_parsed():
    assert parse_upload_id(SAMPLE_ID.hex) == SAMPLE_ID


def test_upload_id_uppercase_hyphenated_is_parsed():
    assert parse_upload_id(str(SAMPLE_ID).upper()) == SAMPLE_ID


def test_upload_id_uppercase_32_hex_is_parsed():
    assert parse_upload_id(SAMPLE_ID.hex.upper()) == SAMPLE_ID


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("{" + str(SAMPLE_ID) + "}", id="braces"),
        pytest.param("urn:uuid:" + str(SAMPLE_ID), id="urn"),
        pytest.param(str(SAMPLE_ID)[:-1], id="too-short"),
        pytest.param(str(SAMPLE_ID) + "0", id="too-long"),
        pytest.param(SAMPLE_ID.hex[:-1], id="31-hex"),
        pytest.param(SAMPLE_ID.hex + "0", id="33-hex"),
        pytest.param(str(SAMPLE_ID).replace("-", "", 1), id="hyphen-missing"),
        pytest.param("g" * 32, id="non-hex"),
        pytest.param(" " + str(SAMPLE_ID), id="leading-space"),
        pytest.param(str(SAMPLE_ID) + "\n", id="trailing-newline"),
        pytest.param("\u0661" * 32, id="non-ascii-digits"),
        pytest.param("not-an-id", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("1", id="number-string"),
    ],
)
def test_upload_id_malformed_is_none(value):
    assert parse_upload_id(value) is None


@pytest.mark.parametrize("value", [None, 42, SAMPLE_ID.bytes])
def test_upload_id_non_string_is_none(value):
    assert parse_upload_id(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "bytes 0-0/" + "1" * 5000,
        "bytes 0-0/" + "9" * 20,
        "bytes 0-" + "1" * 30 + "/5",
        "bytes " + "1" * 4400 + "-0/1",
    ],
)
def test_numbers_of_many_digits_are_invalid_not_a_crash(value):
    with pytest.raises(InvalidContentRange):
        parse_content_range(value)


def test_thousands_of_leading_zeros_are_allowed():
    zeros = "0" * 5000
    assert parse_content_range(f"bytes {zeros}0-{zeros}9/{zeros}10") == ContentRange(0, 9, 10)


@pytest.mark.parametrize("filename", ["a\ud800", "\udfffb"])
def test_lone_surrogate_in_filename_is_invalid(filename):
    with pytest.raises(InvalidFilename):
        validate_filename(filename)

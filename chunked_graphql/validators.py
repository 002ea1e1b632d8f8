"""Parsing and validation of the client's inputs: content ranges, filenames and upload ids.

Pure functions with no database or storage access, so each rule of the contract can be read and
tested on its own.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from .exceptions import InvalidContentRange, InvalidFilename

MAX_TOTAL = 2**63 - 1  # the largest size a 64-bit signed offset column can hold
MAX_FILENAME_LENGTH = 255

# ASCII digits only (no re.UNICODE \d), exactly one space, nothing before or after.
_CONTENT_RANGE = re.compile(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)", re.ASCII)
_HEX_UUID = re.compile(
    r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII
)


@dataclass(frozen=True)
class ContentRange:
    """An inclusive byte range ``start``..``end`` of a file of ``total`` bytes."""

    start: int
    end: int
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_content_range(value: str) -> ContentRange:
    """Parse ``bytes START-END/TOTAL``; raise ``InvalidContentRange`` for anything else."""
    match = _CONTENT_RANGE.fullmatch(value)
    if match is None:
        raise InvalidContentRange(
            f"contentRange {_shorten(value)!r} is not of the form 'bytes START-END/TOTAL'."
        )
    # Leading zeros are allowed, so the digit count alone says nothing; past 19 significant
    # digits a number exceeds MAX_TOTAL (and int() refuses strings of over 4300 digits).
    significant = [group.lstrip("0") or "0" for group in match.groups()]
    if any(len(digits) > len(str(MAX_TOTAL)) for digits in significant):
        raise InvalidContentRange(f"START, END and TOTAL may be at most {MAX_TOTAL}.")
    start, end, total = (int(digits) for digits in significant)
    if total > MAX_TOTAL:
        raise InvalidContentRange(f"TOTAL may be at most {MAX_TOTAL} bytes.")
    if end < start:
        raise InvalidContentRange(f"END ({end}) is before START ({start}).")
    if end >= total:
        raise InvalidContentRange(f"END ({end}) must be less than TOTAL ({total}).")
    return ContentRange(start, end, total)


def validate_filename(filename: str | None) -> str:
    """Return ``filename`` unchanged when valid; raise ``InvalidFilename`` otherwise.

    Anything printable up to 255 characters is valid, path separators included: the name is
    stored and returned verbatim and never used to build a storage path.
    """
    if filename is None or not filename.strip():
        raise InvalidFilename("filename is required and must not be blank.")
    if len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidFilename(
            f"filename is {len(filename)} characters long; at most "
            f"{MAX_FILENAME_LENGTH} are allowed."
        )
    for char in filename:
        category = unicodedata.category(char)
        if category == "Cc":
            raise InvalidFilename(f"filename contains the control character U+{ord(char):04X}.")
        if category == "Cs":
            # A lone surrogate is no character at all and cannot be stored as UTF-8.
            raise InvalidFilename(f"filename contains the lone surrogate U+{ord(char):04X}.")
    return filename


def parse_upload_id(value: object) -> uuid.UUID | None:
    """The UUID in ``value`` (hyphenated or 32 hex digits, or a ``UUID``), or ``None`` if it is
    not one."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or not _HEX_UUID.fullmatch(value.lower()):
        return None
    return uuid.UUID(value)


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "…"

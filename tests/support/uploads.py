"""Helpers shared by the test modules: sample data, reading back what was stored, ageing rows,
and the shape every typed error must have."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from chunked_graphql.models import ChunkedUpload

DATA = b"0123456789abcdefghij"  # 20 bytes
UNKNOWN_ID = "7d1f5c9e-2b4a-4c8d-9e6f-0a1b2c3d4e5f"


def stored_bytes(upload_id):
    upload = ChunkedUpload.objects.get(pk=upload_id)
    with upload.file.open("rb") as stored:
        return stored.read()


def stored_size(upload_id):
    """The size of an upload's stored file on the local disk."""
    return Path(ChunkedUpload.objects.get(pk=upload_id).file.path).stat().st_size


def stored_offset(upload_id):
    return ChunkedUpload.objects.get(pk=upload_id).offset


def files_under(root):
    """Every file below ``root``, as sorted relative paths."""
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, _dirs, names in os.walk(root)
        for name in names
    )


def age(upload_id, days=2):
    """Move an upload's creation ``days`` into the past."""
    ChunkedUpload.objects.filter(pk=upload_id).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def assert_error(result, typename, code, http_status=400):
    assert result["__typename"] == typename, result
    assert result["code"] == code
    assert result["httpStatus"] == http_status
    assert isinstance(result["message"], str)
    assert result["message"].strip()


def assert_nothing_stored(media_root):
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


ERROR_CODES = {
    "UploadNotFound": ("NOT_FOUND", 404),
    "UploadExpired": ("EXPIRED", 410),
    "MissingChunk": ("MISSING_CHUNK", 400),
    "MissingContentRange": ("MISSING_CONTENT_RANGE", 400),
    "InvalidContentRange": ("INVALID_CONTENT_RANGE", 400),
    "MaxBytesExceeded": ("MAX_BYTES_EXCEEDED", 400),
    "ChunkTooLarge": ("CHUNK_TOO_LARGE", 413),
    "OffsetMismatch": ("OFFSET_MISMATCH", 400),
    "MissingChecksum": ("MISSING_CHECKSUM", 400),
    "ChecksumMismatch": ("CHECKSUM_MISMATCH", 400),
    "UploadAlreadyComplete": ("ALREADY_COMPLETE", 400),
    "UploadIncomplete": ("INCOMPLETE", 400),
    "InvalidFilename": ("INVALID_FILENAME", 400),
    "AuthenticationRequired": ("AUTHENTICATION_REQUIRED", 401),
}


def assert_typed_error(result: dict[str, Any], typename: str) -> None:
    """``result`` is the typed error ``typename``, with its code, HTTP status and a message."""
    assert result["__typename"] == typename, result
    assert (result["code"], result["httpStatus"]) == ERROR_CODES[typename], result
    assert isinstance(result["message"], str)
    assert result["message"].strip()


def assert_unchanged(upload_id: str, offset: int, media_root: Path) -> None:
    """The upload still holds exactly its first ``offset`` bytes, and nothing else is stored."""
    assert ChunkedUpload.objects.count() == 1
    assert stored_offset(upload_id) == offset
    assert stored_bytes(upload_id) == DATA[:offset]
    assert files_under(media_root) == [ChunkedUpload.objects.get(pk=upload_id).file.name]

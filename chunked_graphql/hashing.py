"""Checksums: which algorithms are usable, digesting bytes, comparing digests, and hashing an
upload incrementally as its chunks arrive.

Incremental hashing keeps the hasher's state with the upload (``hash_state``), saved in the same
transaction as the offset it covers, so whichever server process receives the next chunk
continues it, and completion reads nothing back. ``hashlib`` cannot export its state; the
``rehashes`` package can, for md5, sha1, sha256 and sha512. Other algorithms fall back to one
read of the stored bytes at completion.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

import google_crc32c
import rehashes

from .exceptions import InvalidChunkChecksum

_RESUMABLE: dict[str, Any] = {
    "md5": rehashes.PyMd5,
    "sha1": rehashes.PySha1,
    "sha256": rehashes.PySha256,
    "sha512": rehashes.PySha512,
}


#: What a chunk's chunkChecksum may use, as uploadLimits.chunkChecksumAlgorithms lists them,
#: fastest first. crc32c (Castagnoli, as in S3 and Google Cloud Storage, big-endian hex) finds
#: corruption on the way at a fraction of a cryptographic hash's cost; sha256 also stands up
#: to a sender that forges chunks.
CHUNK_ALGORITHMS: tuple[str, ...] = ("crc32c", "sha256", "md5")
_HEX_SIZES = {"crc32c": 8, "sha256": 64, "md5": 32}


def chunk_hasher(algorithm: str) -> Any:
    """A fresh hasher of a chunk algorithm: ``update`` bytes, then ``hexdigest()`` (a str)."""
    if algorithm == "crc32c":
        return _Crc32c()
    return hashlib.new(algorithm)


class _Crc32c:
    def __init__(self) -> None:
        self._checksum = google_crc32c.Checksum()

    def update(self, data: bytes) -> None:
        self._checksum.update(data)

    def hexdigest(self) -> str:
        digest: bytes = self._checksum.hexdigest()
        return digest.decode("ascii")


def parse_chunk_checksum(value: str | None) -> tuple[str, str] | None:
    """``(algorithm, lower-case hex)`` of a chunkChecksum ``"<algorithm>:<hex>"``; ``None`` when
    absent. ``InvalidChunkChecksum`` for anything malformed or of an algorithm not offered."""
    if value is None:
        return None
    algorithm, separator, digest = value.partition(":")
    algorithm = algorithm.lower()
    if not separator or algorithm not in CHUNK_ALGORITHMS:
        offered = ", ".join(CHUNK_ALGORITHMS)
        raise InvalidChunkChecksum(
            f'chunkChecksum must be "<algorithm>:<hex digest>" with one of: {offered}.'
        )
    size = _HEX_SIZES[algorithm]
    if len(digest) != size or not all(char in _HEX_DIGITS for char in digest):
        raise InvalidChunkChecksum(f"A {algorithm} chunkChecksum is {size} hex digits.")
    return algorithm, digest.lower()


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def is_supported(algorithm: object) -> bool:
    """True for a hashlib algorithm with a fixed-size hex digest (so not shake_128/256)."""
    if not isinstance(algorithm, str):
        return False
    try:
        return hashlib.new(algorithm).digest_size > 0
    except (ValueError, TypeError):
        return False


def is_resumable(algorithm: str) -> bool:
    """Whether uploads using ``algorithm`` are hashed as they arrive."""
    return algorithm.lower() in _RESUMABLE


def digest_chunks(chunks: Iterable[bytes], algorithm: str) -> str:
    """The hex digest of the concatenated ``chunks``."""
    hasher = hashlib.new(algorithm)
    for piece in chunks:
        hasher.update(piece)
    return hasher.hexdigest()


def checksums_match(expected_hex: str, given: str) -> bool:
    """Compare a client's hex digest with ours, ignoring case, in constant time."""
    try:
        given_bytes = given.lower().encode("ascii")
    except UnicodeEncodeError:  # not hex at all (and maybe not even encodable: a lone surrogate)
        return False
    return hmac.compare_digest(expected_hex.lower().encode(), given_bytes)


class ResumableHash:
    """A hasher whose state can be saved after a chunk and restored for the next one."""

    def __init__(self, algorithm: str, state: bytes | memoryview | None = None) -> None:
        factory = _RESUMABLE[algorithm.lower()]
        self._hasher = factory() if state is None else factory.deserialize(bytes(state))
        self._factory = factory

    def update(self, data: bytes) -> None:
        self._hasher.update(data)

    def state(self) -> bytes:
        """The state to save with the upload."""
        state: bytes = self._hasher.serialize()
        return state

    def hexdigest(self) -> str:
        """The digest of everything hashed so far; the hasher itself is left usable."""
        digest: str = self._factory.deserialize(self.state()).finalize()
        return digest


def resume_hash(
    algorithm: str, state: bytes | memoryview | None, offset: int
) -> ResumableHash | None:
    """The hasher to continue an upload whose first ``offset`` bytes ``state`` covers.

    ``None`` when there is nothing to continue: an algorithm without resumable state, or an
    upload that has bytes but no saved state (stored before incremental hashing existed). Such
    uploads are hashed from their stored bytes at completion.
    """
    if not is_resumable(algorithm):
        return None
    if state is None and offset:
        return None
    return ResumableHash(algorithm, state)

"""Checksums: which algorithms are usable, digesting bytes, comparing digests."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def is_supported(algorithm: object) -> bool:
    """True for a hashlib algorithm with a fixed-size hex digest (so not shake_128/256)."""
    if not isinstance(algorithm, str):
        return False
    try:
        return hashlib.new(algorithm).digest_size > 0
    except (ValueError, TypeError):
        return False


def digest_chunks(chunks: Iterable[bytes], algorithm: str) -> str:
    """The hex digest of the concatenated ``chunks``."""
    hasher = hashlib.new(algorithm)
    for piece in chunks:
        hasher.update(piece)
    return hasher.hexdigest()


def checksums_match(expected_hex: str, given: str) -> bool:
    """Compare a client's hex digest with ours, ignoring case, in constant time."""
    return hmac.compare_digest(expected_hex.lower().encode(), given.lower().encode())

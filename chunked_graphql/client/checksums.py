"""Per-chunk checksums: which one the client sends, and sending a chunk again when the server
found it damaged on the way (``ChunkChecksumMismatch``: nothing of it was kept)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from ..hashing import chunk_hasher
from .errors import UploadRejected
from .operations import UploadInfo
from .retry import RetryCallback

# How often a chunk refused with ChunkChecksumMismatch is sent again: damage on the way is rare,
# so one that keeps coming back is something else (the server holds other bytes for the range).
MAX_CHECKSUM_RESENDS = 3
#: The per-chunk checksums the client sends, best first, when the server checks them: crc32c
#: finds damage on the way for a fraction of sha256's cost.
CHUNK_CHECKSUM_ALGORITHMS = ("crc32c", "sha256", "md5")


def pick_algorithm(offered: Iterable[str]) -> str | None:
    """The best of the server's ``chunkChecksumAlgorithms`` this client computes, if any."""
    offered = set(offered)
    return next((name for name in CHUNK_CHECKSUM_ALGORITHMS if name in offered), None)


def chunk_checksum(algorithm: str | None, content: bytes) -> str | None:
    """``"<algorithm>:<hex>"`` of ``content``, as ``chunkChecksum`` takes it; None without one."""
    if algorithm is None:
        return None
    hasher = chunk_hasher(algorithm)
    hasher.update(content)
    return f"{algorithm}:{hasher.hexdigest()}"


def send_until_intact(
    send: Callable[[], UploadInfo], start: int, length: int, on_resend: RetryCallback
) -> UploadInfo:
    """``send()`` the chunk of ``length`` bytes at ``start``, again (at once) while the server
    refuses it as damaged, :data:`MAX_CHECKSUM_RESENDS` times at most."""
    for resend in itertools.count():
        try:
            return send()
        except UploadRejected as exc:
            if exc.code != "CHUNK_CHECKSUM_MISMATCH":
                raise
            if resend >= MAX_CHECKSUM_RESENDS:
                raise UploadRejected(
                    exc.code,
                    f"Bytes {start}-{start + length - 1} were refused "
                    f"{resend + 1} times as not matching their checksum: damaged on the way "
                    "every time, or the server holds other bytes for them (did the file "
                    "change?).",
                    exc.http_status,
                    exc.details,
                ) from exc
            on_resend(resend + 1, 0.0, exc)
    raise AssertionError("unreachable")  # pragma: no cover

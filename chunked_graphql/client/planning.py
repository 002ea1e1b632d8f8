"""The chunk size of an upload: a parallel upload's, from the server's limits and what the caller
asked for, or None where the file goes serially."""

from __future__ import annotations

from .errors import UploadRejected
from .operations import ServerLimits

DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
#: Senders of a parallel upload when ``parallel`` is not given.
DEFAULT_PARALLEL = 4


def parallel_chunk_size(
    size: int, limits: ServerLimits, chunk_size: int | None, parallel: int | None
) -> int | None:
    """The chunk size of a parallel upload of ``size`` bytes, or None to send serially.

    ``chunk_size`` and ``parallel`` are the caller's (None: not given). With ``parallel`` given,
    a file that cannot go in parallel at that chunk size is refused (``INVALID_CHUNK_SIZE``, with
    the range the server takes) rather than quietly sent serially.
    """
    senders = parallel if parallel is not None else DEFAULT_PARALLEL
    if senders <= 1:
        return None
    smallest = limits.min_parallel_chunk_size
    if limits.max_parts:
        smallest = max(smallest, -(-size // limits.max_parts))
    largest = limits.max_chunk_size
    wanted = chunk_size
    if wanted is None:
        if smallest <= largest:
            chosen = min(max(DEFAULT_CHUNK_SIZE, smallest), largest)
            return chosen if size > chosen else None
    elif size <= wanted:
        return None  # one chunk: nothing to send side by side
    elif smallest <= wanted <= largest:
        return wanted
    if parallel is None:
        # Parallel by default only where it fits: the chunk size asked for wins, serially.
        return None
    serially = "send it serially (parallel=1, --parallel 1)"
    if smallest > largest:
        message = (
            f"This server takes no parallel upload of a file of {size} bytes (its chunks "
            f"would have to be at least {smallest} bytes, and it takes at most {largest}): "
            f"{serially}."
        )
    else:
        message = (
            f"A parallel upload of this file needs chunks of {smallest} to {largest} bytes "
            f"on this server, not {wanted}: choose a chunk size in that range, or {serially}."
        )
    raise UploadRejected(
        "INVALID_CHUNK_SIZE",
        message,
        400,
        {"minChunkSize": smallest, "maxChunkSize": largest},
    )

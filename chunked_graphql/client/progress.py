"""What the progress callback of an upload hears: bytes the server has confirmed, never going
back and never past the file's size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Handed to the progress callback after the upload starts and after every chunk."""

    # Bytes the server has confirmed: a serial upload's offset; for a parallel upload, whose
    # chunks arrive in any order, the bytes of the chunks it has acknowledged.
    offset: int
    total: int
    upload_id: str | None
    resumed_from: int  # what the server held when this run started (0 for a new upload)


ProgressCallback = Callable[[Progress], None]


def reporter(
    on_progress: ProgressCallback | None, total: int, resumed_from: int
) -> Callable[[int, str | None], None]:
    """A ``report(offset, upload_id)`` for the senders, calling ``on_progress`` (if any)."""
    reported = 0

    def report(offset: int, upload_id: str | None) -> None:
        nonlocal reported
        # Never back, never past the total.
        reported = max(reported, min(total, offset))
        if on_progress is not None:
            on_progress(Progress(reported, total, upload_id, resumed_from))

    return report

"""Byte ranges of a parallel upload: which are stored, which are missing, and the gap-free
prefix. Pure functions over ascending, coalesced lists of inclusive ``[start, end]`` pairs, the
form the upload row keeps them in (``AbstractChunkedUpload.stored_ranges``)."""

from __future__ import annotations

from collections.abc import Sequence

Ranges = list[list[int]]


def add(ranges: Sequence[Sequence[int]] | None, start: int, end: int) -> Ranges:
    """``ranges`` with ``start``..``end`` added, coalesced with its neighbours."""
    result: Ranges = []
    placed = False
    for low, high in ranges or ():
        if high + 1 < start:
            result.append([low, high])
        elif end + 1 < low:
            if not placed:
                result.append([start, end])
                placed = True
            result.append([low, high])
        else:  # overlaps or touches: merge into the new range
            start, end = min(start, low), max(end, high)
    if not placed:
        result.append([start, end])
        result.sort()
    return result


def covers(ranges: Sequence[Sequence[int]] | None, start: int, end: int) -> bool:
    """Whether every byte of ``start``..``end`` is in ``ranges``."""
    return any(low <= start and end <= high for low, high in ranges or ())


def overlaps(ranges: Sequence[Sequence[int]] | None, start: int, end: int) -> bool:
    """Whether any byte of ``start``..``end`` is in ``ranges``."""
    return any(low <= end and start <= high for low, high in ranges or ())


def prefix(ranges: Sequence[Sequence[int]] | None) -> int:
    """The length of the stored bytes from 0 with no gap."""
    if ranges and ranges[0][0] == 0:
        return ranges[0][1] + 1
    return 0


def missing(ranges: Sequence[Sequence[int]] | None, total: int) -> list[tuple[int, int]]:
    """The ranges of ``0..total - 1`` not in ``ranges``, ascending."""
    gaps: list[tuple[int, int]] = []
    position = 0
    for low, high in ranges or ():
        if low > position:
            gaps.append((position, low - 1))
        position = max(position, high + 1)
    if position < total:
        gaps.append((position, total - 1))
    return gaps

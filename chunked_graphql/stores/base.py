"""The contract between the upload service and a storage: ``ChunkStore``.

A chunk store keeps an upload's bytes under its stored name. Two ways of writing:

- **serial** (``write``): the bytes of a chunk at ``offset``, replacing everything stored from
  there on, so bytes left by a request that died before its offset was committed are
  overwritten, never kept. Every store supports it; it is how uploads are sent today.
- **by range** (``write_range``, stores with ``random_access``): the bytes of one range, leaving
  every other stored byte as it is, so chunks may arrive in any order and several at once. A
  range whose write failed is given up with ``abandon_range``, which touches nothing else.

Writers exclude each other with ``lock(name, start, end)``: a lock on the bytes they write (to
the end of the file and beyond when ``end`` is None, as a serial write and a cancel take it), so
writers of different ranges do not wait for each other and a stale writer of the same range
keeps a second one out.

Parallel uploads (``parallel_create`` then ``write_range`` per chunk) need more than
``random_access``: a chunk that arrives ahead of the gap-free prefix is hashed only once the
prefix reaches it, so it is written ``readable`` and read back once with ``read_range``; a store
that cannot read back what it wrote for the final file (an S3 multipart part) keeps such a
chunk elsewhere and moves it into place with ``settle_range`` after it was hashed. Each
``write_range`` returns a JSON-able *piece* describing where the range went; the service records
it in the upload's state with ``record_range``, under the row lock, and hands the state back.

A store may keep private state per upload (the JSON-able value a write returns); the service
saves it with the offset, in one transaction, and hands it back on the next call. A write that is
not committed must leave the previous state valid; ``committed`` then drops what only the old
state needed.

Two ways to be called, chosen by ``streams``:

- ``streams = True``: a write takes the chunk as it arrives from the client, before the upload's
  row is locked, so a slow client holds no database lock; the service holds ``lock`` around the
  whole write-and-commit.
- ``streams = False``: the service first receives the whole chunk, then writes it under the
  upload's row lock, which serialises writers.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import IO, Any, ClassVar

from django.core.files.storage import Storage

BLOCK_SIZE = 1024 * 1024  # how much is read, written or hashed at a time


class ChunkStore(ABC):
    """Stores an upload's bytes on one Django ``Storage``. Subclasses implement ``write`` and
    ``copy``; the other methods are hooks with safe defaults."""

    #: Writes take the chunk as it arrives, outside the row lock (see the module docstring).
    streams: ClassVar[bool] = False
    #: ``write_range`` is supported: ranges may be stored in any order.
    random_access: ClassVar[bool] = False
    #: How long ``lock`` waits for another request writing the same bytes, in seconds, before
    #: it raises ``UploadBusy``. Short: that other request is either a stale copy of the same
    #: chunk, which the body deadlines cut off within seconds if it trickles or has stalled
    #: (``chunked_graphql.deadlines``), or a live one that may take minutes. Either way the
    #: caller is better answered at once, retries, and holds no worker meanwhile.
    lock_timeout: ClassVar[float] = 2.0
    #: ``read`` can read an upload back after its ranges were settled. A store that cannot
    #: (S3: parts of an unfinished multipart upload) keeps a parallel upload's ranges readable
    #: until completion when the whole-file algorithm is hashed only there.
    reads_settled_ranges: ClassVar[bool] = True
    #: The smallest chunk size of a parallel upload (its last chunk may be shorter).
    min_parallel_chunk_size: ClassVar[int] = 64 * 1024
    #: The most chunks a parallel upload may have; ``None``: no limit. Bounds what the upload's
    #: row records about its chunks.
    max_parts: ClassVar[int | None] = 10_000

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # Writing.

    def create(self, name: str) -> None:
        """Make room for a new upload's bytes under ``name`` before any range is written."""
        return None

    def lock(
        self, name: str, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[None]:
        """Exclusive right to write bytes ``start``..``end`` (inclusive; ``None``: to the end of
        the file and beyond) of ``name``, across processes; ``UploadBusy`` after
        ``lock_timeout`` seconds of waiting for another writer. Needed by ``streams`` stores only;
        a missing file gives no lock and no error (the upload was cancelled meanwhile, as the
        caller's checks under the lock will find)."""
        return contextlib.nullcontext()

    @abstractmethod
    def write(self, name: str, offset: int, chunks: Iterable[bytes], state: Any = None) -> Any:
        """Store ``chunks`` at ``offset`` of ``name``, which holds at least ``offset`` bytes
        (only ``offset`` 0 may create it); drop whatever lay beyond. Return the store's new
        state for this upload (``None`` if it keeps none)."""

    def parallel_create(self, name: str, total_size: int, chunk_size: int) -> Any:
        """Make room for a new parallel upload of ``total_size`` bytes in chunks of
        ``chunk_size``; return the store's state for it. By default the same as ``create``."""
        self.create(name)
        return None

    def write_range(
        self,
        name: str,
        start: int,
        chunks: Iterable[bytes],
        state: Any = None,
        *,
        readable: bool = False,
    ) -> Any:
        """Store ``chunks`` at ``start`` of ``name`` (made by ``create``), leaving every other
        byte as it is, also when ``start`` lies beyond the bytes stored so far. With
        ``readable`` the bytes must stay readable by ``read_range`` until ``settle_range``.
        Return the range's piece (JSON-able, ``None`` if the store needs none). Only stores with
        ``random_access`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} stores an upload's bytes in order only.")

    def read_range(
        self, name: str, start: int, size: int, state: Any = None, piece: Any = None
    ) -> Iterator[bytes]:
        """The ``size`` bytes written ``readable`` at ``start``, block by block."""
        with self.open(name) as stored:
            stored.seek(start)
            yield from read_blocks(stored, size)

    def settle_range(self, name: str, start: int, size: int, state: Any, piece: Any) -> Any:
        """A range written ``readable`` has been read back for hashing and need not stay
        readable: move it where the final file needs it. Return its new piece."""
        return piece

    def piece(self, state: Any, start: int) -> Any:
        """The piece recorded for the range at ``start`` (``None`` if none)."""
        return None

    def unsettled(self, state: Any, below: int) -> list[int]:
        """The starts, ascending, of recorded ranges starting below ``below`` that still wait
        for ``settle_range``."""
        return []

    def record_range(self, state: Any, start: int, size: int, piece: Any) -> Any:
        """The upload's state with the range at ``start`` recorded as ``piece`` (replacing what
        was recorded for it before). Called under the upload's row lock with its committed
        state; must not touch the storage."""
        return state

    def abandon(self, name: str, offset: int, state: Any = None) -> None:
        """A serial write at ``offset`` failed or was refused: drop what it stored from
        ``offset`` on (best effort; a later write at ``offset`` replaces it anyway). ``state``
        is the last committed state."""
        return None

    def abandon_range(
        self, name: str, start: int, end: int, state: Any = None, piece: Any = None
    ) -> None:
        """A ``write_range`` of ``start``..``end`` failed or was refused, or lost a race for its
        range: drop what it stored of that range (``piece``, when its write returned one) and
        nothing else (best effort: the range is still missing, or was stored by the winner).
        Bytes left in place are harmless: the upload's recorded ranges say what is stored."""
        return None

    def committed(self, name: str, old_state: Any, new_state: Any) -> None:
        """The state returned by a write has been committed: drop what only ``old_state``
        needed."""
        return None

    # Completing, reading, deleting.

    @abstractmethod
    def copy(self, name: str, new_name: str, size: int | None = None, state: Any = None) -> None:
        """Make ``new_name`` hold the ``size`` bytes of ``name`` (replacing it), leaving
        ``name`` as is: completion may still roll back."""

    def open(self, name: str) -> IO[bytes]:
        """Open the stored bytes for reading."""
        stored: IO[bytes] = self.storage.open(name, "rb")
        return stored

    def read(self, name: str, size: int, state: Any = None) -> Iterator[bytes]:
        """The first ``size`` stored bytes of ``name``, block by block."""
        with self.open(name) as stored:
            yield from read_blocks(stored, size)

    def delete(self, name: str, state: Any = None) -> None:
        """Remove the stored bytes, and anything the store keeps for them; a missing file is
        not an error."""
        if name:
            self.storage.delete(name)


def read_blocks(source: IO[bytes], limit: int | None = None) -> Iterator[bytes]:
    """The next ``limit`` bytes of ``source`` (everything left by default), block by block."""
    remaining = limit
    while remaining is None or remaining > 0:
        block = source.read(BLOCK_SIZE if remaining is None else min(BLOCK_SIZE, remaining))
        if not block:
            return
        if remaining is not None:
            remaining -= len(block)
        yield block


def copy_blocks(source: IO[bytes], target: IO[bytes], limit: int) -> int:
    """Copy up to ``limit`` bytes from ``source`` to ``target``; return how many."""
    copied = 0
    for block in read_blocks(source, limit):
        target.write(block)
        copied += len(block)
    return copied

"""A chunk store for any Django storage, also one that cannot append or seek.

Each chunk rewrites the object with the chunk added, through a staging copy so that no moment
exists when the stored bytes are gone. Needs nothing beyond ``open``/``save``/``delete``; a
storage-specific store (such as ``s3.S3ChunkStore``) avoids the rewriting and is picked instead
where one exists.
"""

from __future__ import annotations

import logging
import posixpath
import tempfile
from collections.abc import Iterable
from typing import IO, Any

from django.core.files import File

from ..exceptions import ChunkStorageError
from .base import BLOCK_SIZE, ChunkStore, copy_blocks

logger = logging.getLogger(__name__)


class RewritingChunkStore(ChunkStore):
    """For storages that cannot append or seek: rewrites the object with the chunk added.

    Without an atomic rename, replacing an object leaves a moment when it is gone. So the new
    content is first stored whole under a staging name (``<name>.next``) and only then written
    over ``name``: if that second write fails, the staged copy still holds every byte the
    recorded offset vouches for, and the next write starts from it.

    Costs two writes of everything stored so far on every chunk; a storage-specific store (for
    example one using multipart uploads) avoids that and can be plugged in instead.
    """

    staging_suffix = ".next"

    def write(self, name: str, offset: int, chunks: Iterable[bytes], state: Any = None) -> None:
        staging = name + self.staging_suffix
        with tempfile.SpooledTemporaryFile(max_size=8 * BLOCK_SIZE) as spool:
            base = self._read_base(spool, offset, name, staging) if offset else None
            for piece in chunks:
                spool.write(piece)
            if base == name:
                # The only copy of the valid bytes is `name`: keep it until the staged copy is
                # stored whole.
                self._save(staging, spool)
            self._save(name, spool)
        self._discard(staging)

    def copy(self, name: str, new_name: str, size: int | None = None, state: Any = None) -> None:
        with self.storage.open(name, "rb") as stored:
            self._save(new_name, stored)

    def delete(self, name: str, state: Any = None) -> None:
        if name:
            self.storage.delete(name)
            self.storage.delete(name + self.staging_suffix)

    def _read_base(self, spool: IO[bytes], offset: int, *candidates: str) -> str:
        """Copy the first ``offset`` bytes into ``spool`` from the first candidate holding
        them; return its name."""
        for candidate in candidates:
            spool.seek(0)
            spool.truncate()
            try:
                with self.storage.open(candidate, "rb") as stored:
                    if copy_blocks(stored, spool, limit=offset) == offset:
                        return candidate
            except FileNotFoundError:
                continue
        raise ChunkStorageError(
            f"Neither {candidates[0]!r} nor its staged copy holds the {offset} bytes the "
            "recorded offset vouches for."
        )

    def _save(self, name: str, content: IO[bytes]) -> None:
        content.seek(0)
        self.storage.delete(name)
        saved = self.storage.save(name, File(content, name=posixpath.basename(name)))
        if saved != name:
            self.storage.delete(saved)
            raise ChunkStorageError(f"The storage saved {name!r} as {saved!r}.")

    def _discard(self, name: str) -> None:
        # A leftover staging copy is harmless (the next write replaces it), so failing to
        # delete it must not fail a chunk that is already stored.
        try:
            self.storage.delete(name)
        except Exception:
            logger.warning("Could not delete the staging copy %r", name, exc_info=True)

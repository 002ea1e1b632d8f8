"""Parallel uploads on S3: each chunk becomes a part of one multipart upload.

A parallel upload's chunks all have the upload's chunk size (at least S3's 5 MiB minimum part,
``PART_SIZE``) but the last, so chunk ``start`` can be part number ``start // chunk_size + 1``
of a multipart upload opened on the incomplete name's key by ``parallel_create``. Its path:

1. **staged**: ``write_range`` stores the chunk as an object of its own,
   ``<key>.parts/chunk-<start>-<random>``. S3 has no lock across app servers, so two requests
   may write the same range at once; each writes under a name of its own and the one the upload
   records wins (the other is given up with ``abandon_range``). A staged chunk can be read back,
   which a part of an unfinished multipart upload cannot: a chunk that arrives ahead of the
   gap-free prefix is read once, when the whole-file hash reaches it.
2. **settled**: once hashed, ``settle_range`` copies the staged object into the multipart upload
   on the server side (``UploadPartCopy``); the staged object is deleted once the settled piece
   has committed (``committed``). Settling the same range twice copies the same bytes into the
   same part number, so a request whose lease ran out meanwhile does no harm (once the staged
   object is gone, such a late settle fails instead, and changes nothing).
3. **completed**: ``copy`` completes the multipart upload from the recorded parts, which
   assembles the file under the incomplete name's key, then copies that object to the complete
   name, on the server side too.

The state, saved with the upload::

    {"multipart": "<UploadId>", "chunk_size": 5242880,
     "pieces": {"0": {"part": 1, "etag": "<the part's ETag>", "size": 5242880},
                "5242880": {"staged": "<key>.parts/chunk-5242880-<hex>", "size": 5242880}}}

Nothing about completion is kept outside it: a completion rolled back after the multipart upload
was completed (by the completion hook, say) is retried from the same state, and finds the
assembled object under the incomplete name's key.

Bytes of a settled part cannot be read back before completion: ``read`` (the whole upload, for
a whole-file hash whose state cannot be saved) reads the staged objects, and is refused once a
chunk has been settled.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from ..exceptions import ChunkStorageError
from .base import read_blocks

PART_SIZE = 5 * 1024 * 1024  # S3's smallest part but the last
MAX_PARTS = 10_000  # S3's most parts of a multipart upload
# Up to 5 GiB (CopyObject's limit) a completed upload is copied with one request; beyond, in
# parts of COPY_PART_SIZE, several at once (boto3's managed copy).
SINGLE_COPY_LIMIT = 5 * 1024**3
COPY_PART_SIZE = 512 * 1024 * 1024


def is_parallel(state: Any) -> bool:
    """Whether ``state`` is that of a parallel upload (made by ``parallel_create``)."""
    return isinstance(state, dict) and "multipart" in state


def staged_keys(state: Any) -> set[str]:
    """The staged objects a parallel upload's state refers to."""
    if not is_parallel(state):
        return set()
    return {piece["staged"] for piece in state["pieces"].values() if "staged" in piece}


def piece_at(state: Any, start: int) -> Any:
    """The piece recorded for the range at ``start`` (``None`` if none)."""
    if not is_parallel(state):
        return None
    return state["pieces"].get(str(start))


def unsettled_starts(state: Any, below: int) -> list[int]:
    """The starts, ascending, of the staged ranges starting below ``below``."""
    if not is_parallel(state):
        return []
    return sorted(
        int(start)
        for start, piece in state["pieces"].items()
        if "staged" in piece and int(start) < below
    )


def record_piece(state: Any, start: int, piece: Any) -> dict[str, Any]:
    """``state`` with ``piece`` recorded for the range at ``start``; ``state`` is left as is."""
    if not is_parallel(state):
        raise ChunkStorageError("Recording a range of an upload not created as a parallel one.")
    return {**state, "pieces": {**state["pieces"], str(start): piece}}


class MultipartRanges:
    """The parallel half of ``S3ChunkStore`` for one upload, whose bytes go to ``key``."""

    def __init__(self, client: Any, bucket: str, key: str, name: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._name = name  # for messages

    @property
    def _prefix(self) -> str:
        return self._key + ".parts/"

    def create(self, total_size: int, chunk_size: int) -> dict[str, Any]:
        if total_size > chunk_size and chunk_size < PART_SIZE:
            raise ChunkStorageError(
                f"{self._name!r}: chunks of {chunk_size} bytes are below S3's smallest part "
                f"({PART_SIZE} bytes)."
            )
        if -(-total_size // chunk_size) > MAX_PARTS:
            raise ChunkStorageError(
                f"{self._name!r}: {total_size} bytes in chunks of {chunk_size} make more than "
                f"{MAX_PARTS} parts."
            )
        answer = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
        return {"multipart": answer["UploadId"], "chunk_size": chunk_size, "pieces": {}}

    def write(self, start: int, chunks: Iterable[bytes]) -> dict[str, Any]:
        key = f"{self._prefix}chunk-{start}-{uuid.uuid4().hex}"
        with tempfile.SpooledTemporaryFile(max_size=PART_SIZE) as buffer:
            for block in chunks:
                buffer.write(block)
            size = buffer.tell()
            buffer.seek(0)
            self._client.put_object(Bucket=self._bucket, Key=key, Body=buffer, ContentLength=size)
        return {"staged": key, "size": size}

    def read(self, start: int, size: int, piece: Any) -> Iterator[bytes]:
        if not isinstance(piece, dict) or "staged" not in piece:
            raise ChunkStorageError(
                f"{self._name!r}: the range at {start} is a part of the multipart upload "
                "already, which S3 cannot read back before completion."
            )
        body = self._client.get_object(Bucket=self._bucket, Key=piece["staged"])["Body"]
        try:
            yield from read_blocks(body, size)
        finally:
            body.close()

    def read_all(self, size: int, state: Any) -> Iterator[bytes]:
        """The first ``size`` bytes, from the staged objects; refused before any is read if a
        chunk among them has been settled already."""
        pieces = []
        covered = 0
        for start, piece in self._pieces(state):
            if covered >= size:
                break
            if start != covered:
                raise ChunkStorageError(f"{self._name!r}: bytes {covered}..{start - 1} missing.")
            if "staged" not in piece:
                raise ChunkStorageError(
                    f"{self._name!r} is a parallel upload whose range at {start} is a part of "
                    "the multipart upload already, which S3 cannot read back before completion."
                )
            pieces.append((start, min(piece["size"], size - covered), piece))
            covered += piece["size"]
        if covered < size:
            raise ChunkStorageError(f"{self._name!r}: bytes {covered}..{size - 1} missing.")
        for start, length, piece in pieces:
            yield from self.read(start, length, piece)

    def settle(self, start: int, size: int, state: Any, piece: Any) -> dict[str, Any]:
        if isinstance(piece, dict) and "part" in piece:
            return piece  # settled already
        if not is_parallel(state) or not isinstance(piece, dict) or "staged" not in piece:
            raise ChunkStorageError(f"{self._name!r}: no staged range at {start} to settle.")
        chunk_size = state["chunk_size"]
        if start % chunk_size:
            raise ChunkStorageError(
                f"{self._name!r}: {start} is not a multiple of the chunk size {chunk_size}."
            )
        number = start // chunk_size + 1
        answer = self._client.upload_part_copy(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=state["multipart"],
            PartNumber=number,
            CopySource={"Bucket": self._bucket, "Key": piece["staged"]},
        )
        return {"part": number, "etag": answer["CopyPartResult"]["ETag"], "size": size}

    def abandon(self, state: Any, piece: Any) -> None:
        if not isinstance(piece, dict) or "staged" not in piece:
            return  # nothing stored, or settled (the part is replaced by the next settle)
        key = piece["staged"]
        # Only this upload's objects, and never one the committed state still relies on.
        if key.startswith(self._prefix) and key not in staged_keys(state):
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def complete(self, size: int | None, state: Any) -> int:
        """Assemble the recorded parts under the upload's key (see the module docstring);
        return the assembled file's size."""
        parts, total = self._parts(state)
        if size is not None and total != size:
            raise ChunkStorageError(
                f"{self._name!r}: its parts hold {total} bytes, not the {size} expected."
            )
        try:
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=state["multipart"],
                MultipartUpload={"Parts": parts},
            )
        except self._client.exceptions.ClientError:
            # S3 answers a second completion as the first, but not every S3-compatible store
            # does (NoSuchUpload): the completion rolled back after the multipart upload was
            # completed. Only that completion writes this key, so an object of the right size
            # there is the assembled file.
            if self._stored_size() != total:
                raise
        return total

    def abort(self, state: Any) -> None:
        # Completed or aborted already: what is left under the prefix goes anyway.
        with contextlib.suppress(self._client.exceptions.ClientError):
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=state["multipart"]
            )

    def copy_to(self, target: str, size: int) -> None:
        """Copy the assembled object of ``size`` bytes to ``target`` on the server side."""
        source = {"Bucket": self._bucket, "Key": self._key}
        if target == self._key:
            return  # COMPLETE_EXT is INCOMPLETE_EXT: assembled in place (S3 refuses the copy)
        if size <= SINGLE_COPY_LIMIT:
            self._client.copy_object(Bucket=self._bucket, Key=target, CopySource=source)
            return
        from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

        config = TransferConfig(multipart_chunksize=COPY_PART_SIZE)
        self._client.copy(source, self._bucket, target, Config=config)

    # Helpers.

    def _parts(self, state: Any) -> tuple[list[dict[str, Any]], int]:
        """The parts to complete with, in order, and the bytes they hold; every range from 0
        on must be recorded and settled."""
        parts = []
        total = 0
        for start, piece in self._pieces(state):
            if start != total:
                raise ChunkStorageError(f"{self._name!r}: bytes {total}..{start - 1} missing.")
            if "part" not in piece:
                raise ChunkStorageError(
                    f"{self._name!r}: the range at {start} is not a part of the multipart "
                    "upload yet."
                )
            parts.append({"PartNumber": piece["part"], "ETag": piece["etag"]})
            total += piece["size"]
        if not parts:
            raise ChunkStorageError(f"{self._name!r}: no bytes recorded.")
        return parts, total

    def _pieces(self, state: Any) -> list[tuple[int, dict[str, Any]]]:
        """The recorded pieces, by their start."""
        if not is_parallel(state):
            raise ChunkStorageError(f"{self._name!r} is not a parallel upload.")
        return sorted(
            ((int(start), piece) for start, piece in state["pieces"].items()),
            key=lambda item: item[0],
        )

    def _stored_size(self) -> int | None:
        try:
            answer = self._client.head_object(Bucket=self._bucket, Key=self._key)
        except self._client.exceptions.ClientError:
            return None
        size: int = answer["ContentLength"]
        return size

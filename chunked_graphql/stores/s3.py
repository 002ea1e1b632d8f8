"""A chunk store for S3-compatible object storage (django-storages' ``S3Storage``).

Objects cannot be appended to, and S3 assembles objects from parts of at least 5 MiB (but the
last). Clients choose their chunk sizes freely, so chunks are regrouped into parts as they
arrive:

- bytes that do not yet fill a part wait in a *tail* object, ``<name>.parts/tail-<offset>``,
  rewritten with each chunk (so at most 5 MiB are ever re-sent per chunk);
- once the tail plus a chunk reach ``PART_SIZE`` they are stored as the next *part* object,
  ``<name>.parts/<number>``, and the tail starts again empty.

The list of parts and the tail (the store's state, saved with the offset) say which objects hold
the upload's bytes. Each write creates new objects and deletes superseded ones only after the
new state has committed, so a failed write, a crash or a rollback leaves the last committed
state whole.

Completion assembles the file on the server side: a multipart upload whose parts are copied from
the part objects (``UploadPartCopy``), the tail last; a file that never filled a part is one
server-side copy. The file's bytes do not pass through the app server again. Deleting an upload
removes every object under ``<name>.parts/`` and aborts any multipart upload left by a completion
that died halfway.

Parallel uploads (chunks in any order, several at once) take another path: each chunk becomes a
part of a multipart upload opened when the upload is created (``s3_parallel.py``).
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.core.files.storage import Storage

from ..exceptions import ChunkStorageError
from .base import BLOCK_SIZE, ChunkStore, read_blocks
from .s3_parallel import (
    MAX_PARTS,
    PART_SIZE,
    MultipartRanges,
    is_parallel,
    piece_at,
    record_piece,
    staged_keys,
    unsettled_starts,
)


class S3ChunkStore(ChunkStore):
    """Regroups chunks into S3 part objects; completes with a server-side multipart copy."""

    streams = False
    random_access = True
    reads_settled_ranges = False
    min_parallel_chunk_size = PART_SIZE
    max_parts = MAX_PARTS

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self._s3: Any = storage

    # Names and the client.

    @property
    def _client(self) -> Any:
        return self._s3.connection.meta.client

    @property
    def _bucket(self) -> str:
        bucket: str = self._s3.bucket_name
        return bucket

    def _key(self, name: str) -> str:
        from storages.utils import clean_name

        key: str = self._s3._normalize_name(clean_name(name))
        return key

    def _parts_prefix(self, name: str) -> str:
        return self._key(name) + ".parts/"

    def _ranges(self, name: str) -> MultipartRanges:
        return MultipartRanges(self._client, self._bucket, self._key(name), name)

    # Writing.

    def write(self, name: str, offset: int, chunks: Iterable[bytes], state: Any = None) -> Any:
        if is_parallel(state):
            raise ChunkStorageError(f"{name!r} is a parallel upload: its ranges go by write_range.")
        parts, tail = _parse_state(state)
        stored = sum(size for _, size in parts) + (tail[1] if tail else 0)
        if offset != stored:
            raise ChunkStorageError(
                f"{name!r}: writing at {offset}, but its parts hold {stored} bytes."
            )
        with tempfile.SpooledTemporaryFile(max_size=PART_SIZE) as buffer:
            if tail is not None:
                self._download(tail[0], buffer)
            for block in chunks:
                buffer.write(block)
            size = buffer.tell()
            end = offset + size - (tail[1] if tail else 0)
            buffer.seek(0)
            if size >= PART_SIZE:
                key = f"{self._parts_prefix(name)}{len(parts) + 1:05d}"
                self._upload(key, buffer, size)
                return {"parts": [*parts, [key, size]], "tail": None}
            key = f"{self._parts_prefix(name)}tail-{end}"
            self._upload(key, buffer, size)
            return {"parts": parts, "tail": [key, size]}

    def parallel_create(self, name: str, total_size: int, chunk_size: int) -> Any:
        return self._ranges(name).create(total_size, chunk_size)

    def write_range(
        self,
        name: str,
        start: int,
        chunks: Iterable[bytes],
        state: Any = None,
        *,
        readable: bool = False,
    ) -> Any:
        # Staged whether or not it is to be read back: two requests may write the same range at
        # once, and only a name of each one's own keeps the loser from touching the winner's.
        return self._ranges(name).write(start, chunks)

    def read_range(
        self, name: str, start: int, size: int, state: Any = None, piece: Any = None
    ) -> Iterator[bytes]:
        return self._ranges(name).read(start, size, piece)

    def settle_range(self, name: str, start: int, size: int, state: Any, piece: Any) -> Any:
        return self._ranges(name).settle(start, size, state, piece)

    def piece(self, state: Any, start: int) -> Any:
        return piece_at(state, start)

    def unsettled(self, state: Any, below: int) -> list[int]:
        return unsettled_starts(state, below)

    def record_range(self, state: Any, start: int, size: int, piece: Any) -> Any:
        return record_piece(state, start, piece)

    def abandon_range(
        self, name: str, start: int, end: int, state: Any = None, piece: Any = None
    ) -> None:
        self._ranges(name).abandon(state, piece)

    def committed(self, name: str, old_state: Any, new_state: Any) -> None:
        still_used = _keys(new_state)
        self._delete_keys(sorted(_keys(old_state) - still_used))

    def copy(self, name: str, new_name: str, size: int | None = None, state: Any = None) -> None:
        target = self._key(new_name)
        if is_parallel(state):
            ranges = self._ranges(name)
            ranges.copy_to(target, ranges.complete(size, state))
            return
        objects = _objects(state)
        if not objects:
            # Bytes stored as one object by some other means.
            self._client.copy(
                {"Bucket": self._bucket, "Key": self._key(name)}, self._bucket, target
            )
            return
        if len(objects) == 1:
            self._client.copy({"Bucket": self._bucket, "Key": objects[0][0]}, self._bucket, target)
            return
        upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=target)[
            "UploadId"
        ]
        try:
            completed = []
            for number, (key, _size) in enumerate(objects, start=1):
                answer = self._client.upload_part_copy(
                    Bucket=self._bucket,
                    Key=target,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self._bucket, "Key": key},
                )
                completed.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=target,
                UploadId=upload_id,
                MultipartUpload={"Parts": completed},
            )
        except BaseException:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=target, UploadId=upload_id)
            raise

    def read(self, name: str, size: int, state: Any = None) -> Iterator[bytes]:
        if is_parallel(state):
            yield from self._ranges(name).read_all(size, state)
            return
        objects = _objects(state)
        if not objects:
            yield from super().read(name, size, state)
            return
        remaining = size
        for key, _ in objects:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
            try:
                for block in read_blocks(body, remaining):
                    remaining -= len(block)
                    yield block
            finally:
                body.close()

    def delete(self, name: str, state: Any = None) -> None:
        if not name:
            return
        if is_parallel(state):
            self._ranges(name).abort(state)
        self.storage.delete(name)
        prefix = self._parts_prefix(name)
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            self._delete_keys([item["Key"] for item in page.get("Contents", [])])
        self._abort_multipart_uploads(name)

    # Helpers.

    def _abort_multipart_uploads(self, name: str) -> None:
        """Abort multipart uploads of this upload's names (a completion that died halfway)."""
        key = self._key(name)
        stem = posixpath.join(posixpath.dirname(key), posixpath.basename(key).split(".")[0])
        answer = self._client.list_multipart_uploads(Bucket=self._bucket, Prefix=stem)
        for pending in answer.get("Uploads", []):
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=pending["Key"], UploadId=pending["UploadId"]
            )

    def _download(self, key: str, target: IO[bytes]) -> None:
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        try:
            while block := body.read(BLOCK_SIZE):
                target.write(block)
        finally:
            body.close()

    def _upload(self, key: str, content: IO[bytes], size: int) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=content, ContentLength=size)

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # S3's limit per request
            batch = keys[start : start + 1000]
            if batch:
                self._client.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )


def _parse_state(state: Any) -> tuple[list[list[Any]], list[Any] | None]:
    if not state:
        return [], None
    return [list(part) for part in state.get("parts", [])], state.get("tail")


def _keys(state: Any) -> set[str]:
    """Every object a state refers to, serial or parallel."""
    return {key for key, _ in _objects(state)} | staged_keys(state)


def _objects(state: Any) -> list[tuple[str, int]]:
    """The objects holding an upload's bytes, in order."""
    parts, tail = _parse_state(state)
    objects = [(key, size) for key, size in parts]
    if tail is not None:
        objects.append((tail[0], tail[1]))
    return objects

"""Uploading one file: chunks, progress, retries, resuming, and the checksum at completion.

    uploader = ChunkedUploader("https://example.com/graphql/", auth=BearerAuth(token))
    upload = uploader.upload("video.mp4", on_progress=lambda p: print(p.offset, p.total))

The steps:

1. The file's fingerprint (:mod:`.fingerprint`) looks up an upload id in the resume store
   (:mod:`.resume_store`). If there is one, the server is asked for that upload: while it is
   still ``UPLOADING`` with the same size, sending continues at the server's ``offset``;
   otherwise the record is dropped and a new upload starts.
2. Chunks go out one after another, each at the offset the server confirmed last. A failed
   request is retried with backoff (:mod:`.retry`). ``OffsetMismatch`` (the chunk had arrived
   but its answer was lost) moves on to the offset the server names; ``ChunkTooLarge`` makes
   the chunks as small as the server's ``MAX_CHUNK_SIZE``.
3. The whole file is hashed with the upload's ``checksumAlgorithm`` and ``completeUpload``
   sends the digest; the server completes only if its bytes hash the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import ClientError, LocalFileError, UploadRejected
from .fingerprint import fingerprint
from .operations import (
    CANCEL_UPLOAD,
    COMPLETE_UPLOAD,
    GET_UPLOAD,
    UPLOAD_CHUNK,
    UploadInfo,
    upload_or_raise,
)
from .resume_store import ResumeStore
from .retry import RetryCallback, RetryPolicy
from .transport import Auth, Transport

DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
READ_BLOCK = 1024 * 1024
# Consecutive OffsetMismatch answers tolerated before giving up (each one moves to the server's
# offset; more than a few in a row means someone else is writing the same upload).
MAX_RESYNCS = 3


@dataclass(frozen=True)
class Progress:
    """Handed to the progress callback after the upload starts and after every chunk."""

    offset: int  # bytes the server has confirmed
    total: int
    upload_id: str | None
    resumed_from: int  # the offset this run started at (0 for a new upload)


ProgressCallback = Callable[[Progress], None]


class ChunkedUploader:
    """Uploads files to one GraphQL endpoint. Safe to reuse for several files, one at a time."""

    def __init__(
        self,
        endpoint: str,
        auth: Auth | None = None,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        retry: RetryPolicy | None = None,
        store: ResumeStore | None = None,
        resume: bool = True,
        timeout: float = 120.0,
        on_retry: RetryCallback | None = None,
        transport: Transport | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.endpoint = endpoint
        self.transport = transport or Transport(endpoint, auth, timeout=timeout)
        self.chunk_size = chunk_size
        self.retry = retry or RetryPolicy()
        self.store = store or ResumeStore()
        self.resume = resume
        self.on_retry = on_retry

    # The API's operations, each retried on transient failures ------------------------------

    def get(self, upload_id: str) -> UploadInfo | None:
        data = self.retry.call(
            lambda: self.transport.execute(GET_UPLOAD, {"id": upload_id}), self.on_retry
        )
        found = data.get("chunkedUpload")
        return UploadInfo.from_result(found) if found else None

    def send_chunk(
        self, upload_id: str | None, content: bytes, start: int, total: int, filename: str
    ) -> UploadInfo:
        variables = {
            "uploadId": upload_id,
            "contentRange": f"bytes {start}-{start + len(content) - 1}/{total}",
            "filename": filename,
        }
        data = self.retry.call(
            lambda: self.transport.execute(UPLOAD_CHUNK, variables, file=(filename, content)),
            self.on_retry,
        )
        return upload_or_raise(data.get("uploadChunk"))

    def complete(self, upload_id: str, checksum: str) -> UploadInfo:
        variables = {"uploadId": upload_id, "checksum": checksum}
        data = self.retry.call(
            lambda: self.transport.execute(COMPLETE_UPLOAD, variables), self.on_retry
        )
        return upload_or_raise(data.get("completeUpload"))

    def cancel(self, upload_id: str) -> None:
        data = self.retry.call(
            lambda: self.transport.execute(CANCEL_UPLOAD, {"uploadId": upload_id}), self.on_retry
        )
        result = data.get("cancelUpload") or {}
        if "code" in result:
            raise UploadRejected(result["code"], result["message"], result.get("httpStatus"))

    # The whole file --------------------------------------------------------------------------

    def upload(
        self,
        path: str | os.PathLike[str],
        on_progress: ProgressCallback | None = None,
        filename: str | None = None,
    ) -> UploadInfo:
        """Upload the file at ``path`` (resuming an earlier attempt) and complete it."""
        path = Path(path)
        filename = filename or path.name
        try:
            size = path.stat().st_size
            file_key = fingerprint(path)
        except OSError as exc:
            raise LocalFileError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        if not path.is_file():
            raise LocalFileError(f"{path} is not a regular file.")
        if size == 0:
            raise LocalFileError(f"{path} is empty; there is nothing to upload.")

        upload = self._resumable(file_key, size)
        offset = upload.offset if upload else 0
        report = _reporter(on_progress, size, offset)
        report(offset, upload.id if upload else None)

        try:
            with path.open("rb") as stream:
                if upload is None or upload.offset < size:
                    upload = self._send_chunks(stream, upload, size, filename, file_key, report)
                if upload.complete:
                    # Completed by an earlier run whose answer never arrived.
                    self.store.forget(self.endpoint, file_key)
                    return upload
                checksum = _digest(stream, upload.checksum_algorithm)
        except OSError as exc:
            raise LocalFileError(f"Reading {path} failed: {exc.strerror or exc}") from exc
        return self._complete(upload, checksum, file_key)

    def _resumable(self, file_key: str, size: int) -> UploadInfo | None:
        """The upload an earlier run left for this file, if it can be continued."""
        if not self.resume:
            return None
        upload_id = self.store.get(self.endpoint, file_key)
        if upload_id is None:
            return None
        upload = self.get(upload_id)
        if upload is not None and upload.total_size == size and upload.offset <= size:
            return upload
        # Gone (expired and cleaned up, cancelled, another user's) or for other content.
        self.store.forget(self.endpoint, file_key)
        return None

    def _send_chunks(
        self,
        stream: BinaryIO,
        upload: UploadInfo | None,
        size: int,
        filename: str,
        file_key: str,
        report: Callable[[int, str | None], None],
    ) -> UploadInfo:
        offset = upload.offset if upload else 0
        chunk_size = self.chunk_size
        resyncs = 0
        while upload is None or offset < size:
            stream.seek(offset)
            content = stream.read(min(chunk_size, size - offset))
            if len(content) != min(chunk_size, size - offset):
                raise LocalFileError(f"{filename} became shorter while it was being uploaded.")
            created = upload is None
            try:
                upload = self.send_chunk(
                    upload.id if upload else None, content, offset, size, filename
                )
            except UploadRejected as exc:
                limit = int(exc.details.get("maxChunkSize") or 0)
                if exc.code == "CHUNK_TOO_LARGE" and 0 < limit < len(content):
                    # The server takes smaller chunks than we were told to send; nothing was
                    # stored, so the same offset is sent again, in the size it accepts.
                    chunk_size = limit
                    continue
                if exc.code != "OFFSET_MISMATCH" or upload is None or resyncs >= MAX_RESYNCS:
                    raise
                resyncs += 1
                offset = int(exc.details["expectedOffset"])
                report(offset, upload.id)
                continue
            if created and self.resume:
                # Remember the id as soon as the server has one, so any later stop resumes.
                self.store.set(self.endpoint, file_key, upload.id, filename)
            resyncs = 0
            offset = upload.offset
            report(offset, upload.id)
        return upload

    def _complete(self, upload: UploadInfo, checksum: str, file_key: str) -> UploadInfo:
        try:
            completed = self.complete(upload.id, checksum)
        except UploadRejected as exc:
            if exc.code == "ALREADY_COMPLETE":
                # A retried completion whose first attempt went through.
                self.store.forget(self.endpoint, file_key)
                return self.get(upload.id) or upload
            if exc.code == "CHECKSUM_MISMATCH":
                # The stored bytes are not this file's: resuming again would end the same way.
                self.store.forget(self.endpoint, file_key)
                # If cancelling fails the upload expires on its own; the mismatch is what the
                # caller must hear.
                with contextlib.suppress(ClientError):
                    self.cancel(upload.id)
                raise UploadRejected(
                    exc.code,
                    "The uploaded bytes do not match the file's checksum (was the file changed "
                    "while it was uploaded?); the upload was discarded, run again to start over.",
                    exc.http_status,
                ) from exc
            raise
        self.store.forget(self.endpoint, file_key)
        return completed


def _reporter(
    on_progress: ProgressCallback | None, total: int, resumed_from: int
) -> Callable[[int, str | None], None]:
    def report(offset: int, upload_id: str | None) -> None:
        if on_progress is not None:
            on_progress(Progress(offset, total, upload_id, resumed_from))

    return report


def _digest(stream: BinaryIO, algorithm: str) -> str:
    """The hex digest of the whole stream with the upload's algorithm."""
    try:
        hasher = hashlib.new(algorithm)
    except ValueError as exc:
        raise ClientError(f"The server asks for checksum {algorithm!r}, unknown here.") from exc
    stream.seek(0)
    while block := stream.read(READ_BLOCK):
        hasher.update(block)
    return hasher.hexdigest()

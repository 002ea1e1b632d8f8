"""Uploading one file: chunks, several at once, progress, retries, resuming, and the checksums.

    uploader = ChunkedUploader("https://example.com/graphql/", auth=BearerAuth(token))
    upload = uploader.upload("video.mp4", on_progress=lambda p: print(p.offset, p.total))

The steps:

1. ``uploadLimits`` tells, once per uploader, what the server takes: its chunk sizes, the
   per-chunk checksums it checks, and whether it has ``createUpload`` at all. A server that does
   not know those fields (an earlier release) is spoken to as that release expects
   (:data:`.operations.BEFORE_PARALLEL`): no ``createUpload``, the first chunk creates the upload.
2. The file's fingerprint (:mod:`.fingerprint`) looks up an upload id in the resume store
   (:mod:`.resume_store`). If there is one, the server is asked for that upload: while it is
   still ``UPLOADING``, unexpired, with the same size, sending continues with what the server
   lacks (a parallel upload's ``missingRanges``, a serial upload's ``offset``); otherwise the
   record is dropped and a new upload starts.
3. A new upload is created with ``createUpload`` before any byte is sent, and its id saved at
   once, so a lost answer never leaves an upload the next run cannot find. A file of more than
   one chunk is a parallel upload: ``parallel`` senders (4 by default), each on its own HTTP
   connection, take the chunks in ascending order from one queue, so that the server can hash
   the file as the chunks arrive. Otherwise, and with ``parallel=1``, chunks go out one after
   another at the offset the server confirmed last; ``OffsetMismatch`` (the chunk had arrived but
   its answer was lost) moves on to the offset the server names, ``ChunkTooLarge`` makes the
   chunks as small as the server's ``MAX_CHUNK_SIZE``.
4. Every chunk carries its ``chunkChecksum`` (crc32c, else sha256, else md5, whichever the
   server checks); a chunk refused with ``ChunkChecksumMismatch`` was damaged on the way and is
   sent again, a few times at most. A failed request is retried with backoff (:mod:`.retry`).
5. The whole file is hashed with the upload's ``checksumAlgorithm`` as its chunks are read (the
   parts already on the server are read for it alone), and ``completeUpload`` sends the digest;
   the server completes only if its bytes hash the same.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from pathlib import Path
from typing import Any

from .checksums import chunk_checksum, pick_algorithm, send_until_intact
from .errors import ClientError, LocalFileError, ServerError, UploadRejected
from .fingerprint import fingerprint
from .operations import (
    BEFORE_PARALLEL,
    CURRENT,
    UPLOAD_LIMITS,
    Operations,
    ServerLimits,
    UploadInfo,
    upload_or_raise,
)
from .planning import DEFAULT_CHUNK_SIZE, DEFAULT_PARALLEL, parallel_chunk_size
from .progress import ProgressCallback, reporter
from .reading import FileDigest
from .resume_store import ResumeStore
from .retry import RetryCallback, RetryPolicy
from .sending import send_in_parallel, send_serially
from .transport import Auth, Transport


class ChunkedUploader:
    """Uploads files to one GraphQL endpoint. Safe to reuse for several files, one at a time.

    ``chunk_size`` None: 4 MiB, or what the server's limits need for a parallel upload.
    ``parallel`` None: 4 senders when the server takes a parallel upload of the file in chunks of
    ``chunk_size``, else one; a number: that many, and a ``chunk_size`` the server would not take
    for a parallel upload is refused (``UploadRejected`` with code ``INVALID_CHUNK_SIZE`` and the
    range it takes) before anything is created. ``parallel=1`` sends serially.
    """

    def __init__(
        self,
        endpoint: str,
        auth: Auth | None = None,
        *,
        chunk_size: int | None = None,
        parallel: int | None = None,
        retry: RetryPolicy | None = None,
        store: ResumeStore | None = None,
        resume: bool = True,
        timeout: float = 120.0,
        on_retry: RetryCallback | None = None,
        transport: Transport | None = None,
    ) -> None:
        if chunk_size is not None and chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        if parallel is not None and parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.endpoint = endpoint
        self.transport = transport or Transport(endpoint, auth, timeout=timeout)
        self.chunk_size = chunk_size
        self.parallel = parallel
        self.retry = retry or RetryPolicy()
        self.store = store or ResumeStore()
        self.resume = resume
        self.on_retry = on_retry
        # Senders report retries from their own threads; the callback hears them one at a time.
        self._retry_lock = threading.Lock()
        # What the server speaks, found by the first request (see server_limits).
        self._operations: Operations | None = None
        self._limits: ServerLimits | None = None
        self._creates = False

    # What the server offers -----------------------------------------------------------------

    def server_limits(self) -> ServerLimits | None:
        """The server's ``uploadLimits``, asked once; None for a server before createUpload,
        which the client then speaks to as that release expects."""
        if self._operations is None:
            try:
                data = self._call(self.transport, UPLOAD_LIMITS, {})
            except ServerError as exc:
                # No uploadLimits, or one without the fields of parallel uploads: an older
                # server, not a failing one.
                if not exc.schema_lacks_it:
                    raise
                self._operations, self._limits, self._creates = BEFORE_PARALLEL, None, False
            else:
                limits = ServerLimits.from_result(data["uploadLimits"])
                self._operations, self._limits, self._creates = CURRENT, limits, True
        return self._limits

    @property
    def operations(self) -> Operations:
        """The documents of the dialect the server speaks."""
        self.server_limits()
        assert self._operations is not None
        return self._operations

    # The API's operations, each retried on transient failures ------------------------------

    def get(self, upload_id: str) -> UploadInfo | None:
        data = self._call(self.transport, self.operations.get_upload, {"id": upload_id})
        found = data.get("chunkedUpload")
        return UploadInfo.from_result(found) if found else None

    def create(
        self,
        filename: str,
        total_size: int,
        *,
        parallel: bool = False,
        chunk_size: int | None = None,
    ) -> UploadInfo:
        """``createUpload``: a new upload, no bytes yet (a server before createUpload answers
        with a :class:`.ServerError` whose ``schema_lacks_it`` is true)."""
        variables: dict[str, Any] = {"filename": filename, "totalSize": total_size}
        if parallel:
            variables.update(parallel=True, chunkSize=chunk_size)
        # Sent whatever the server speaks: one that does not know it says so.
        query = self.operations.create_upload or CURRENT.create_upload
        assert query is not None
        data = self._call(self.transport, query, variables)
        return upload_or_raise(data.get("createUpload"))

    def send_chunk(
        self,
        upload_id: str | None,
        content: bytes,
        start: int,
        total: int,
        filename: str,
        chunk_checksum: str | None = None,
    ) -> UploadInfo:
        """``uploadChunk``; ``chunk_checksum`` is ``"<algorithm>:<hex>"`` (ignored by a server
        before createUpload)."""
        transport = self.transport
        return self._send(transport, upload_id, content, start, total, filename, chunk_checksum)

    def complete(self, upload_id: str, checksum: str) -> UploadInfo:
        variables = {"uploadId": upload_id, "checksum": checksum}
        data = self._call(self.transport, self.operations.complete_upload, variables)
        return upload_or_raise(data.get("completeUpload"))

    def cancel(self, upload_id: str) -> None:
        data = self._call(self.transport, self.operations.cancel_upload, {"uploadId": upload_id})
        result = data.get("cancelUpload") or {}
        if "code" in result:
            raise UploadRejected(result["code"], result["message"], result.get("httpStatus"))

    def _call(
        self,
        transport: Transport,
        query: str,
        variables: dict[str, Any],
        file: tuple[str, bytes] | None = None,
    ) -> dict[str, Any]:
        return self.retry.call(
            lambda: transport.execute(query, variables, file=file), self._notify_retry
        )

    def _notify_retry(self, attempt: int, delay: float, error: ClientError) -> None:
        if self.on_retry is not None:
            with self._retry_lock:
                self.on_retry(attempt, delay, error)

    def _send(
        self,
        transport: Transport,
        upload_id: str | None,
        content: bytes,
        start: int,
        total: int,
        filename: str,
        chunk_checksum: str | None,
    ) -> UploadInfo:
        operations = self.operations
        variables: dict[str, Any] = {
            "uploadId": upload_id,
            "contentRange": f"bytes {start}-{start + len(content) - 1}/{total}",
            "filename": filename,
        }
        if not operations.before_parallel:
            variables["chunkChecksum"] = chunk_checksum
        data = self._call(transport, operations.upload_chunk, variables, (filename, content))
        return upload_or_raise(data.get("uploadChunk"))

    def _send_checked(
        self,
        transport: Transport,
        upload_id: str | None,
        content: bytes,
        start: int,
        total: int,
        filename: str,
    ) -> UploadInfo:
        """Send one chunk with its checksum, again if it arrived damaged."""
        checksum = chunk_checksum(self._chunk_checksum_algorithm(), content)
        return send_until_intact(
            lambda: self._send(transport, upload_id, content, start, total, filename, checksum),
            start,
            len(content),
            self._notify_retry,
        )

    def _chunk_checksum_algorithm(self) -> str | None:
        limits = self.server_limits()
        return pick_algorithm(limits.chunk_checksum_algorithms if limits is not None else ())

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

        self.server_limits()
        upload = self._resumable(file_key, size)
        resumed_from = upload.stored_bytes if upload else 0
        report = reporter(on_progress, size, resumed_from)
        report(resumed_from, upload.id if upload else None)

        digest = FileDigest(path, size)
        send = functools.partial(self._send_checked, total=size, filename=filename)
        try:
            with path.open("rb") as stream:
                if upload is None:
                    upload = self._create(filename, size, file_key)
                if upload is not None and upload.complete:
                    # Completed by an earlier run whose answer never arrived.
                    self.store.forget(self.endpoint, file_key)
                    return upload
                if upload is not None and upload.parallel:
                    digest.use(upload.checksum_algorithm)
                    upload = send_in_parallel(
                        send,
                        self.transport,
                        self.parallel or DEFAULT_PARALLEL,
                        stream,
                        upload,
                        size,
                        filename,
                        digest,
                        report,
                    )
                elif upload is None or upload.offset < size:
                    upload = send_serially(
                        send,
                        self.transport,
                        self._serial_chunk_size(),
                        stream,
                        upload,
                        size,
                        filename,
                        digest,
                        report,
                        created=lambda new: self._remember(file_key, new, filename),
                    )
                digest.use(upload.checksum_algorithm)
                checksum = digest.hexdigest()
        except OSError as exc:
            raise LocalFileError(f"Reading {path} failed: {exc.strerror or exc}") from exc
        finally:
            digest.close()
        return self._complete(upload, checksum, file_key)

    def _resumable(self, file_key: str, size: int) -> UploadInfo | None:
        """The upload an earlier run left for this file, if it can be continued."""
        if not self.resume:
            return None
        upload_id = self.store.get(self.endpoint, file_key)
        if upload_id is None:
            return None
        upload = self.get(upload_id)
        if (
            upload is not None
            and upload.total_size == size
            and upload.offset <= size
            and not upload.expired
            and (not upload.parallel or (upload.chunk_size and upload.missing_ranges is not None))
        ):
            return upload
        if upload is not None and upload.expired:
            # It cannot go on; cancelling frees its storage now rather than at the clean-up.
            with contextlib.suppress(ClientError):
                self.cancel(upload.id)
        # Gone (expired and cleaned up, cancelled, another user's) or for other content.
        self.store.forget(self.endpoint, file_key)
        return None

    def _create(self, filename: str, size: int, file_key: str) -> UploadInfo | None:
        """A new upload made with createUpload, its id saved; None where the server has no
        createUpload (the first chunk then creates the upload)."""
        limits = self.server_limits()
        if limits is None or not self._creates:
            return None
        chunk_size = parallel_chunk_size(size, limits, self.chunk_size, self.parallel)
        try:
            upload = self.create(
                filename, size, parallel=chunk_size is not None, chunk_size=chunk_size
            )
        except ServerError as exc:
            # A project's schema with the app's uploadLimits but without createUpload.
            if not exc.schema_lacks_it:
                raise
            self._creates = False
            return None
        if self.resume:
            # Before any byte is sent: whatever happens next, the next run finds this upload.
            self.store.set(self.endpoint, file_key, upload.id, filename)
        return upload

    def _serial_chunk_size(self) -> int:
        chunk_size = self.chunk_size or DEFAULT_CHUNK_SIZE
        limits = self.server_limits()
        return min(chunk_size, limits.max_chunk_size) if limits is not None else chunk_size

    def _remember(self, file_key: str, upload: UploadInfo, filename: str) -> None:
        """Remember the id of an upload its first chunk created, so any later stop resumes."""
        if self.resume:
            self.store.set(self.endpoint, file_key, upload.id, filename)

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

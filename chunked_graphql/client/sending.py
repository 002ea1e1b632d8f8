"""Sending an upload's chunks. Serially: one after another at the offset the server confirmed.
In parallel: several sender threads, each on its own connection, take the chunks the upload lacks
in ascending order from one source (so the server can hash the file as they arrive) and hand
their answers to the thread that started them, which reports progress.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import BinaryIO

from .errors import LocalFileError, UploadRejected
from .operations import UploadInfo
from .reading import ChunkSource, FileDigest
from .transport import Transport

#: One chunk sent and checked: (connection, upload id, bytes, offset) -> the upload as answered.
SendChunk = Callable[[Transport, str | None, bytes, int], UploadInfo]
#: Progress: (bytes the server confirmed, upload id).
Report = Callable[[int, str | None], None]
# How long the thread that started a parallel upload waits for news before looking again (it
# stays interruptible by Ctrl-C meanwhile).
POLL_SECONDS = 0.2
# Consecutive OffsetMismatch answers tolerated before giving up (each one moves to the server's
# offset; more than a few in a row means someone else is writing the same upload).
MAX_RESYNCS = 3


def send_serially(
    send: SendChunk,
    transport: Transport,
    chunk_size: int,
    stream: BinaryIO,
    upload: UploadInfo | None,
    size: int,
    filename: str,
    digest: FileDigest,
    report: Report,
    created: Callable[[UploadInfo], None],
) -> UploadInfo:
    """Send serially from the upload's offset, one chunk after another at the offset the server
    confirmed last; a new upload (None) is created by its first chunk, and ``created`` hears of
    it. ``OffsetMismatch`` (the chunk had arrived but its answer was lost) moves on to the offset
    the server names; ``ChunkTooLarge`` makes the chunks as small as the server takes."""
    offset = upload.offset if upload else 0
    resyncs = 0
    while upload is None or offset < size:
        stream.seek(offset)
        content = stream.read(min(chunk_size, size - offset))
        if len(content) != min(chunk_size, size - offset):
            raise LocalFileError(f"{filename} became shorter while it was being uploaded.")
        first = upload is None
        try:
            upload = send(transport, upload.id if upload else None, content, offset)
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
        if first:
            created(upload)
        digest.use(upload.checksum_algorithm)
        digest.feed(offset, content)
        resyncs = 0
        offset = upload.offset
        report(offset, upload.id)
    return upload


def send_in_parallel(
    send: SendChunk,
    transport: Transport,
    senders: int,
    stream: BinaryIO,
    upload: UploadInfo,
    size: int,
    filename: str,
    digest: FileDigest,
    report: Report,
) -> UploadInfo:
    """Send the chunks the parallel upload lacks with ``senders`` threads, each on its own
    connection (a fork of ``transport``); the progress callback runs in this thread."""
    assert upload.chunk_size and upload.missing_ranges is not None
    chunk_size = upload.chunk_size
    starts = sorted(
        {
            index * chunk_size
            for first, last in upload.missing_ranges
            for index in range(first // chunk_size, last // chunk_size + 1)
        }
    )
    if not starts:
        return upload
    chunks = ChunkSource(stream, starts, chunk_size, size, digest, filename)
    # Each event: (bytes acknowledged, the answer, a sender's failure); None: a sender ended.
    events: queue.SimpleQueue[tuple[int, UploadInfo | None, BaseException | None] | None]
    events = queue.SimpleQueue()
    stop = threading.Event()

    def sender(connection: Transport) -> None:
        try:
            while not stop.is_set():
                chunk = chunks.take()
                if chunk is None:
                    break
                start, content = chunk
                answer = send(connection, upload.id, content, start)
                events.put((len(content), answer, None))
        except BaseException as exc:  # handed to the thread that waits for the senders
            events.put((0, None, exc))
        finally:
            connection.close()
            events.put(None)

    count = min(senders, len(starts))
    threads = [
        threading.Thread(
            target=sender, args=(transport.fork(),), name=f"chunk-sender-{n}", daemon=True
        )
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    acknowledged = upload.stored_bytes
    latest = upload
    running = count
    try:
        while running:
            try:
                event = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if event is None:
                running -= 1
                continue
            length, answer, failure = event
            if failure is not None:
                raise failure
            assert answer is not None
            acknowledged = min(size, acknowledged + length)
            latest = answer
            report(acknowledged, upload.id)
    except KeyboardInterrupt:
        # The senders are daemon threads: a request in flight is not waited for.
        stop.set()
        raise
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    for thread in threads:
        thread.join()
    return latest

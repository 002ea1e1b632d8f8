"""The upload service: validate, lock, write, hash and complete, in plain Python.

Every function here either succeeds or raises a ``ChunkedUploadError`` subclass having changed
nothing. The checks run in the order the specification (docs/specification.md §3) fixes, so the
first failure wins. One module per use case:

    creating.py     create_upload: a new upload before any of its bytes
    uploading.py    upload_chunk: a chunk of a new or an existing upload
    parallel.py     a chunk of a parallel upload, and hashing the ranges that came ahead
    quotas.py       reserve_quota: per-user quotas on incomplete uploads
    completing.py   complete_upload, upload_whole_file: the checksum, the rename, the hook
    cancelling.py   cancel_upload, delete_expired_uploads, delete_uploads
    visibility.py   visible_uploads, get_visible_upload, upload_page: what a caller may see
    upload_limits.py  upload_limits: what a client should know before it sends
    incoming.py     a chunk's bytes on their way to the store: counted and hashed
    common.py       what they share: typed checks, new rows, storage-error wrapping

Concurrency: every change to an existing upload commits in a short transaction holding its row
lock (``select_for_update``; on SQLite, ``transaction_mode = "IMMEDIATE"`` serialises writers) or
as one conditional update, and bytes are written at their recorded place rather than appended,
under the store's lock of the bytes written. Two requests racing on one range therefore never
both write: a serial upload's second sees the first's offset and gets ``OffsetMismatch``; a
parallel upload's second finds the range stored and stores nothing.
"""

from .cancelling import cancel_upload, delete_expired_uploads, delete_uploads
from .completing import complete_upload, upload_whole_file
from .creating import create_upload
from .upload_limits import UploadLimits, upload_limits
from .uploading import upload_chunk
from .visibility import get_visible_upload, upload_page, visible_uploads

__all__ = [
    "UploadLimits",
    "cancel_upload",
    "complete_upload",
    "create_upload",
    "delete_expired_uploads",
    "delete_uploads",
    "get_visible_upload",
    "upload_chunk",
    "upload_limits",
    "upload_page",
    "upload_whole_file",
    "visible_uploads",
]

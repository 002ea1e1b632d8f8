"""The upload service: validate, lock, write, hash and complete, in plain Python.

Every function here either succeeds or raises a ``ChunkedUploadError`` subclass having changed
nothing. The checks run in the order the specification (docs/specification.md §3) fixes, so the
first failure wins. One module per use case:

    uploading.py    upload_chunk: a chunk of a new or an existing upload
    completing.py   complete_upload, upload_whole_file: the checksum, the rename, the hook
    cancelling.py   cancel_upload, delete_expired_uploads, delete_uploads
    visibility.py   visible_uploads, get_visible_upload, upload_page: what a caller may see
    upload_limits.py  upload_limits: what a client should know before it sends
    incoming.py     a chunk's bytes on their way to the store: counted and hashed
    common.py       what they share: typed checks, new rows, storage-error wrapping

Concurrency: every change to an existing upload runs in a transaction holding its row lock
(``select_for_update``; on SQLite, ``transaction_mode = "IMMEDIATE"`` serialises writers), and
bytes are written at the recorded offset rather than appended. Two requests racing on one upload
therefore never both write: the second sees the first's offset and gets ``OffsetMismatch``.
"""

from .cancelling import cancel_upload, delete_expired_uploads, delete_uploads
from .completing import complete_upload, upload_whole_file
from .upload_limits import UploadLimits, upload_limits
from .uploading import upload_chunk
from .visibility import get_visible_upload, upload_page, visible_uploads

__all__ = [
    "UploadLimits",
    "cancel_upload",
    "complete_upload",
    "delete_expired_uploads",
    "delete_uploads",
    "get_visible_upload",
    "upload_chunk",
    "upload_limits",
    "upload_page",
    "upload_whole_file",
    "visible_uploads",
]

"""Where upload bytes live: chunk stores on top of Django's ``Storage`` API.

    base.py         ChunkStore, the interface the upload service writes through; read_blocks
    filesystem.py   FileSystemChunkStore: in place on a local disk, byte-range locks (locks.py)
    s3.py           S3ChunkStore: django-storages' S3, chunks regrouped into multipart parts
    s3_parallel.py  its parallel uploads: each chunk staged, then a part of one multipart upload
    rewriting.py    RewritingChunkStore: any other storage, rewritten through a staging copy
    names.py        the stored names, ``<PATH>/<upload id><ext>``
    configured.py   ConfiguredStorage, the model's FileField storage, following the settings

``chunk_store()`` picks the store for the configured storage (as tusd's composer joins a store
and a locker); nothing below imports this module back.
"""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage, Storage

from ..settings import upload_settings
from .base import BLOCK_SIZE, ChunkStore, read_blocks
from .filesystem import FileSystemChunkStore
from .rewriting import RewritingChunkStore
from .s3 import S3ChunkStore

__all__ = [
    "BLOCK_SIZE",
    "ChunkStore",
    "FileSystemChunkStore",
    "RewritingChunkStore",
    "S3ChunkStore",
    "chunk_store",
    "read_blocks",
]


def chunk_store(storage: Storage | None = None) -> ChunkStore:
    """The ``ChunkStore`` for ``storage`` (default: the configured upload storage)."""
    backend = storage if storage is not None else upload_settings.storage()
    # default_storage is a lazy proxy; isinstance sees through it.
    if isinstance(backend, FileSystemStorage):
        return FileSystemChunkStore(backend)
    if _is_s3(backend):
        return S3ChunkStore(backend)
    return RewritingChunkStore(backend)


def _is_s3(storage: Storage) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # django-storages is optional
        return False
    return isinstance(storage, S3Storage)

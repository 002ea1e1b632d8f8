"""A file's fingerprint: how the client recognises "the same file" on the next run.

The fingerprint is the SHA-256 of the file's base name, size, modification time (ns) and its
first and last 64 KiB. It is cheap for any file size (at most 128 KiB read) and changes when the
file is replaced, truncated, appended to or touched; a file moved to another directory keeps it,
so its upload can still be resumed. An edit in the middle that keeps size, mtime and both ends is
not seen here, but the checksum at completion catches it (the whole file is hashed then).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

EDGE_BYTES = 64 * 1024


def fingerprint(path: str | os.PathLike[str]) -> str:
    """The hex fingerprint of the file at ``path`` (see the module docstring)."""
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        stat = os.fstat(stream.fileno())
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        digest.update(stream.read(EDGE_BYTES))
        if stat.st_size > EDGE_BYTES:
            stream.seek(max(EDGE_BYTES, stat.st_size - EDGE_BYTES))
            digest.update(stream.read(EDGE_BYTES))
    return digest.hexdigest()

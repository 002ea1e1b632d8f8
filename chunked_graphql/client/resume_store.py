"""The local record of unfinished uploads: which upload id belongs to which file.

A small JSON file maps ``(endpoint, file fingerprint)`` to the upload id the server gave when
the upload was created (by ``createUpload``, or by the first chunk on an older server), so
running the same upload again asks the server what that upload still lacks and sends only that.
The server stays the authority on what it holds; this file only remembers ids.

Location, first match wins: the ``path`` argument (CLI ``--state-file``), the environment
variable ``CHUNKED_UPLOAD_STATE_FILE``, ``$XDG_CACHE_HOME/chunked-graphql/uploads.json``,
``~/.cache/chunked-graphql/uploads.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

# Uploads expire on the server after a day by default; a record this old is of no use.
MAX_AGE_SECONDS = 30 * 24 * 3600


def default_state_file() -> Path:
    explicit = os.environ.get("CHUNKED_UPLOAD_STATE_FILE")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "chunked-graphql" / "uploads.json"


class ResumeStore:
    """Upload ids by endpoint and fingerprint, kept in one JSON file."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_state_file()

    @staticmethod
    def key(endpoint: str, fingerprint: str) -> str:
        return f"{endpoint} {fingerprint}"

    def get(self, endpoint: str, fingerprint: str) -> str | None:
        entry = self._load().get(self.key(endpoint, fingerprint))
        return str(entry["upload_id"]) if entry else None

    def set(self, endpoint: str, fingerprint: str, upload_id: str, filename: str = "") -> None:
        entries = self._load()
        entries[self.key(endpoint, fingerprint)] = {
            "upload_id": upload_id,
            "filename": filename,
            "saved_at": time.time(),
        }
        self._save(entries)

    def forget(self, endpoint: str, fingerprint: str) -> None:
        entries = self._load()
        if entries.pop(self.key(endpoint, fingerprint), None) is not None:
            self._save(entries)

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["uploads"]
        except (OSError, ValueError, KeyError, TypeError):
            # Missing or damaged: losing the record only costs a fresh start, never an error.
            return {}
        if not isinstance(entries, dict):
            return {}
        return {
            key: entry
            for key, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get("upload_id"), str)
        }

    def _save(self, entries: dict[str, dict[str, Any]]) -> None:
        cutoff = time.time() - MAX_AGE_SECONDS
        kept = {k: v for k, v in entries.items() if float(v.get("saved_at", 0)) >= cutoff}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write a sibling and rename it over the old file, so a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".uploads-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump({"version": 1, "uploads": kept}, stream, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise

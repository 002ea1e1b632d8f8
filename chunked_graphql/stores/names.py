"""Stored names: ``<PATH>/<upload id><ext>``, built from the id alone, never from the client's
filename."""

from __future__ import annotations

import datetime
import posixpath
import uuid

from django.core.exceptions import SuspiciousFileOperation
from django.utils import timezone

from ..settings import upload_settings


def upload_name(upload_id: uuid.UUID, created_at: datetime.datetime, ext: str) -> str:
    """The storage name of an upload: ``<PATH with strftime applied>/<id><ext>``."""
    expanded = _local(created_at).strftime(upload_settings.PATH)
    try:
        directory = storage_directory(expanded)
    except ValueError as exc:
        raise SuspiciousFileOperation(str(exc)) from exc
    return posixpath.join(directory, f"{upload_id}{ext}")


def storage_directory(expanded_path: str) -> str:
    """The expanded PATH as a normalised relative directory (``""`` for the root).

    Raise ``ValueError`` for a path that could leave the storage root: absolute, with a ``..``
    segment (with either slash, as a Windows storage would read it), or holding NUL.
    """
    segments = expanded_path.replace("\\", "/").split("/")
    if expanded_path.startswith(("/", "\\")) or ".." in segments or "\x00" in expanded_path:
        raise ValueError(f"Upload path {expanded_path!r} would leave the storage root.")
    directory = posixpath.normpath(expanded_path) if expanded_path else "."
    return "" if directory == "." else directory


def renamed(name: str, upload_id: uuid.UUID, ext: str) -> str:
    """``name`` with its ``<id><ext>`` basename replaced by ``<id><new ext>``."""
    return posixpath.join(posixpath.dirname(name), f"{upload_id}{ext}")


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment

"""The storage of the upload model's ``FileField``: whatever the settings name at the time of the
call (``STORAGE_CLASS``, or Django's default storage), so ``upload.file.open()`` and
``upload.file.url`` follow ``override_settings``."""

from __future__ import annotations

import datetime
import os
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage

from ..settings import upload_settings


class ConfiguredStorage(Storage):
    """A ``Storage`` forwarding to whatever storage the settings name at the time of the call."""

    @property
    def backend(self) -> Storage:
        return upload_settings.storage()

    def open(self, name: str, mode: str = "rb") -> File:
        return self.backend.open(name, mode)

    def save(self, name: str | None, content: IO[Any], max_length: int | None = None) -> str:
        return self.backend.save(name, content, max_length=max_length)

    def get_valid_name(self, name: str) -> str:
        return self.backend.get_valid_name(name)

    def get_alternative_name(self, file_root: str, file_ext: str) -> str:
        return self.backend.get_alternative_name(file_root, file_ext)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.backend.get_available_name(name, max_length=max_length)

    def generate_filename(self, filename: str | os.PathLike[str]) -> str:
        return self.backend.generate_filename(filename)

    def path(self, name: str) -> str:
        return self.backend.path(name)

    def delete(self, name: str) -> None:
        self.backend.delete(name)

    def exists(self, name: str) -> bool:
        return self.backend.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.backend.listdir(path)

    def size(self, name: str) -> int:
        return self.backend.size(name)

    def url(self, name: str | None) -> str:
        return self.backend.url(name)

    def get_accessed_time(self, name: str) -> datetime.datetime:
        return self.backend.get_accessed_time(name)

    def get_created_time(self, name: str) -> datetime.datetime:
        return self.backend.get_created_time(name)

    def get_modified_time(self, name: str) -> datetime.datetime:
        return self.backend.get_modified_time(name)


configured_storage = ConfiguredStorage()


def get_configured_storage() -> ConfiguredStorage:
    """The ``FileField`` storage callable (a callable keeps the storage out of migrations)."""
    return configured_storage

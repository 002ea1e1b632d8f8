"""The app's settings, read lazily through one object.

Every setting is read as ``CHUNKED_GRAPHQL_<NAME>``. When that is not defined at all (an explicit
``None`` counts as defined) the drf-chunked-upload spelling ``DRF_CHUNKED_UPLOAD_<NAME>`` is
honoured, so a project migrating from the REST package keeps its configuration. Values are read
when used and cached until Django's ``setting_changed`` signal fires, so ``override_settings``
works in tests.

    from chunked_graphql.settings import upload_settings
    upload_settings.MAX_BYTES
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage, default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

T = TypeVar("T")

PREFIX = "CHUNKED_GRAPHQL_"
LEGACY_PREFIX = "DRF_CHUNKED_UPLOAD_"

DEFAULTS: dict[str, Any] = {
    "EXPIRATION_DELTA": datetime.timedelta(days=1),
    "PATH": "chunked_uploads/%Y/%m/%d",
    "CHECKSUM": "md5",
    "COMPLETE_EXT": ".done",
    "INCOMPLETE_EXT": ".part",
    "STORAGE_CLASS": None,
    "USER_RESTRICTED": True,
    "ABSTRACT_MODEL": False,
    "MAX_BYTES": None,
    "COMPLETION_HOOK": None,
    # Not in drf-chunked-upload: which concrete model to use when ABSTRACT_MODEL is on
    # ("app_label.ModelName"); None means "the one concrete subclass of AbstractChunkedUpload".
    "MODEL": None,
    # Not in drf-chunked-upload: the largest chunk a request may carry (bytes). Bounds how long
    # one request holds an upload and how much a worker receives before it can refuse.
    "MAX_CHUNK_SIZE": 128 * 1024 * 1024,
    # Not in drf-chunked-upload: per-user quotas on unexpired incomplete uploads, their number
    # and the sum of their declared sizes (bytes). None: no quota.
    "MAX_INCOMPLETE_UPLOADS": None,
    "MAX_INCOMPLETE_BYTES": None,
    # Not in drf-chunked-upload: the most uploads one chunkedUploads field lists at once.
    "MAX_PAGE_SIZE": 100,
    # Not in drf-chunked-upload: what one GraphQL request may cost (chunked_graphql.limits);
    # None means no limit.
    "MAX_QUERY_BYTES": 64 * 1024,
    "MAX_QUERY_TOKENS": 10_000,
    "MAX_QUERY_DEPTH": 20,
    "MAX_QUERY_FIELDS": 1_000,
    "MAX_UPLOAD_FIELDS": 5,
    # Not in drf-chunked-upload: GraphiQL on a browser's GET, and queries of __schema and
    # __type. None means "while settings.DEBUG is on".
    "GRAPHIQL": None,
    "INTROSPECTION": None,
    # Not in drf-chunked-upload: deadlines on request bodies (chunked_graphql.deadlines), so a
    # client sending too slowly cannot hold a worker. Bytes per second and seconds; None: off.
    # A trickling body is cut off after about REQUEST_GRACE seconds; 4 KiB/s is an eighth of
    # what each of 8 chunks sent at once over a 2 Mbit/s uplink gets.
    "MIN_UPLOAD_RATE": 4096,
    "REQUEST_GRACE": 3.0,
    "STALL_TIMEOUT": 15.0,
    "REQUEST_TIME_LIMIT": None,
}

# drf-chunked-upload's README spells one setting USER_RESTRICED; projects copied it.
LEGACY_EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "USER_RESTRICTED": ("DRF_CHUNKED_UPLOAD_USER_RESTRICED",),
}


def setting_names(name: str) -> tuple[str, ...]:
    """The Django setting names consulted for ``name``, in order of precedence."""
    return (PREFIX + name, LEGACY_PREFIX + name, *LEGACY_EXTRA_NAMES.get(name, ()))


class UploadSettings:
    """Lazy accessor for the app's settings; attribute names are the keys of ``DEFAULTS``."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid chunked_graphql setting: {name!r}")
        if name not in self._cache:
            self._cache[name] = self.raw(name)
        return self._cache[name]

    def raw(self, name: str) -> Any:
        """The configured value of ``name``, uncached and unvalidated."""
        source = self.source(name)
        return DEFAULTS[name] if source is None else getattr(settings, source)

    def source(self, name: str) -> str | None:
        """The Django setting that provides ``name``, or ``None`` when the default applies."""
        for candidate in setting_names(name):
            if hasattr(settings, candidate):
                return candidate
        return None

    def reload(self) -> None:
        self._cache.clear()

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered until the settings change."""
        if key not in self._cache:
            self._cache[key] = compute()
        value: T = self._cache[key]
        return value

    # Resolved objects. Each raises ImproperlyConfigured at once on a bad value; the system
    # checks in checks.py report the same problems at start-up.

    def storage(self) -> Storage:
        """The storage uploads are written to: STORAGE_CLASS, or Django's default storage."""
        return self.cached("_storage", _build_storage)

    def completion_hook(self) -> Callable[..., Any] | None:
        """The project's COMPLETION_HOOK as a callable, or ``None``."""
        return self.cached("_hook", _build_completion_hook)


def _build_storage() -> Storage:
    configured = upload_settings.STORAGE_CLASS
    if configured is None:
        return default_storage  # it follows the STORAGES setting by itself
    # A Storage subclass is instantiated without arguments; drf-chunked-upload called any
    # callable (a class or a factory function), so a factory returning a Storage works too.
    factory = _import(configured, "STORAGE_CLASS")
    if isinstance(factory, Storage):
        return factory
    if callable(factory):
        storage = factory()
        if storage is None:  # drf-chunked-upload's way of saying "the default storage"
            return default_storage
        if isinstance(storage, Storage):
            return storage
    raise ImproperlyConfigured(
        f"{upload_settings.source('STORAGE_CLASS')} must be a Storage subclass, the dotted path "
        f"of one, or a callable returning a Storage, not {configured!r}."
    )


def _build_completion_hook() -> Callable[..., Any] | None:
    configured = upload_settings.COMPLETION_HOOK
    if configured is None:
        return None
    hook = _import(configured, "COMPLETION_HOOK")
    if not callable(hook):
        raise ImproperlyConfigured(
            f"{upload_settings.source('COMPLETION_HOOK')} must be a callable or the dotted path "
            f"of one, not {configured!r}."
        )
    hook_fn: Callable[..., Any] = hook
    return hook_fn


def _import(value: Any, name: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"{upload_settings.source(name)} = {value!r} cannot be imported: {exc}"
        ) from exc


upload_settings = UploadSettings()


@receiver(setting_changed)
def _reload_upload_settings(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith((PREFIX, LEGACY_PREFIX)):
        upload_settings.reload()

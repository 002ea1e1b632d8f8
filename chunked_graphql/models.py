"""The upload model: an abstract base and the concrete ``ChunkedUpload``.

With ``ABSTRACT_MODEL = True`` the concrete model is abstract too (the app creates no table) and
the project supplies its own subclass of ``AbstractChunkedUpload``; ``get_upload_model()`` returns
whichever model is in use, and everything in the app goes through it.
"""

from __future__ import annotations

import datetime
import uuid

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone

from . import ranges
from .settings import upload_settings
from .stores.configured import get_configured_storage


class AbstractChunkedUpload(models.Model):
    """One upload: its bytes so far, who sent them, and whether the file is complete."""

    class Status(models.IntegerChoices):
        # The same numbers as drf-chunked-upload, so migrated rows keep their meaning.
        UPLOADING = 1, "Uploading"
        COMPLETE = 2, "Complete"

    UPLOADING = Status.UPLOADING
    COMPLETE = Status.COMPLETE

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(max_length=255, storage=get_configured_storage, blank=True)
    filename = models.CharField(max_length=255)
    offset = models.BigIntegerField(default=0)
    total_size = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    status = models.PositiveSmallIntegerField(
        choices=Status.choices, default=Status.UPLOADING, db_index=True
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        null=True,
        blank=True,
    )
    checksum_algorithm = models.CharField(max_length=32)
    response_data = models.JSONField(null=True, blank=True, editable=False)
    # The checksum computed so far over the first `offset` bytes, as resumable hasher state
    # (chunked_graphql.hashing): completion then costs no re-read of the file. Saved with the
    # offset in one transaction, so any server process can continue it. None for algorithms
    # without resumable state; those are hashed from the stored bytes at completion.
    hash_state = models.BinaryField(null=True, blank=True, editable=False)
    # What the chunk store needs to continue the upload (e.g. object-storage parts), saved with
    # the offset; None for stores that need nothing.
    store_state = models.JSONField(null=True, blank=True, editable=False)
    # Parallel uploads (created by createUpload with parallel): chunks of ``chunk_size`` bytes
    # arrive in any order. ``stored_ranges`` lists the stored bytes as ascending, coalesced
    # inclusive [start, end] pairs, and ``offset`` is their gap-free prefix. ``hash_state``
    # covers the first ``hashed_offset`` bytes, which may lag behind ``offset`` while chunks
    # that arrived ahead of the prefix wait to be hashed. ``chunk_checksums`` keeps each
    # stored chunk's chunkChecksum by its start, so a re-sent chunk can be compared. All
    # are None for a serial upload.
    parallel = models.BooleanField(default=False)
    chunk_size = models.BigIntegerField(null=True, blank=True)
    stored_ranges = models.JSONField(null=True, blank=True, editable=False)
    hashed_offset = models.BigIntegerField(null=True, blank=True, editable=False)
    chunk_checksums = models.JSONField(null=True, blank=True, editable=False)
    # While set and in the future, one request has taken on hashing (and settling) the stored
    # ranges from ``hashed_offset`` on; the others leave that to it. A request that died meanwhile
    # holds it no longer than until then.
    hashing_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def expires_at(self) -> datetime.datetime:
        expiration_delta: datetime.timedelta = upload_settings.EXPIRATION_DELTA
        return self.created_at + expiration_delta

    @property
    def expired(self) -> bool:
        """An incomplete upload past its expiry. A completed upload never expires."""
        return self.status == self.Status.UPLOADING and self.expires_at <= timezone.now()

    def missing_ranges(self) -> list[tuple[int, int]]:
        """The inclusive byte ranges still to be sent, ascending."""
        if self.status == self.Status.COMPLETE or self.total_size is None:
            return []
        if self.parallel:
            return ranges.missing(self.stored_ranges, self.total_size)
        return ranges.missing([[0, self.offset - 1]] if self.offset else [], self.total_size)


class ChunkedUpload(AbstractChunkedUpload):
    class Meta(AbstractChunkedUpload.Meta):
        abstract = upload_settings.ABSTRACT_MODEL
        verbose_name = "chunked upload"


def get_upload_model() -> type[AbstractChunkedUpload]:
    """The upload model in use: ``ChunkedUpload``, or the project's subclass in abstract mode."""
    if not upload_settings.ABSTRACT_MODEL:
        return ChunkedUpload
    return upload_settings.cached("_model", _find_project_model)


def _find_project_model() -> type[AbstractChunkedUpload]:
    label = upload_settings.MODEL
    if label:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"{upload_settings.source('MODEL')} = {label!r} names no installed model."
            ) from exc
        if not issubclass(model, AbstractChunkedUpload):
            raise ImproperlyConfigured(f"{label} must subclass AbstractChunkedUpload.")
        return model
    candidates = [
        model
        for model in apps.get_models()
        if issubclass(model, AbstractChunkedUpload) and not model._meta.swapped
    ]
    if len(candidates) != 1:
        found = ", ".join(model._meta.label for model in candidates) or "none"
        raise ImproperlyConfigured(
            "ABSTRACT_MODEL is on, so the project must define exactly one concrete subclass "
            f"of AbstractChunkedUpload, or name one in CHUNKED_GRAPHQL_MODEL (found: {found})."
        )
    return candidates[0]

"""Which uploads a caller may see: their own with ``USER_RESTRICTED``, otherwise all.

Every lookup of the service goes through here, so another user's upload is answered exactly
like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .. import exceptions
from ..models import AbstractChunkedUpload, get_upload_model
from ..settings import upload_settings
from ..validators import parse_upload_id
from .common import User


def visible_uploads(user: User) -> QuerySet[AbstractChunkedUpload]:
    """The uploads ``user`` may see: their own with ``USER_RESTRICTED``, otherwise all."""
    queryset = get_upload_model()._default_manager.all()
    if not upload_settings.USER_RESTRICTED:
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    owner: Any = user
    return queryset.filter(user=owner)


def upload_page(
    user: User, *, status: int | None = None, first: int | None = None, after: object = None
) -> list[AbstractChunkedUpload]:
    """One page of the uploads ``user`` may see, newest first (by creation, then id): the
    ``first`` after the upload ``after`` names (the last of the previous page). ``first`` is
    clamped to 1..MAX_PAGE_SIZE and defaults to MAX_PAGE_SIZE; an ``after`` the caller cannot
    see gives an empty page, as an unknown one does."""
    max_page_size: int = upload_settings.MAX_PAGE_SIZE
    size = max_page_size if first is None else min(max(first, 1), max_page_size)
    uploads = visible_uploads(user)
    if status is not None:
        uploads = uploads.filter(status=status)
    if after is not None:
        anchor = visible_by_id(user, after).first()
        if anchor is None:
            return []
        uploads = uploads.filter(
            Q(created_at__lt=anchor.created_at) | Q(created_at=anchor.created_at, pk__lt=anchor.pk)
        )
    return list(uploads.order_by("-created_at", "-pk")[:size])


def get_visible_upload(user: User, upload_id: object) -> AbstractChunkedUpload | None:
    """The upload ``upload_id`` names if ``user`` may see it; ``None`` otherwise."""
    return visible_by_id(user, upload_id).first()


def visible_by_id(user: User, upload_id: object) -> QuerySet[AbstractChunkedUpload]:
    pk = parse_upload_id(upload_id)
    uploads = visible_uploads(user)
    return uploads.none() if pk is None else uploads.filter(pk=pk)


def visible_or_not_found(user: User, upload_id: object) -> AbstractChunkedUpload:
    upload = get_visible_upload(user, upload_id)
    if upload is None:
        raise exceptions.UploadNotFound()
    return upload


def lock_visible(user: User, upload_id: object) -> AbstractChunkedUpload:
    """The upload, locked for the rest of the transaction (``select_for_update``)."""
    upload = visible_by_id(user, upload_id).select_for_update().first()
    if upload is None:
        raise exceptions.UploadNotFound()
    return upload

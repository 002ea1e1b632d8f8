"""Which uploads a caller may see: their own with ``USER_RESTRICTED``, otherwise all.

Every lookup of the service goes through here, so another user's upload is answered exactly
like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

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

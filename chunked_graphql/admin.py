"""Django admin for uploads.

The stock ``ChunkedUpload`` is registered when it is in use. With ``ABSTRACT_MODEL = True`` the
project registers its own model, reusing this class:

    admin.site.register(MyUpload, ChunkedUploadAdmin)
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from . import services
from .models import ChunkedUpload
from .settings import upload_settings
from .validators import parse_upload_id


class ChunkedUploadAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "user", "status", "offset", "total_size", "created_at")
    list_filter = ("status",)
    search_fields = ("filename", "id")
    # What the upload service alone may change: marking an incomplete upload complete here would
    # report COMPLETE with bytes missing and the file still under its incomplete name.
    readonly_fields = (
        "id",
        "status",
        "file",
        "offset",
        "total_size",
        "created_at",
        "completed_at",
        "checksum_algorithm",
        "response_data",
    )
    date_hierarchy = "created_at"
    actions = ("delete_expired",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An upload is made by its first chunk; a row made here would have no bytes.
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # An id typed without hyphens: a substring search cannot find it where the database
        # stores UUIDs natively (PostgreSQL renders them with hyphens).
        pk = parse_upload_id(search_term.strip())
        if pk is not None:
            results |= queryset.filter(pk=pk)
        return results, may_have_duplicates

    @admin.action(
        description="Delete the selected expired uploads (rows and bytes)",
        permissions=("delete",),
    )
    def delete_expired(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """What ``manage.py delete_expired_uploads`` does, for the selected rows only: the
        expired incomplete ones go, bytes and object-storage parts with them; completed and
        still-running uploads among the selection are left alone."""
        selected = queryset.count()
        cleaned = services.delete_expired_uploads(queryset=queryset)
        self.message_user(
            request,
            ngettext(
                "Deleted %(count)d expired upload.",
                "Deleted %(count)d expired uploads.",
                cleaned,
            )
            % {"count": cleaned},
            messages.SUCCESS,
        )
        if selected > cleaned:
            self.message_user(
                request,
                ngettext(
                    "%(count)d selected upload is complete or not expired and was kept.",
                    "%(count)d selected uploads are complete or not expired and were kept.",
                    selected - cleaned,
                )
                % {"count": selected - cleaned},
                messages.WARNING,
            )

    # The admin's own delete (the change page's button and the "delete selected" action) would
    # remove rows only, leaving the bytes of incomplete uploads where nothing finds them again.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_uploads(type(obj)._default_manager.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        services.delete_uploads(queryset)


if not upload_settings.ABSTRACT_MODEL:
    admin.site.register(ChunkedUpload, ChunkedUploadAdmin)

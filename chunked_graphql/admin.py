"""Django admin for uploads.

The stock ``ChunkedUpload`` is registered when it is in use. With ``ABSTRACT_MODEL = True`` the
project registers its own model, reusing this class:

    admin.site.register(MyUpload, ChunkedUploadAdmin)
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ChunkedUpload
from .settings import upload_settings
from .validators import parse_upload_id


class ChunkedUploadAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "user", "status", "offset", "total_size", "created_at")
    list_filter = ("status",)
    search_fields = ("filename", "id")
    readonly_fields = (
        "id",
        "file",
        "offset",
        "total_size",
        "created_at",
        "completed_at",
        "checksum_algorithm",
        "response_data",
    )
    date_hierarchy = "created_at"

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


if not upload_settings.ABSTRACT_MODEL:
    admin.site.register(ChunkedUpload, ChunkedUploadAdmin)

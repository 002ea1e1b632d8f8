"""Django admin for uploads.

The stock ``ChunkedUpload`` is registered when it is in use. With ``ABSTRACT_MODEL = True`` the
project registers its own model, reusing this class:

    admin.site.register(MyUpload, ChunkedUploadAdmin)
"""

from __future__ import annotations

from django.contrib import admin

from .models import ChunkedUpload
from .settings import upload_settings


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


if not upload_settings.ABSTRACT_MODEL:
    admin.site.register(ChunkedUpload, ChunkedUploadAdmin)

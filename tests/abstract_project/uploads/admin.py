from django.contrib import admin

from chunked_graphql.admin import ChunkedUploadAdmin

from .models import ProjectUpload

admin.site.register(ProjectUpload, ChunkedUploadAdmin)

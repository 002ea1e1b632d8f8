from django.db import models

from chunked_graphql.models import AbstractChunkedUpload


class ProjectUpload(AbstractChunkedUpload):
    """The project's own upload model, with a field of its own."""

    label = models.CharField(max_length=50, blank=True)

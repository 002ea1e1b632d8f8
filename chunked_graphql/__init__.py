"""Resumable chunked file uploads for Django, served through GraphQL mutations.

The public surface:

- ``chunked_graphql.schema``: the ``Query`` and ``Mutation`` mixins a project adds to its own
  graphene ``Schema``;
- ``chunked_graphql.urls``: the GraphQL endpoint and the per-upload URL that addresses an upload;
- ``chunked_graphql.services``: the upload logic as plain Python functions;
- ``chunked_graphql.models``: ``AbstractChunkedUpload`` and ``ChunkedUpload``;
- ``chunked_graphql.signals.upload_completed``.
"""

__version__ = "0.1.0"

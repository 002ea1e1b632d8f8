"""A server the way release 0.1.0 served the app: ``uploadChunk``, ``completeUpload`` and
``cancelUpload``, ``chunkedUpload`` and ``chunkedUploads``, and nothing of the second release: no
``createUpload``, no ``uploadLimits``. A client must notice from the server's answers and send its
uploads the way that release takes them (the first chunk creates the upload).

The fields are the app's own, resolvers included; only the fields the release did not have are
left out of the root types. Serve it with ``SERVER_SETTINGS`` (a URLconf of its own)::

    gunicorn(settings=older_release.SERVER_SETTINGS)

What a client's documents may name on such a server, field by field, is checked against the
release's own schema (``tests/support/schemas/release-0.1.0.graphql``).
"""

from __future__ import annotations

import graphene
from django.urls import include, path

import chunked_graphql.schema
from chunked_graphql.views import ChunkedUploadGraphQLView

_QUERY_FIELDS = ("chunked_upload", "chunked_uploads")
_MUTATION_FIELDS = ("upload_chunk", "complete_upload", "cancel_upload")


def _root(name: str, base: type[graphene.ObjectType], fields: tuple[str, ...]) -> type:
    attributes = {}
    for field in fields:
        attributes[field] = base._meta.fields[field]
        resolver = getattr(base, f"resolve_{field}", None)
        if resolver is not None:
            attributes[f"resolve_{field}"] = staticmethod(resolver)
    return type(name, (graphene.ObjectType,), attributes)


Query = _root("Query", chunked_graphql.schema.Query, _QUERY_FIELDS)
Mutation = _root("Mutation", chunked_graphql.schema.Mutation, _MUTATION_FIELDS)
schema = graphene.Schema(query=Query, mutation=Mutation)

urlpatterns = [
    path(
        "graphql/",
        include(
            (
                [
                    path("", ChunkedUploadGraphQLView.as_view(schema=schema), name="graphql"),
                    path(
                        "<str:upload_id>/",
                        ChunkedUploadGraphQLView.as_view(schema=schema),
                        name="upload",
                    ),
                ],
                "chunked_graphql",
            )
        ),
    )
]

SERVER_SETTINGS = {
    "ROOT_URLCONF": "tests.support.project_site.older_release",
    "GRAPHENE": {"SCHEMA": "tests.support.project_site.older_release.schema"},
}

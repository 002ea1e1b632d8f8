"""The project's URLs: the app's endpoint with this project's schema at ``/graphql/``, and
graphene-file-upload's view kept at ``/legacy/graphql/``, as a project that adopts the app keeps
the URL its existing clients post to. The ``app-first/`` variants serve the schema whose
``Upload`` is the app's scalar (see ``schema.py``).

``/graphql/`` is what ``include("chunked_graphql.urls")`` gives with ``GRAPHENE["SCHEMA"]``
naming this schema, with the schema passed to the views instead: tests through Django's client
cannot switch ``GRAPHENE`` (graphene-django's view keeps the settings it read first).

graphene-file-upload's view is not CSRF-exempt by itself; a project serving scripts there
exempts it, as graphene-django's documentation shows for its own view.
"""

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from graphene_file_upload.django import FileUploadGraphQLView

from chunked_graphql.views import ChunkedUploadGraphQLView

from .schema import app_first_schema, schema

# chunked_graphql.urls, for this schema: the endpoint and each upload's url.
app_urls = (
    [
        path("", ChunkedUploadGraphQLView.as_view(schema=schema, graphiql=True), name="graphql"),
        path("<str:upload_id>/", ChunkedUploadGraphQLView.as_view(schema=schema), name="upload"),
    ],
    "chunked_graphql",
)

urlpatterns = [
    path("graphql/", include(app_urls)),
    path("app-first/graphql/", ChunkedUploadGraphQLView.as_view(schema=app_first_schema)),
    path("legacy/graphql/", csrf_exempt(FileUploadGraphQLView.as_view(schema=schema))),
    path(
        "legacy/app-first/graphql/",
        csrf_exempt(FileUploadGraphQLView.as_view(schema=app_first_schema)),
    ),
]

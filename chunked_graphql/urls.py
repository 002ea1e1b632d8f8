"""URLs for the GraphQL endpoint. Include them where the endpoint should live:

    path("graphql/", include("chunked_graphql.urls"))

``""`` serves the endpoint (and GraphiQL in a browser); ``"<upload_id>/"`` is the ``url`` of an
upload, where requests that omit ``uploadId`` act on that upload. The schema is graphene-django's
``GRAPHENE["SCHEMA"]``.
"""

from django.urls import path

from .views import ChunkedUploadGraphQLView

app_name = "chunked_graphql"

urlpatterns = [
    path("", ChunkedUploadGraphQLView.as_view(graphiql=True), name="graphql"),
    path("<str:upload_id>/", ChunkedUploadGraphQLView.as_view(), name="upload"),
]

"""A project that adopts chunked_graphql beside graphene-file-upload: its own model with a
``FileField``, its own mutations taking graphene-file-upload's ``Upload`` (``setAvatar``) and the
app's (``setBanner``), the app's ``Query`` and ``Mutation`` mixins in the same schema, and
graphene-file-upload's view kept on other URLs.

The test settings install it (``tests.support.settings``), so its table exists in the test
database; a gunicorn server serves its URLs with ``SERVER_SETTINGS``. Its migration makes the
table after ``auth_user``, which the table's foreign key needs.
"""

# The settings a gunicorn server needs to serve this project (``gunicorn(settings=...)``).
SERVER_SETTINGS = {
    "ROOT_URLCONF": "tests.support.project_site.urls",
    "GRAPHENE": {"SCHEMA": "tests.support.project_site.schema.schema"},  # as the project has it
}

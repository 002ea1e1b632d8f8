"""The example site as the benchmark runs it: anonymous uploads, quiet logging."""

from example_site.settings import *  # noqa: F403

DEBUG = False
CHUNKED_GRAPHQL_USER_RESTRICTED = False
del CHUNKED_GRAPHQL_COMPLETION_HOOK  # noqa: F821

"""A project running chunked_graphql with ABSTRACT_MODEL = True and its own upload model."""

from tests.support.settings import *  # noqa: F403
from tests.support.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.abstract_project.uploads"]

CHUNKED_GRAPHQL_ABSTRACT_MODEL = True

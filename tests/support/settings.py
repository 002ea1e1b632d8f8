"""Test settings: the example site, with a throwaway media root and a file-backed SQLite test
database (the live-server tests need each server thread on its own connection), or the database
of ``DATABASE_URL`` when set."""

import os
import tempfile

from example_site.settings import *  # noqa: F403
from example_site.settings import DATABASES, INSTALLED_APPS

_TMP = tempfile.mkdtemp(prefix="chunked-graphql-tests-")

MEDIA_ROOT = os.path.join(_TMP, "media")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = os.path.join(_TMP, "db.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_TMP, "test.sqlite3")}
else:
    # With DATABASE_URL the suite runs against that server (PostgreSQL in CI); connections are
    # not kept between requests so the test database can be dropped at the end.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A test database of this run's own: runs from several checkouts, or the ABSTRACT_MODEL
    # suite's own process, must not create and drop each other's.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

# A project using the app beside graphene-file-upload (tests/support/project_site).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.support.project_site"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The example site demonstrates a completion hook; the tests install their own where needed.
del CHUNKED_GRAPHQL_COMPLETION_HOOK  # noqa: F821

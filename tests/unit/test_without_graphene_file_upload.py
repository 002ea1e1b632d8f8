"""The app never imports graphene-file-upload: a project that does not use it needs it not at
runtime (docs/installation.md, "Beside graphene-file-upload")."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.servers import ROOT

# Every module of the app a project's process loads, with graphene-file-upload made unimportable,
# and the example site's schema (the app's mixins) built and printed.
SCRIPT = """
import sys

sys.modules["graphene_file_upload"] = None  # import graphene_file_upload now raises ImportError

import django

django.setup()

import chunked_graphql.admin, chunked_graphql.schema, chunked_graphql.urls, chunked_graphql.views
import chunked_graphql.management.commands.delete_expired_uploads
from example_site.schema import schema

assert "uploadChunk(" in str(schema)
assert not [name for name in sys.modules if name.startswith("graphene_file_upload.")]
print("ok")
"""


def test_the_app_runs_without_graphene_file_upload() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "example_site.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

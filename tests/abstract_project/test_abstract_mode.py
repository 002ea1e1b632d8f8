"""Run in a separate process by tests/unit/test_abstract_model.py, with ABSTRACT_MODEL = True."""

import pytest
from django.core.management import call_command
from django.db import connection

from chunked_graphql.models import ChunkedUpload, get_upload_model
from tests.abstract_project.uploads.models import ProjectUpload

pytestmark = pytest.mark.django_db


def test_the_projects_model_is_the_upload_model():
    assert get_upload_model() is ProjectUpload
    assert ChunkedUpload._meta.abstract


def test_the_app_creates_no_table_of_its_own():
    tables = connection.introspection.table_names()
    assert "uploads_projectupload" in tables
    assert "chunked_graphql_chunkedupload" not in tables


def test_migrations_are_clean():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_uploads_are_stored_in_the_projects_model(api):
    data = b"0123456789" * 1000
    completed = api.upload_and_complete(data, 3000)
    assert completed["status"] == "COMPLETE"
    upload = ProjectUpload.objects.get(pk=completed["id"])
    assert upload.file.read() == data
    assert api.get(completed["id"])["offset"] == len(data)


def test_expired_uploads_are_deleted_from_the_projects_model(api, settings):
    api.start(b"x" * 100, 10)
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = __import__("datetime").timedelta(0, 1)
    ProjectUpload.objects.update(
        created_at=ProjectUpload.objects.get().created_at.replace(year=2000)
    )
    call_command("delete_expired_uploads", verbosity=0)
    assert ProjectUpload.objects.count() == 0


def test_admin_lists_the_projects_uploads(admin_client, api):
    api.start(b"x" * 100, 10, filename="project-file.txt")
    response = admin_client.get("/admin/uploads/projectupload/")
    assert response.status_code == 200
    assert b"project-file.txt" in response.content

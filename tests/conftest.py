"""Fixtures shared by the suite (users, GraphQL clients per caller, an isolated media root, real
servers) and the markers each test gets from the folder it lies in.

The folders: ``unit/`` (in-process, no HTTP), ``api/`` (the GraphQL API through Django's test
client), ``e2e/`` (real servers, marked ``e2e``), ``interop/`` (outside clients against a real
server, marked ``interop``); helpers live in ``support/``. A test using moto's S3 server is also
marked ``s3``. ``slow`` is set by hand on tests that take more than a few seconds (measure with
``pytest --durations=50``). ``make test-fast`` runs what is neither ``e2e``, ``interop`` nor
``slow``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.support.graphql_client import GraphQLClient
from tests.support.servers import GunicornServer, MotoServer

# That suite needs ABSTRACT_MODEL = True from import time on; tests/unit/test_abstract_model.py
# runs it in a process of its own.
if os.environ.get("CHUNKED_GRAPHQL_ABSTRACT_SUITE") != "1":
    collect_ignore = ["abstract_project"]


# The marker every test of a folder of tests/ gets; a new folder must be added here.
FOLDER_MARKERS: dict[str, tuple[str, ...]] = {
    "unit": (),
    "api": (),
    "e2e": ("e2e",),
    "interop": ("interop",),
    # The ABSTRACT_MODEL suite, collected only in its own process (unit/test_abstract_model.py).
    "abstract_project": (),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its folder, and the tests using moto's S3 server ``s3``."""
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        folder = item.path.resolve().relative_to(tests_dir).parts[0]
        if folder not in FOLDER_MARKERS:
            raise pytest.UsageError(
                f"{item.nodeid}: tests belong in one of the folders {sorted(FOLDER_MARKERS)}"
            )
        for name in FOLDER_MARKERS[folder]:
            item.add_marker(name)
        if {"s3", "moto_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker("s3")


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> Any:
    """Each test stores its uploads in a fresh directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="alice-password")


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="bob-password")


@pytest.fixture
def api(user: Any) -> GraphQLClient:
    """The GraphQL endpoint as ``user`` (signed in through the session)."""
    client = Client()
    client.force_login(user)
    return GraphQLClient(client)


@pytest.fixture
def other_api(other_user: Any) -> GraphQLClient:
    client = Client()
    client.force_login(other_user)
    return GraphQLClient(client)


@pytest.fixture
def anon_api() -> GraphQLClient:
    return GraphQLClient(Client())


@pytest.fixture
def gunicorn(transactional_db: Any, media_root: Any) -> Iterator[Callable[..., GunicornServer]]:
    """Start real gunicorn servers sharing this test's database and media root.

    ``gunicorn(workers=2, settings={...})`` returns a started :class:`GunicornServer`; every
    server is stopped when the test ends.
    """
    from django.db import connection

    database = {
        key: connection.settings_dict[key]
        for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    }
    media_root.mkdir(parents=True, exist_ok=True)
    servers: list[GunicornServer] = []

    def start(**kwargs: Any) -> GunicornServer:
        server = GunicornServer(database=database, media_root=str(media_root), **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: Any) -> Iterator[MotoServer]:
    """One S3-compatible server (moto in server mode) for the whole run."""
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def s3(moto_server: MotoServer, settings: Any) -> Any:
    """Uploads go to a fresh bucket of the moto server, through django-storages' S3 storage.

    Returns an object with the bucket name, a boto3 ``client``, and ``settings`` (the Django
    settings to hand to gunicorn servers).
    """
    import uuid
    from types import SimpleNamespace

    bucket = f"uploads-{uuid.uuid4().hex[:12]}"
    client = moto_server.client()
    client.create_bucket(Bucket=bucket)
    s3_settings = moto_server.settings(bucket)
    for name, value in s3_settings.items():
        setattr(settings, name, value)
    return SimpleNamespace(bucket=bucket, client=client, settings=s3_settings)

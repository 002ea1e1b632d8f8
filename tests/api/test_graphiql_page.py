"""The GraphiQL page loads nothing from the internet: every script and style is one of the app's
static files, byte for byte the file graphene-django's own page takes from its CDN (the same
integrity hash)."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

ASSET = re.compile(r'(?:src|href)="(?P<url>[^"]+)"\s+integrity="(?P<sri>[^"]+)"')


@pytest.fixture
def page(settings: Any) -> str:
    settings.CHUNKED_GRAPHQL_GRAPHIQL = True
    response = Client().get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    text: str = response.content.decode()
    return text


def test_the_page_names_no_address_outside_the_site(page: str) -> None:
    assert "cdn." not in page
    assert re.findall(r"(?:src|href)=\"(https?:)?//", page) == []


def test_every_asset_is_a_static_file_with_the_hash_the_page_names(page: str) -> None:
    assets = ASSET.findall(page)

    assert len(assets) == 8
    for url, sri in assets:
        path = finders.find(url.removeprefix("/static/"))
        assert path is not None, url
        with open(path, "rb") as asset:
            digest = base64.b64encode(hashlib.sha256(asset.read()).digest()).decode()
        assert sri == f"sha256-{digest}", url


def test_each_shipped_package_carries_its_licence() -> None:
    for package in (
        "graphiql",
        "graphiql-plugin-explorer",
        "react",
        "react-dom",
        "graphql-ws",
        "whatwg-fetch",
    ):
        assert finders.find(f"chunked_graphql/graphiql/{package}/LICENSE"), package

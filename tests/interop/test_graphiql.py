"""GraphiQL in headless Chromium against a gunicorn-served example site, with every request to
anywhere but the site refused: the page renders from the app's own files, runs a query as the
signed-in user and shows the schema's documentation."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.components import ROOT
from tests.support.graphql_client import GraphQLClient

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_MS = 30_000
QUERY = "{ chunkedUploads { filename offset } }"
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or ROOT / "test-artifacts")


@pytest.fixture
def graphiql(browser: Any, gunicorn: Any, api: GraphQLClient) -> Any:
    """GraphiQL, signed in as the user who owns one upload; ``page.outside`` lists every request
    the page tried to send elsewhere."""
    api.start(b"0123456789", 4, filename="from-graphiql.bin")
    # Both off by default with DEBUG off, as under gunicorn here; a team exploring turns them on.
    server = gunicorn(
        workers=1,
        settings={"CHUNKED_GRAPHQL_GRAPHIQL": True, "CHUNKED_GRAPHQL_INTROSPECTION": True},
    )
    site = urlsplit(server.url).netloc
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []

    def only_the_site(route: Any) -> None:
        if urlsplit(route.request.url).netloc == site:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_site)
    page = context.new_page()
    page.goto(f"{server.url}/accounts/login/?next=/graphql/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    page.click("button[type=submit]")
    page.wait_for_selector(".graphiql-query-editor .CodeMirror")
    page.outside = outside
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
    context.close()


def test_graphiql_renders_with_nothing_from_outside_the_site(graphiql: Any) -> None:
    assert graphiql.locator(".graphiql-query-editor").is_visible()
    assert graphiql.outside == []


def test_graphiql_runs_a_query_as_the_signed_in_user(graphiql: Any) -> None:
    # As if typed (typing itself would meet the editor's automatic closing of braces).
    graphiql.evaluate(
        "query => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.setValue(query)",
        QUERY,
    )
    graphiql.click(".graphiql-execute-button")

    response = graphiql.locator(".graphiql-response")
    response.get_by_text("from-graphiql.bin").wait_for()
    assert re.search(r'"offset":\s*4', response.inner_text())


def test_graphiql_shows_the_documentation_of_upload_error(graphiql: Any) -> None:
    graphiql.click('[aria-label="Show Documentation Explorer"]')
    doc = graphiql.locator(".graphiql-doc-explorer")
    # The list of all the schema's types, below the root types.
    content = doc.locator(".graphiql-doc-explorer-content")
    content.get_by_text("UploadError", exact=True).first.click()

    doc.get_by_text("A refused request. The request changed nothing.").wait_for()
    assert "httpStatus" in doc.inner_text()

"""The example site's browser uploader in headless Chromium (Debian's package, driven by
Playwright for Python) against a real gunicorn server: progress, pause and resume, a reload in the
middle of an upload, typed errors in plain words, the CSRF token.

The page's chunk requests pass through Playwright's request routing so that a test can hold one
chunk in flight (a slow network) and reload or pause at exactly that point. The screenshot of the
finished page is written to ``$ARTIFACTS_DIR`` or ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from chunked_graphql.models import ChunkedUpload
from tests.support.components import ROOT
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 256 * 1024
SIZE = 12 * CHUNK + 4321
TIMEOUT_MS = 30_000
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or ROOT / "test-artifacts")


@pytest.fixture
def signed_in_page(browser, gunicorn, user):
    """The home page, signed in as ``user`` through the login form, with small chunks."""

    def open_page(settings=None):
        server = gunicorn(workers=2, settings=settings or {})
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{server.url}/accounts/login/?next=/%3Fchunk_size%3D{CHUNK}")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "alice-password")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/\?chunk_size="))
        contexts.append(context)
        return page

    contexts = []
    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "holiday.mov"
    path.write_bytes(os.urandom(SIZE))
    return path


def is_chunk(request):
    return request.method == "POST" and b"uploadChunk" in (request.post_data_buffer or b"")


def chunk_start(request):
    return int(re.search(rb"bytes (\d+)-", request.post_data_buffer)[1])


class ChunkGate:
    """Routes the page's requests, holding back the chunk that starts at ``hold_at`` bytes."""

    def __init__(self, page, hold_at):
        self.hold_at = hold_at
        self.held = []
        page.route("**/graphql/**", self.handle)

    def handle(self, route):
        request = route.request
        if self.hold_at is not None and is_chunk(request) and chunk_start(request) == self.hold_at:
            self.held.append(route)  # never continued: the request stays in flight
            return
        route.continue_()

    def open(self):
        self.hold_at = None


def wait_until_complete(page):
    page.wait_for_selector("#uploader[data-state=complete]")


def test_browser_uploads_a_file_with_a_progress_bar(signed_in_page, data_file):
    page = signed_in_page()
    page.set_input_files("#upload-file", data_file)
    wait_until_complete(page)

    upload_id = page.get_attribute("#uploader", "data-upload-id")
    assert stored_bytes(upload_id) == data_file.read_bytes()
    assert page.eval_on_selector("#upload-progress", "bar => [bar.value, bar.max]") == [SIZE, SIZE]
    assert page.text_content("#upload-status") == "Upload complete: holiday.mov (3.0 MiB)."


def test_browser_sends_the_csrf_token_with_every_post(signed_in_page, data_file):
    page = signed_in_page()
    tokens = []
    page.on(
        "request",
        lambda r: tokens.append(r.headers.get("x-csrftoken")) if r.method == "POST" else None,
    )
    page.set_input_files("#upload-file", data_file)
    wait_until_complete(page)
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    assert len(tokens) == 14  # 13 chunks and the completion
    assert set(tokens) == {cookie}


def test_browser_upload_survives_a_reload_and_resumes_from_the_server_offset(
    signed_in_page, data_file
):
    page = signed_in_page()
    gate = ChunkGate(page, hold_at=4 * CHUNK)
    with page.expect_request(lambda r: is_chunk(r) and chunk_start(r) == 4 * CHUNK):
        page.set_input_files("#upload-file", data_file)

    page.reload()
    assert "holiday.mov: 33% sent. Choose the same file to resume." in page.text_content(
        "#upload-pending"
    )
    gate.open()
    starts = []
    page.on("request", lambda r: starts.append(chunk_start(r)) if is_chunk(r) else None)
    page.set_input_files("#upload-file", data_file)
    wait_until_complete(page)

    assert page.get_attribute("#uploader", "data-resumed-from") == str(4 * CHUNK)
    assert page.text_content("#upload-status").endswith(", resumed at 33%.")
    assert starts[0] == 4 * CHUNK
    (upload,) = ChunkedUpload.objects.all()
    assert str(upload.pk) == page.get_attribute("#uploader", "data-upload-id")
    assert stored_bytes(upload.pk) == data_file.read_bytes()
    assert page.evaluate("localStorage.getItem('chunked-graphql:uploads')") == "{}"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "browser-upload-resumed-after-reload.png", full_page=True)


def test_browser_pause_stops_the_upload_and_resume_finishes_it(signed_in_page, data_file):
    page = signed_in_page()
    gate = ChunkGate(page, hold_at=2 * CHUNK)
    with page.expect_request(lambda r: is_chunk(r) and chunk_start(r) == 2 * CHUNK):
        page.set_input_files("#upload-file", data_file)
    page.click("#upload-pause")
    page.wait_for_selector("#upload-status:has-text('Paused at 16%')")
    assert ChunkedUpload.objects.get().offset == 2 * CHUNK

    gate.open()
    page.click("#upload-resume")
    wait_until_complete(page)
    assert stored_bytes(page.get_attribute("#uploader", "data-upload-id")) == data_file.read_bytes()


def test_browser_sends_smaller_chunks_when_the_server_says_they_are_too_large(
    signed_in_page, data_file
):
    page = signed_in_page(settings={"CHUNKED_GRAPHQL_MAX_CHUNK_SIZE": 100_000})
    page.set_input_files("#upload-file", data_file)
    wait_until_complete(page)
    assert stored_bytes(page.get_attribute("#uploader", "data-upload-id")) == data_file.read_bytes()


def test_browser_shows_a_typed_error_in_plain_words(signed_in_page, data_file):
    page = signed_in_page(settings={"CHUNKED_GRAPHQL_MAX_BYTES": 1_000_000})
    page.set_input_files("#upload-file", data_file)
    page.wait_for_selector("#uploader[data-state=failed]")
    assert page.text_content("#upload-error") == (
        "This file is larger than the server accepts. The limit is 976.6 KiB."
    )
    assert ChunkedUpload.objects.count() == 0

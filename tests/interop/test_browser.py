"""The example site's home page in headless Chromium (Debian's package, driven by Playwright for
Python) against a real gunicorn server: Uppy's Dashboard with the JavaScript client's plugin
(js/client, bundled by js/example-site). Progress, pause and resume, a reload in the middle of an
upload and a resume that sends only what the server lacks and does not re-read the sent part of
the file to hash it, the hashing in a Web Worker, typed errors shown to the person and a retry
after one, removing or cancelling mid-upload (the upload cancelled on the server), the CSRF
token.

The page's chunk requests pass through Playwright's request routing so that a test can hold
chunks in flight (a slow network) and reload or pause at exactly that point. The screenshot of the
finished page is written to ``$ARTIFACTS_DIR`` or ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from chunked_graphql.models import ChunkedUpload
from chunked_graphql.services.creating import create_upload
from tests.support.components import ROOT
from tests.support.uploads import stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 256 * 1024
SIZE = 12 * CHUNK + 4321
MIB = 1024 * 1024
TIMEOUT_MS = 60_000
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or ROOT / "test-artifacts")
FILE_INPUT = ".uppy-Dashboard-input >> nth=0"
UPLOAD_BUTTON = ".uppy-StatusBar-actionBtn--upload"


@pytest.fixture
def signed_in_page(browser, gunicorn, user):
    """The home page, signed in as ``user`` through the login form, with small chunks."""

    def open_page(settings=None, chunk_size=CHUNK):
        server = gunicorn(workers=2, settings=settings or {})
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{server.url}/accounts/login/?next=/%3Fchunk_size%3D{chunk_size}")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "alice-password")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/\?chunk_size="))
        page.wait_for_selector(FILE_INPUT, state="attached")
        contexts.append(context)
        return page

    contexts = []
    yield open_page
    for context in contexts:
        context.close()


def write_file(path, size):
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture
def data_file(tmp_path):
    return write_file(tmp_path / "holiday.mov", SIZE)


def is_chunk(request):
    return request.method == "POST" and b"uploadChunk" in (request.post_data_buffer or b"")


def chunk_range(request):
    found = re.search(rb"bytes (\d+)-(\d+)/", request.post_data_buffer)
    return int(found[1]), int(found[2])


class ChunkGate:
    """Routes the page's requests, holding back every chunk that starts at ``hold_from`` bytes
    or later."""

    def __init__(self, page, hold_from):
        self.hold_from = hold_from
        self.held = []
        page.route("**/graphql/**", self.handle)

    def handle(self, route):
        request = route.request
        if (
            self.hold_from is not None
            and is_chunk(request)
            and chunk_range(request)[0] >= self.hold_from
        ):
            self.held.append(route)  # never continued: the request stays in flight
            return
        route.continue_()

    def open(self):
        self.hold_from = None


def add_and_upload(page, path):
    page.set_input_files(FILE_INPUT, path)
    page.click(UPLOAD_BUTTON)


def wait_until_complete(page):
    page.wait_for_selector("#uploader[data-state=complete]")


def wait_for_offset(page, offset, seconds=60):
    """Polls the database; Playwright's routing only runs while the page is waited on."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        upload = ChunkedUpload.objects.first()
        if upload is not None and upload.offset >= offset:
            return upload
        page.wait_for_timeout(100)
    raise AssertionError(f"the server never reached offset {offset}")


def test_dashboard_uploads_a_file_in_parallel_chunks(signed_in_page, data_file):
    page = signed_in_page()
    add_and_upload(page, data_file)
    wait_until_complete(page)
    (upload,) = ChunkedUpload.objects.all()
    assert str(upload.pk) == page.get_attribute("#uploader", "data-upload-id")
    assert (upload.parallel, upload.chunk_size) == (True, CHUNK)
    assert stored_bytes(upload.pk) == data_file.read_bytes()
    assert page.text_content("#upload-status") == "Upload complete: holiday.mov (3.0 MiB)."


def test_dashboard_reports_progress_as_the_chunks_go(signed_in_page, data_file):
    page = signed_in_page()
    page.evaluate(
        "window.seen = []; uppy.on('upload-progress', (f, p) => seen.push(p.bytesUploaded))"
    )
    add_and_upload(page, data_file)
    wait_until_complete(page)
    seen = page.evaluate("seen")
    assert seen == sorted(seen)
    assert seen[-1] == SIZE
    assert any(0 < value < SIZE for value in seen)
    assert page.evaluate("uppy.getFiles()[0].progress.percentage") == 100


def test_browser_sends_the_csrf_token_with_every_post(signed_in_page, data_file):
    page = signed_in_page()
    tokens = []
    page.on(
        "request",
        lambda r: tokens.append(r.headers.get("x-csrftoken")) if r.method == "POST" else None,
    )
    add_and_upload(page, data_file)
    wait_until_complete(page)
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    assert len(tokens) >= 16  # limits, createUpload, 13 chunks, the completion (and the list)
    assert set(tokens) == {cookie}


def test_dashboard_pause_stops_sending_and_resume_finishes(signed_in_page, data_file):
    page = signed_in_page()
    gate = ChunkGate(page, hold_from=6 * CHUNK)
    with page.expect_request(lambda r: is_chunk(r) and chunk_range(r)[0] >= 6 * CHUNK):
        add_and_upload(page, data_file)
    page.click("button[aria-label=Pause], button[title=Pause]")
    sent_while_paused = []
    page.on("request", lambda r: sent_while_paused.append(r) if is_chunk(r) else None)
    page.wait_for_timeout(700)
    assert sent_while_paused == []
    gate.open()
    page.click("button[aria-label=Resume], button[title=Resume]")
    wait_until_complete(page)
    assert stored_bytes(page.get_attribute("#uploader", "data-upload-id")) == data_file.read_bytes()


def test_dashboard_shows_a_typed_error_to_the_person(signed_in_page, data_file):
    page = signed_in_page(settings={"CHUNKED_GRAPHQL_MAX_BYTES": 1_000_000})
    add_and_upload(page, data_file)
    page.wait_for_selector("#uploader[data-state=failed]")
    assert page.get_attribute("#upload-error", "data-code") == "MAX_BYTES_EXCEEDED"
    assert page.text_content("#upload-error") == (
        "This file (3.0 MiB) is larger than the server accepts: the limit is 976.6 KiB."
    )
    assert ChunkedUpload.objects.count() == 0


@pytest.fixture
def big_file(tmp_path):
    return write_file(tmp_path / "film.mkv", 50 * MIB)


def stop_at_half_and_reload(page, path):
    """Starts the upload, lets the first half of the chunks arrive, holds the rest, reloads."""
    half = path.stat().st_size // 2
    gate = ChunkGate(page, hold_from=half)
    add_and_upload(page, path)
    wait_for_offset(page, half)
    page.reload()
    # Golden Retriever has put the file back: "Session restored", and the upload button.
    page.wait_for_selector(UPLOAD_BUTTON)
    return gate, half


@pytest.mark.slow
def test_a_reload_at_half_resumes_sending_only_the_missing_ranges(signed_in_page, big_file):
    page = signed_in_page(chunk_size=MIB)
    gate, half = stop_at_half_and_reload(page, big_file)
    gate.open()
    sent = []
    page.on("request", lambda r: sent.append(chunk_range(r)) if is_chunk(r) else None)
    page.click(UPLOAD_BUTTON)
    wait_until_complete(page)

    assert sum(end - start + 1 for start, end in set(sent)) == 50 * MIB - half
    assert min(start for start, _ in sent) == half
    (upload,) = ChunkedUpload.objects.all()
    assert stored_bytes(upload.pk) == big_file.read_bytes()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "browser-upload-resumed-after-reload.png", full_page=True)


def test_a_reload_at_half_continues_the_hash_without_reading_the_sent_part(
    signed_in_page, tmp_path
):
    page = signed_in_page(chunk_size=MIB)
    gate, half = stop_at_half_and_reload(page, write_file(tmp_path / "clip.mkv", 8 * MIB))
    gate.open()
    page.click(UPLOAD_BUTTON)
    wait_until_complete(page)
    run = page.evaluate("uppy.getFiles()[0].chunkedGraphQL")
    assert run["resumedFrom"] == half
    assert run["bytesReadForHash"] == 0


def test_the_unfinished_uploads_are_listed_and_can_be_cancelled(signed_in_page, data_file):
    page = signed_in_page()
    ChunkGate(page, hold_from=4 * CHUNK)
    add_and_upload(page, data_file)
    wait_for_offset(page, 4 * CHUNK)
    page.reload()
    item = page.wait_for_selector("#upload-pending li")
    assert item.text_content().startswith("holiday.mov (3.0 MiB): 33% sent.")
    item.query_selector("button").click()
    page.wait_for_selector("#upload-pending", state="hidden")
    assert ChunkedUpload.objects.count() == 0


def test_the_page_reads_and_hashes_the_file_in_a_web_worker(signed_in_page, data_file):
    page = signed_in_page()
    workers = []
    page.on("worker", lambda worker: workers.append(worker.url))
    add_and_upload(page, data_file)
    wait_until_complete(page)
    assert any(url.endswith("/example_site/build/hash-worker.js") for url in workers), workers
    assert stored_bytes(page.get_attribute("#uploader", "data-upload-id")) == data_file.read_bytes()


def test_retry_after_a_typed_error_uploads_the_file(signed_in_page, user, data_file):
    blocking = create_upload(user=user, filename="elsewhere.bin", total_size=1000)
    page = signed_in_page(settings={"CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS": 1})
    add_and_upload(page, data_file)
    page.wait_for_selector("#uploader[data-state=failed]")
    assert page.get_attribute("#upload-error", "data-code") == "QUOTA_EXCEEDED"
    # The person finishes or cancels the other upload, then retries this one.
    ChunkedUpload.objects.filter(pk=blocking.pk).delete()
    page.click(".uppy-StatusBar-actionBtn--retry")
    wait_until_complete(page)
    assert page.is_hidden("#upload-error")
    assert stored_bytes(page.get_attribute("#uploader", "data-upload-id")) == data_file.read_bytes()


@pytest.mark.parametrize(
    "button",
    [
        pytest.param(".uppy-Dashboard-Item-action--remove", id="removing-the-file"),
        pytest.param(".uppy-StatusBar-actionCircleBtn[aria-label=Cancel]", id="the-status-bar"),
    ],
)
def test_cancelling_mid_upload_cancels_the_upload_on_the_server(signed_in_page, data_file, button):
    page = signed_in_page()
    ChunkGate(page, hold_from=4 * CHUNK)
    add_and_upload(page, data_file)
    upload = wait_for_offset(page, 4 * CHUNK)
    page.click(button)
    wait_until_gone(page, upload.pk)
    assert page.evaluate("uppy.getFiles().length") == 0


def wait_until_gone(page, upload_id, seconds=30):
    """Polls the database until the upload's row is gone (cancelUpload deletes it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not ChunkedUpload.objects.filter(pk=upload_id).exists():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"upload {upload_id} was never cancelled on the server")

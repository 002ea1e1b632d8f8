"""The ``chunked-upload`` console script, run as a user runs it: progress with rate and ETA,
resuming by running the same command again, and one-line errors with distinct exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chunked_graphql.models import ChunkedUpload
from example_site.auth import make_token
from tests.support.flaky_proxy import FlakyProxy
from tests.support.project_site import older_release
from tests.support.servers import free_port
from tests.support.uploads import stored_bytes

CLI = Path(sys.executable).parent / "chunked-upload"
CHUNK = 64 * 1024
SIZE = 4 * CHUNK + 123

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.fixture
def env(tmp_path):
    """The environment of each run: its own resume record, no settings from the caller's."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHUNKED_UPLOAD_")}
    return {**clean, "CHUNKED_UPLOAD_STATE_FILE": str(tmp_path / "state.json")}


def start_cli(*args, env):
    return subprocess.Popen(
        [str(CLI), *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(*args, env):
    process = start_cli(*args, env=env)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def error_line(result):
    """The last line on stderr, checked to be the only error output: no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("chunked-upload: error: "), result.stderr
    return line


@pytest.fixture
def server(gunicorn):
    return gunicorn(workers=2)


@pytest.fixture
def token(user):
    return make_token(user)


@live
def test_cli_uploads_a_file_and_prints_the_completed_upload(server, token, data_file, env):
    result = run_cli(
        data_file, "--endpoint", server.graphql_url, "--token", token,
        "--chunk-size", "64K", "--json", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    upload = json.loads(result.stdout)
    assert (upload["status"], upload["size"], upload["filename"]) == ("COMPLETE", SIZE, "data.bin")
    assert stored_bytes(upload["id"]) == data_file.read_bytes()


@live
def test_cli_progress_bar_shows_bytes_rate_and_eta(server, token, data_file, env):
    result = run_cli(
        data_file, "--endpoint", server.graphql_url, "--token", token, "--chunk-size", "64K",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    final = result.stderr.strip().splitlines()[-1]
    # e.g. "data.bin: 100%|██████████| 256k/256k [00:00<00:00, 1.23MB/s]"
    assert re.search(r"^data\.bin: 100%\|.*\| \S+/\S+ \[\d\d:\d\d<\d\d:\d\d, +\S+B/s\]$", final)


def run_cut_off_then_again(server, token, data_file, env, *, parallel, cut_at):
    """The CLI through a proxy dropping every request from its ``cut_at``-th POST on, then the
    same command again with the network back."""
    proxy = FlakyProxy(server.url, dict.fromkeys(range(cut_at, 20), "drop"))
    command = [
        data_file, "--endpoint", f"{proxy.url}/graphql/", "--token", token,
        "--chunk-size", "64K", "--parallel", str(parallel), "--retries", "0", "--json",
    ]  # fmt: skip
    try:
        first = run_cli(*command, env=env)
        proxy.failures.clear()
        return first, run_cli(*command, env=env)
    finally:
        proxy.close()


# (senders, the first POST the network drops, the bytes stored by then). POST 0 asks the limits
# and 1 creates the upload: one sender gets two chunks through, four get one (a parallel upload
# resumes with what the server lacks).
CUT_OFF_RUNS = {"serial": (1, 4, 2 * CHUNK), "parallel": (4, 3, CHUNK)}


@live
@pytest.mark.parametrize("kind", list(CUT_OFF_RUNS))
def test_cli_resumes_when_the_same_command_is_run_again(server, token, data_file, env, kind):
    parallel, cut_at, stored = CUT_OFF_RUNS[kind]
    first, second = run_cut_off_then_again(
        server, token, data_file, env, parallel=parallel, cut_at=cut_at
    )

    assert first.returncode == 3, first.stderr
    assert second.returncode == 0, second.stderr
    assert f"Resuming data.bin at {stored} of {SIZE} bytes" in second.stderr
    assert ChunkedUpload.objects.count() == 1
    assert stored_bytes(json.loads(second.stdout)["id"]) == data_file.read_bytes()


@live
def test_cli_interrupted_by_ctrl_c_says_how_to_resume(server, token, data_file, env):
    proxy = FlakyProxy(server.url, {1: "hang"})
    try:
        process = start_cli(
            data_file, "--endpoint", f"{proxy.url}/graphql/", "--token", token,
            "--chunk-size", "64K", env=env,
        )  # fmt: skip
        assert proxy.hanging.wait(30), "the second chunk never arrived"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        proxy.close()
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert result.returncode == 130
    assert error_line(result).endswith("interrupted; run the same command again to resume")


@live
def test_cli_sends_chunks_side_by_side_with_parallel(gunicorn, token, data_file, env):
    server = gunicorn(workers=4)
    proxy = FlakyProxy(server.url, {})
    try:
        result = run_cli(
            data_file, "--endpoint", f"{proxy.url}/graphql/", "--token", token,
            "--chunk-size", "64K", "--parallel", "4", "--json", env=env,
        )  # fmt: skip
    finally:
        proxy.close()
    assert result.returncode == 0, result.stderr
    upload = ChunkedUpload.objects.get(pk=json.loads(result.stdout)["id"])
    assert (upload.parallel, upload.chunk_size) == (True, CHUNK)
    assert proxy.most_in_flight > 1
    assert stored_bytes(upload.pk) == data_file.read_bytes()


@live
def test_cli_interrupted_while_chunks_are_in_flight_stops_at_once(server, token, data_file, env):
    proxy = FlakyProxy(server.url, {3: "hang"})  # a chunk, in one of the senders
    try:
        process = start_cli(
            data_file, "--endpoint", f"{proxy.url}/graphql/", "--token", token,
            "--chunk-size", "64K", "--parallel", "4", env=env,
        )  # fmt: skip
        assert proxy.hanging.wait(30), "the chunk never arrived"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        proxy.close()
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert result.returncode == 130
    assert error_line(result).endswith("interrupted; run the same command again to resume")


@live
def test_cli_uploads_to_a_server_of_an_earlier_release(gunicorn, token, data_file, env):
    server = gunicorn(workers=1, settings=older_release.SERVER_SETTINGS)
    result = run_cli(
        data_file, "--endpoint", server.graphql_url, "--token", token, "--chunk-size", "64K",
        "--json", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    upload = ChunkedUpload.objects.get(pk=json.loads(result.stdout)["id"])
    assert upload.parallel is False
    assert stored_bytes(upload.pk) == data_file.read_bytes()


@live
def test_cli_refuses_a_chunk_size_parallel_uploads_do_not_take(server, token, data_file, env):
    result = run_cli(
        data_file, "--endpoint", server.graphql_url, "--token", token, "--chunk-size", "1000",
        "--parallel", "4", env=env,
    )  # fmt: skip
    assert result.returncode == 4
    line = error_line(result)
    assert "needs chunks of 65536 to " in line
    assert line.endswith("(INVALID_CHUNK_SIZE)")
    assert ChunkedUpload.objects.count() == 0


@live
def test_cli_reports_an_unreachable_server_in_one_line(env, data_file):
    endpoint = f"http://127.0.0.1:{free_port()}/graphql/"
    result = run_cli(data_file, "--endpoint", endpoint, "--retries", "0", env=env)
    assert result.returncode == 3
    assert error_line(result) == (
        f"chunked-upload: error: Cannot reach {endpoint}: connection refused"
    )


@live
def test_cli_reports_a_typed_error_with_its_code(gunicorn, token, data_file, env):
    server = gunicorn(workers=1, settings={"CHUNKED_GRAPHQL_MAX_BYTES": 1000})
    result = run_cli(data_file, "--endpoint", server.graphql_url, "--token", token, env=env)
    assert result.returncode == 4
    assert error_line(result).endswith("(MAX_BYTES_EXCEEDED)")


@live
def test_cli_reports_a_refused_token(server, data_file, env):
    result = run_cli(data_file, "--endpoint", server.graphql_url, "--token", "forged", env=env)
    assert result.returncode == 5
    assert "HTTP 401" in error_line(result)


@live
def test_cli_signs_in_with_a_session_and_csrf(server, user, data_file, env):
    result = run_cli(
        data_file, "--endpoint", server.graphql_url, "--username", "alice", "--json",
        env={**env, "CHUNKED_UPLOAD_PASSWORD": "alice-password"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert ChunkedUpload.objects.get(pk=json.loads(result.stdout)["id"]).user == user


@live
@pytest.mark.parametrize("login_url", ["/accounts/login/", "{site}/accounts/login/"])
def test_cli_signs_in_at_the_login_url_given(server, user, data_file, env, login_url):
    result = run_cli(
        data_file, "--endpoint", server.graphql_url, "--username", "alice",
        "--login-url", login_url.format(site=server.url), "--json",
        env={**env, "CHUNKED_UPLOAD_PASSWORD": "alice-password"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert ChunkedUpload.objects.get(pk=json.loads(result.stdout)["id"]).user == user


@live
@pytest.mark.parametrize(
    ("login_url", "looked_at"),
    [
        (None, "/accounts/login/"),  # a project without Django's default login URL
        ("/signin/", "/signin/"),
        # A page, but not a login form: it sets no CSRF cookie.
        (
            "/static/chunked_graphql/graphiql/graphiql/LICENSE",
            "/static/chunked_graphql/graphiql/graphiql/LICENSE",
        ),
    ],
)
def test_cli_says_when_there_is_no_login_page(gunicorn, user, data_file, env, login_url, looked_at):
    if login_url:
        server = gunicorn(workers=1)
        endpoint, options = server.graphql_url, ["--login-url", login_url]
    else:
        # The app's URLs alone, at the site's root: no /accounts/login/.
        server = gunicorn(workers=1, settings={"ROOT_URLCONF": "chunked_graphql.urls"})
        endpoint, options = f"{server.url}/", []
    result = run_cli(
        data_file, "--endpoint", endpoint, "--username", "alice", *options,
        env={**env, "CHUNKED_UPLOAD_PASSWORD": "alice-password"},
    )  # fmt: skip
    assert result.returncode == 5
    line = error_line(result)
    assert line.startswith(f"chunked-upload: error: no login page at {server.url}{looked_at} ")
    assert line.endswith("; pass --login-url or use --token")
    assert ChunkedUpload.objects.count() == 0


@live
@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/graphql", "HTTP 301, text/html, redirecting to {site}/graphql/"),  # no trailing slash
        ("/", "HTTP 403, text/html"),  # the home page, whose POSTs need a CSRF token
        ("/api/graphql/", "HTTP 404, text/html"),
    ],
)
def test_cli_says_when_the_endpoint_is_not_one(server, token, data_file, env, path, answer):
    endpoint = server.url + path
    result = run_cli(data_file, "--endpoint", endpoint, "--token", token, env=env)
    assert result.returncode == 5
    # Said at once: a wrong URL is not retried.
    assert error_line(result) == (
        f"chunked-upload: error: {endpoint} is not a GraphQL endpoint "
        f"({answer.format(site=server.url)}); the endpoint is usually {server.url}/graphql/"
    )
    assert result.stderr.count("\n") == 1
    assert ChunkedUpload.objects.count() == 0


def test_cli_without_the_client_extra_says_how_to_install_it(env):
    """The command is installed with the package, extras or not: without requests and tqdm it
    says how to get them, in one line, and exits 2."""
    blocked = "import sys; sys.modules['requests'] = None; "
    result = subprocess.run(
        [sys.executable, "-c", blocked + "from chunked_graphql.console import run; run()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert error_line(result) == (
        "chunked-upload: error: requests is missing, the command needs the client extra: "
        'pip install "chunked-graphql[client]"'
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--endpoint", "http://127.0.0.1:1/graphql/", "--bogus"], "unrecognized arguments"),
        ([], "--endpoint is required"),
        (["--endpoint", "ftp://example.com/"], "must be an http:// or https:// URL"),
        (["--endpoint", "http://x/graphql/", "--chunk-size", "lots"], "not a size"),
        (["--endpoint", "http://x/graphql/", "--token", "t", "--username", "u"], "only one of"),
        (["--endpoint", "http://x/graphql/", "--parallel", "0"], "whole number from 1"),
        (["--endpoint", "http://x/graphql/", "--parallel", "four"], "whole number from 1"),
    ],
)
def test_cli_rejects_bad_arguments_in_one_line(args, complaint, data_file, env):
    result = run_cli(data_file, *args, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert complaint in error_line(result)


def test_cli_reports_a_missing_file_in_one_line(tmp_path, env):
    result = run_cli(tmp_path / "nope.bin", "--endpoint", "http://127.0.0.1:1/graphql/", env=env)
    assert result.returncode == 1
    assert error_line(result).endswith("nope.bin: no such file")

"""The release as a user gets it: the sdist and the wheel that ``python -m build`` makes pass
``twine check``, and the wheel installed (not editable) in a fresh virtualenv runs a project made
by ``django-admin startproject`` set up as docs/installation.md says, through which the installed
``chunked-upload`` uploads a file in two chunks.

The virtualenv is made by ``python -m venv`` without system site packages, so it sees neither
this checkout nor the project's ``.venv``; pip installs the wheel and its dependencies from the
package index (its own cache makes later runs quick). The build takes setuptools from the index
too, in build's isolated environment, as a release build does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import requests

from tests.support.servers import ROOT, free_port

# The release tests build files and serve a fresh project of their own (SQLite).
pytestmark = [pytest.mark.slow, pytest.mark.own_database]

DOCS = ROOT / "docs" / "installation.md"
CHUNK = 64 * 1024
SIZE = CHUNK + 1000  # two chunks


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without what points at this checkout or its settings."""
    drop = ("DJANGO_", "CHUNKED_", "PYTHON", "VIRTUAL_ENV", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def source_copy(target: Path) -> Path:
    """The files git would commit (tracked or new, not ignored), as a clean checkout has them."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def docs_block(title: str) -> str:
    """The Python block of docs/installation.md whose first line is ``# <title>``."""
    pattern = rf"```python\n(# {re.escape(title)}\b[^\n]*\n.*?)```"
    match = re.search(pattern, DOCS.read_text(), re.S)
    assert match, f"docs/installation.md has no block starting with '# {title}'"
    return match[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built from it."""
    work = tmp_path_factory.mktemp("release")
    source = source_copy(work / "source")
    out = work / "dist"
    run(sys.executable, "-m", "build", "--outdir", out, source, env=clean_env())
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (path,) = dist.glob("*.whl")
    return path


def test_the_distributions_pass_twine_check(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    version = run(
        sys.executable, "-c", "import chunked_graphql; print(chunked_graphql.__version__)"
    )
    version = version.strip()
    assert names == [
        f"chunked_graphql-{version}-py3-none-any.whl",
        f"chunked_graphql-{version}.tar.gz",
    ]
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        top = f"chunked_graphql-{version}/"
        members = {name.removeprefix(top) for name in archive.getnames()}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml"} <= members
    output = run(sys.executable, "-m", "twine", "check", "--strict", *dist.iterdir())
    assert output.count("PASSED") == 2, output


def test_the_wheel_holds_the_app_and_only_the_app(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        entry_points = archive.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
    package = {n for n in names if n.startswith("chunked_graphql/")}
    # Every module and data file of the package is in it: migrations, the management command,
    # the client, py.typed, and GraphiQL's page with its scripts and their licences.
    expected = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "chunked_graphql").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert package == expected
    assert {
        "chunked_graphql/migrations/0001_initial.py",
        "chunked_graphql/management/commands/delete_expired_uploads.py",
        "chunked_graphql/py.typed",
        "chunked_graphql/templates/chunked_graphql/graphiql.html",
        "chunked_graphql/static/chunked_graphql/graphiql/graphiql/graphiql.min.js",
        "chunked_graphql/static/chunked_graphql/graphiql/graphiql/LICENSE",
    } <= package
    assert not any(n.startswith(("tests/", "example_site/", "bench/")) for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert b"License-Expression: MIT" in metadata
    runtime = [
        line
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    # The app imports graphene-file-upload nowhere; only a test uses its helper.
    assert runtime and not any("graphene-file-upload" in line for line in runtime)
    assert "chunked-upload = chunked_graphql.console:run" in entry_points


def test_the_wheel_installed_in_a_fresh_virtualenv_serves_a_new_project(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    bin_dir = venv / "bin"
    run(sys.executable, "-m", "venv", venv)
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    pip = [bin_dir / "python", "-m", "pip", "install", "--quiet"]

    # The app alone: the command is there, and says what it is missing.
    run(*pip, wheel, env=env)
    bare = subprocess.run(
        [bin_dir / "chunked-upload", "--help"], env=env, capture_output=True, text=True
    )
    assert (bare.returncode, bare.stderr.count("\n")) == (2, 1), bare.stderr
    assert 'pip install "chunked-graphql[client]"' in bare.stderr

    run(*pip, f"{wheel}[client]", env=env)
    installed = run(
        bin_dir / "python", "-c", "import chunked_graphql; print(chunked_graphql.__file__)",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert Path(installed.strip()).is_relative_to(venv), "not the wheel's copy"

    # The project, as docs/installation.md sets it up.
    run(bin_dir / "django-admin", "startproject", "mysite", tmp_path, env=env)
    project = tmp_path / "mysite"
    settings = project / "settings.py"
    settings.write_text(
        settings.read_text()
        + '\nINSTALLED_APPS += ["graphene_django", "chunked_graphql"]\n'
        + 'GRAPHENE = {"SCHEMA": "mysite.schema.schema"}\n'
        + 'MEDIA_ROOT = BASE_DIR / "media"\n'
        + 'DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20,'
        + ' "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}\n'
    )
    (project / "schema.py").write_text(docs_block("myproject/schema.py"))
    (project / "urls.py").write_text(docs_block("urls.py"))
    manage = [bin_dir / "python", tmp_path / "manage.py"]
    check = subprocess.run(
        [*manage, "check", "--fail-level", "WARNING"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    run(*manage, "migrate", "--noinput", cwd=tmp_path, env=env)
    # A first request authenticates as docs/installation.md says for a plain project: a session
    # from the admin's login page.
    run(
        *manage, "createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.com",
        cwd=tmp_path, env={**env, "DJANGO_SUPERUSER_PASSWORD": "admin-password"},
    )  # fmt: skip

    port = free_port()
    site = f"http://127.0.0.1:{port}"
    log = (tmp_path / "runserver.log").open("wb")
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{site}/graphql/", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, (tmp_path / "runserver.log").read_text()
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)

        data = tmp_path / "video.bin"
        data.write_bytes(os.urandom(SIZE))
        upload_env = {
            **env,
            "CHUNKED_UPLOAD_PASSWORD": "admin-password",
            "CHUNKED_UPLOAD_STATE_FILE": str(tmp_path / "state.json"),
        }
        command = [bin_dir / "chunked-upload", data, "--username", "admin", "--quiet"]
        sign_in = ["--login-url", "/admin/login/", "--chunk-size", "64K", "--json"]

        # No trailing slash: DEBUG's 500 for a POST (its plain-text traceback for a client that
        # does not ask for HTML), said as a wrong endpoint.
        wrong = subprocess.run(
            [*command, *sign_in, "--endpoint", f"{site}/graphql"],
            env=upload_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert wrong.returncode == 5, wrong.stderr
        line = wrong.stderr.strip()
        assert line.startswith(
            f"chunked-upload: error: {site}/graphql is not a GraphQL endpoint or failed (HTTP 500, "
            "text/plain: RuntimeError at /graphql You called this URL via POST, but the URL "
        ), line
        assert line.endswith(f"); the endpoint is usually {site}/graphql/"), line
        # The default login URL: a new project has none.
        no_login = subprocess.run(
            [*command, "--endpoint", f"{site}/graphql/"],
            env=upload_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert no_login.returncode == 5, no_login.stderr
        assert no_login.stderr.strip().endswith("; pass --login-url or use --token")

        result = subprocess.run(
            [*command, *sign_in, "--endpoint", f"{site}/graphql/"],
            env=upload_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        upload = json.loads(result.stdout)
        assert (upload["status"], upload["size"]) == ("COMPLETE", SIZE)
    finally:
        server.terminate()
        server.wait(30)
        log.close()

    # The limits, the new upload, two chunks and the completion arrived, and the completed file
    # lies under MEDIA_ROOT with the file's bytes.
    requests_log = (tmp_path / "runserver.log").read_text()
    assert requests_log.count('"POST /graphql/ HTTP/1.1" 200') == 5, requests_log
    stored = run(
        *manage, "shell", "-c",
        "from chunked_graphql.models import ChunkedUpload; "
        f"print(ChunkedUpload.objects.get(pk={upload['id']!r}).file.path)",
        cwd=tmp_path, env=env,
    ).strip().splitlines()[-1]  # fmt: skip
    assert Path(stored).is_relative_to(tmp_path / "media")
    digest = hashlib.sha256
    assert digest(Path(stored).read_bytes()).digest() == digest(data.read_bytes()).digest()

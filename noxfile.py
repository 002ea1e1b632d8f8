"""The test matrix beyond the main combination.

``make test`` runs the whole suite on the main combination (Python 3.11, Django 5.2 LTS) in
``.venv``, on SQLite and then on PostgreSQL, and then these sessions: every other supported pair
of Python and Django, each on one of the three databases, running the contract (``tests/api``),
the units and concurrency across gunicorn processes, and on one session of each Django 6
version the outside clients too.
``nox -l`` lists them; ``nox -s NAME`` runs one.

Interpreters are pyenv's (``~/.pyenv/versions/3.12.*``) or ``python3.X`` on ``PATH``; with
``CI`` set a missing one fails the run instead of being skipped.
"""

from __future__ import annotations

import glob
import os
import socket
from urllib.parse import urlsplit

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))

DJANGO = {"5.2": "Django>=5.2,<5.3", "6.0": "Django>=6.0,<6.1", "6.1": "Django>=6.1,<6.2"}
DATABASES = {
    "sqlite": None,
    "postgres": os.environ.get("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
# Built from source against Debian's libmariadb-dev (make db-deps installs it).
MARIADB_DRIVER = "mysqlclient==2.2.7"

# (Python, Django, database): every supported pair but the main one, the databases spread so
# that each Django version meets two of them and each database two Django versions.
COMBINATIONS = [
    ("3.11", "5.2", "mariadb"),
    ("3.12", "5.2", "sqlite"),
    ("3.13", "5.2", "postgres"),
    ("3.12", "6.0", "postgres"),
    ("3.13", "6.0", "mariadb"),
    ("3.12", "6.1", "mariadb"),
    ("3.13", "6.1", "sqlite"),
]

# The newest pair also proves what a new project on it does: the built wheel installed in a fresh
# virtualenv serving a startproject site, and a project's graphene-file-upload mutations beside
# the app's over gunicorn.
NEWEST = ("3.13", "6.1")
ADOPTION_TESTS = ["tests/e2e/test_release.py", "tests/e2e/test_dropin.py"]

TESTS = [
    "tests/unit",
    "tests/api",
    "tests/e2e/test_races.py",
    "tests/e2e/test_several_servers.py",
    "tests/e2e/test_quota_races.py",
]
# The outside clients against the server: once on each Django version the main combination does
# not run (it runs them all on Django 5.2). They speak HTTP to gunicorn, so the database adds
# nothing to them; running them once per version keeps make test well inside CI's time.
INTEROP = ["tests/interop"]
INTEROP_ON = {("3.12", "6.0", "postgres"), ("3.13", "6.1", "sqlite")}


def interpreter(version: str) -> str:
    """pyenv's interpreter of ``version`` if there is one, else the one on PATH."""
    found = sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
    )
    return found[-1] if found else f"python{version}"


def _define(python: str, django: str, database: str) -> None:
    def run(session: nox.Session) -> None:
        url = DATABASES[database]
        if url is not None and not _reachable(url):
            message = f"{database} at {url} is not reachable"
            if os.environ.get("CI"):
                session.error(message)
            session.skip(message)
        packages = ["-e", ".[test]", DJANGO[django]]
        if database == "mariadb":
            packages.append(MARIADB_DRIVER)
        session.install(*packages)
        env = {"DATABASE_URL": url or ""}
        interop = INTEROP if (python, django, database) in INTEROP_ON else []
        tests = [*TESTS, *interop, "-m", "not slow"]
        # As many pytest-xdist processes as make test's runs (PYTEST_WORKERS, 0 for one process).
        workers = ["-n", os.environ.get("PYTEST_WORKERS", "2")]
        session.run("pytest", "-p", "no:cacheprovider", *workers, *tests, *session.posargs, env=env)
        if (python, django) == NEWEST and not session.posargs:
            session.run("pytest", "-p", "no:cacheprovider", *workers, *ADOPTION_TESTS, env=env)

    interop = ", interop" if (python, django, database) in INTEROP_ON else ""
    run.__doc__ = f"Python {python}, Django {django}, {database}: contract, concurrency{interop}."
    name = f"py{python}-django{django}-{database}"
    nox.session(name=name, python=interpreter(python))(run)


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 5).close()
    except OSError:
        return False
    return True


for combination in COMBINATIONS:
    _define(*combination)

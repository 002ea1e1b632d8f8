"""The systems the benchmark measures: each app set up once per run (its virtualenv, database and
media root) with a way to start a fresh server for every upload, and each system in each setting
of ``--systems`` (``bench/run.py`` runs them; ``bench/uploads.py`` sends one upload through one).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import clients, drf_site
from bench.servers import Gunicorn, ServerError

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Site:
    """One app under test: how to start its server with a number of workers, and where it
    stores uploads (None for the floor, which stores nothing)."""

    name: str
    start: Callable[[Path, int], Gunicorn]
    media: Path | None


@dataclass
class Variant:
    """One system in one setting: its site, its worker count, and its client."""

    system: str  # one of bench.report.SYSTEMS
    site: Site
    workers: int
    upload: Callable[[str, Path, int, int], clients.Upload]
    in_flight: int = 1

    @property
    def label(self) -> str:
        return f"{self.system} ({self.workers} w)"


def server_env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        # A DATABASE_URL (the test suite's PostgreSQL run sets one) would move the example site
        # off SQLite; the others would leak this project's settings into the drf site.
        if name not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME"}
    }
    env.update(extra)
    return env


def ours_venv(s3: bool = False) -> Path:
    """The cached virtualenv of this checkout's example site (one per checkout: it holds an
    editable install of it)."""
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    name = f"ours-{'s3-' if s3 else ''}venv-{checkout}"
    return drf_site.default_venv().with_name(name)


def set_up_ours(workdir: Path, s3: dict[str, str] | None = None) -> Site:
    """The example site in a virtualenv of its own with what a SQLite deployment installs: the
    project (editable, so the code measured is the checkout's) with the example extra, and
    gunicorn. Not the development virtualenv: its PostgreSQL driver, which graphene-django
    imports whenever it is installed, alone adds about 23 MiB to every worker. With ``s3`` (the
    environment that bench/settings.py turns into S3 settings), the s3 extra too, in a
    virtualenv of its own so that the other runs do not carry it."""
    extras = "example,s3" if s3 else "example"
    python = drf_site.ensure_venv(
        ours_venv(s3=bool(s3)),
        ("-e", f"{ROOT}[{extras}]", "gunicorn==27.0.1"),
        key=(ROOT / "pyproject.toml").read_text(),
    )
    workdir.mkdir()
    media = workdir / "media"
    env = server_env(
        DJANGO_SETTINGS_MODULE="bench.settings",
        EXAMPLE_SITE_DB=str(workdir / "db.sqlite3"),
        EXAMPLE_SITE_MEDIA=str(media),
        **(s3 or {}),
    )
    run_checked([str(python), "manage.py", "migrate", "--noinput", "-v0"], ROOT, env)

    def start(log_path: Path, workers: int) -> Gunicorn:
        return Gunicorn(
            name="ours",
            python=python,
            app="example_site.wsgi",
            cwd=ROOT,
            env=env,
            log_path=log_path,
            probe="/graphql/",
            workers=workers,
        )

    return Site("ours", start, None if s3 else media)


def set_up_drf(workdir: Path, venv: Path) -> Site:
    python = drf_site.ensure_venv(venv)
    site = workdir / "site"
    site.mkdir(parents=True)
    drf_site.write_site(site)
    media = workdir / "media"
    env = server_env(
        DJANGO_SETTINGS_MODULE="benchsite.settings",
        BENCH_DB=str(workdir / "db.sqlite3"),
        BENCH_MEDIA_ROOT=str(media),
    )
    drf_site.set_up_database(python, site, env)

    def start(log_path: Path, workers: int) -> Gunicorn:
        return Gunicorn(
            name="drf",
            python=python,
            app="benchsite.wsgi",
            cwd=site,
            env=env,
            log_path=log_path,
            probe="/uploads/",
            workers=workers,
        )

    return Site("drf", start, media)


def set_up_floor(workdir: Path) -> Site:
    workdir.mkdir()
    env = server_env()

    def start(log_path: Path, workers: int) -> Gunicorn:
        return Gunicorn(
            name="floor",
            python=sys.executable,
            app="bench.floor:application",
            cwd=ROOT,
            env=env,
            log_path=log_path,
            workers=workers,
        )

    return Site("floor", start, None)


def variants(args: argparse.Namespace, workdir: Path) -> list[Variant]:
    """Every system of ``--systems`` in each of its settings."""
    found: list[Variant] = []
    ours: Site | None = None
    checksum = args.chunk_checksum
    for name in args.systems:
        if name in ("ours", "ours-parallel") and ours is None:
            ours = set_up_ours(workdir / "ours")
        library = args.ours_client == "library"
        if name == "ours":
            assert ours is not None
            if library:
                upload = functools.partial(clients.upload_ours_library, parallel=1)
            else:
                upload = functools.partial(clients.upload_ours, chunk_checksum=checksum)
            found.append(Variant("ours", ours, args.workers, upload))
        elif name == "ours-parallel":
            assert ours is not None
            if library:
                upload = functools.partial(clients.upload_ours_library, parallel=args.parallel)
            else:
                upload = functools.partial(
                    clients.upload_ours_parallel, parallel=args.parallel, chunk_checksum=checksum
                )
            found.append(
                Variant("ours-parallel", ours, args.parallel_workers, upload, args.parallel)
            )
        elif name == "drf":
            drf = set_up_drf(workdir / "drf", args.drf_venv)
            for workers in args.drf_workers:
                found.append(Variant("drf", drf, workers, clients.upload_drf))
        else:
            floor = set_up_floor(workdir / "floor")
            found.append(Variant("floor", floor, args.workers, clients.upload_floor))
    return found


def run_checked(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise ServerError(f"{shlex.join(argv)} failed:\n{result.stdout}{result.stderr}")

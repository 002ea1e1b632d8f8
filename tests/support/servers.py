"""Real gunicorn servers for end-to-end tests.

A test that needs the app behind a real WSGI server asks the ``gunicorn`` fixture (see
``tests/conftest.py``) for one or more servers. Each runs ``example_site.wsgi`` with
``tests.support.server_settings``, which points it at the test database that pytest-django
created (SQLite file or PostgreSQL) and at the test's media root, so the test process and every
server share one database and one storage, as app servers behind a load balancer do. Such tests
must use ``@pytest.mark.django_db(transaction=True)`` so that what they create is committed and
visible.

Settings for a server are passed as a dict and travel as JSON in
``CHUNKED_GRAPHQL_SERVER_SETTINGS``; values must be JSON-serialisable (dotted paths instead of
classes, seconds instead of timedeltas: ``tests.support.server_settings`` turns
``{"__timedelta__": seconds}`` into a ``timedelta``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

import bench.servers

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GunicornServer:
    """One gunicorn master with ``workers`` workers on a free port of 127.0.0.1: sync workers,
    or ``worker_class="gthread"`` with ``threads`` threads each."""

    def __init__(
        self,
        *,
        database: dict[str, Any],
        media_root: str,
        workers: int = 2,
        settings: dict[str, Any] | None = None,
        timeout: int = 120,
        env: dict[str, str] | None = None,
        app: str = "example_site.wsgi",
        worker_class: str = "sync",
        threads: int = 1,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.graphql_url = f"{self.url}/graphql/"
        self.log_path = Path(media_root).parent / f"gunicorn-{self.port}.log"
        server_env = {
            **os.environ,
            **(env or {}),
            "DJANGO_SETTINGS_MODULE": "tests.support.server_settings",
            "CHUNKED_GRAPHQL_SERVER_DATABASE": json.dumps(database, default=str),
            "CHUNKED_GRAPHQL_SERVER_MEDIA_ROOT": media_root,
            "CHUNKED_GRAPHQL_SERVER_SETTINGS": json.dumps(settings or {}),
        }
        # What a command run beside the server (``manage.py …``) needs to share its set-up.
        self.env = server_env
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", app,
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(workers),
                "--worker-class", worker_class,
                "--threads", str(threads),
                "--timeout", str(timeout),
                "--graceful-timeout", "5",
                "--log-level", "warning",
            ],
            cwd=ROOT,
            env=server_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_until_ready(workers)

    def _wait_until_ready(self, workers: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start-up:\n{self.log()}")
            try:
                requests.get(self.graphql_url, timeout=2)
                if len(self.worker_pids()) >= workers:
                    return
            # A worker still loading the app on a busy machine may not answer within 2 s.
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start in 60 s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The live worker processes (gunicorn replaces a killed one with a new pid)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def wait_for_workers(self, count: int, timeout: float = 30) -> list[int]:
        """Wait until the master has ``count`` workers again, e.g. after one was killed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) >= count:
                return pids
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not restore {count} workers:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class MotoServer(bench.servers.MotoServer):
    """moto's S3-compatible server in its own process, as the benchmark starts it: real HTTP on
    127.0.0.1, shared by the test process and every gunicorn server a test starts."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(log_dir, tmpdir=log_dir)

    def settings(self, bucket: str) -> dict[str, Any]:
        """Django settings for django-storages' S3 storage on ``bucket`` of this server."""
        return {
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ADDRESSING_STYLE": "path",
            # Last: changing it makes the app build its storage again, from the values above.
            "CHUNKED_GRAPHQL_STORAGE_CLASS": "storages.backends.s3.S3Storage",
        }

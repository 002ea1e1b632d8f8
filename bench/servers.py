"""gunicorn servers for the benchmark: start, warm up, read each worker's peak RSS, stop.

Every system under test (the example site, drf-chunked-upload's REST site, the floor app) runs
behind the same server set-up: gunicorn with 2 sync workers on a free port of 127.0.0.1. A fresh
master (and so fresh workers) serves each single measurement, because VmHWM is a peak over the
whole life of a process: a worker reused from an earlier case would report that case's peak.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

WORKERS = 2
# Long enough for the slowest single request: completing a 5 GiB upload that re-reads the file.
REQUEST_TIMEOUT = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    """A server did not start, or failed a request; the message carries its log."""


class Gunicorn:
    """One gunicorn master with ``workers`` sync workers serving ``app`` on 127.0.0.1.

    ``python`` is the interpreter of the virtualenv that has gunicorn and the app's packages;
    ``probe`` is a path that any worker answers (with any status) once the app is loaded.
    """

    def __init__(
        self,
        *,
        name: str,
        python: Path | str,
        app: str,
        cwd: Path,
        env: dict[str, str],
        log_path: Path,
        probe: str = "/",
        workers: int = WORKERS,
    ) -> None:
        self.name = name
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(python), "-m", "gunicorn", app,
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(workers),
                "--worker-class", "sync",
                "--timeout", str(REQUEST_TIMEOUT),
                "--graceful-timeout", "5",
                "--log-level", "warning",
            ],
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches only the benchmark, which then
            # stops the server itself (and reports nothing half-measured).
            start_new_session=True,
        )  # fmt: skip
        try:
            self._wait_until_ready(self.base_url + probe)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, probe_url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name}: gunicorn exited at start-up:\n{self.log()}")
            try:
                requests.get(probe_url, timeout=5)
            except requests.ConnectionError:
                time.sleep(0.1)
                continue
            if len(self.worker_pids()) >= self.workers:
                self._warm_up(probe_url)
                return
            time.sleep(0.1)
        raise ServerError(f"{self.name}: gunicorn did not start in 60 s:\n{self.log()}")

    def _warm_up(self, probe_url: str) -> None:
        """Load the app in every worker before timing anything.

        Sync workers load the URLconf (and with it the GraphQL schema or the REST views) on their
        first request; without this the first chunk each worker gets pays for that. A few
        concurrent requests reach every worker, since each sync worker holds one connection at a
        time.
        """

        def get(_: int) -> None:
            requests.get(probe_url, timeout=30)

        with ThreadPoolExecutor(max_workers=4 * self.workers) as pool:
            list(pool.map(get, range(4 * self.workers)))

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def worker_peak_rss_mib(self) -> list[float]:
        """VmHWM (peak resident set size over the process's life) of each worker, in MiB."""
        peaks = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:  # the worker exited between the two reads
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        if len(peaks) < self.workers:
            raise ServerError(f"{self.name}: a worker died during the measurement:\n{self.log()}")
        return peaks

    def log(self, tail: int = 60) -> str:
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:]) or "(empty log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

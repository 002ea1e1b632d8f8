"""gunicorn servers for the benchmark: start, warm up, read each worker's peak RSS, stop.

Every system under test (the example site, drf-chunked-upload's REST site, the floor app) runs
behind the same server set-up: gunicorn with 2 sync workers on a free port of 127.0.0.1. A fresh
master (and so fresh workers) serves each single measurement, because VmHWM is a peak over the
whole life of a process: a worker reused from an earlier case would report that case's peak.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

WORKERS = 2
# Long enough for the slowest single request: completing a 5 GiB upload that re-reads the file.
REQUEST_TIMEOUT = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process so far.

    /proc/PID/stat counts in clock ticks, too coarse for a worker that spends a few milliseconds
    on a tiny upload; each thread's /proc/PID/task/TID/schedstat counts nanoseconds on the CPU.
    Threads that have exited are only in the ticks, so the larger of the two is the answer.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime, fields 14 and 15 of the line, are the 12th and 13th after "(comm)".
    ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    nanoseconds = 0
    for schedstat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(FileNotFoundError, ValueError):  # a thread exiting meanwhile
            nanoseconds += int(schedstat.read_text().split()[0])
    return max(ticks, nanoseconds / 1e9)


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
            except requests.Timeout:
                continue  # a worker still loading the app on a busy machine
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

    def cpu_s(self) -> float:
        """CPU seconds the master and its live workers have used so far (user + system: the
        kernel's share of reading sockets and writing files included)."""
        total = 0.0
        for pid in (self.process.pid, *self.worker_pids()):
            # A worker that exited is left out; worker_peak_rss_mib reports it.
            with contextlib.suppress(FileNotFoundError):
                total += process_cpu_s(pid)
        return total

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


class MotoServer:
    """moto's S3-compatible server (``moto[server]``, of the test extra) in its own process on
    127.0.0.1, as the test suite runs it. It keeps small objects in memory and larger ones in
    temporary files under ``tmpdir``; completing a multipart upload assembles the whole object
    in memory first."""

    def __init__(self, log_dir: Path, tmpdir: Path) -> None:
        try:
            import boto3  # noqa: F401
            import moto  # noqa: F401
        except ImportError as error:
            raise ServerError(
                f"moto's S3 server needs the test extra ({error}): run the benchmark from the "
                "development virtualenv (make .venv/.installed)"
            ) from error
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"moto-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TMPDIR": str(tmpdir)},
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"moto's server exited at start-up:\n{self.log()}")
            try:
                requests.get(self.url, timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise ServerError(f"moto's server did not start in 60 s:\n{self.log()}")

    def environment(self, bucket: str) -> dict[str, str]:
        """What bench/settings.py turns into django-storages' S3 settings for ``bucket``."""
        return {"BENCH_S3_ENDPOINT": self.url, "BENCH_S3_BUCKET": bucket}

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def multipart_uploads(self, bucket: str) -> list[dict[str, Any]]:
        answer = self.client().list_multipart_uploads(Bucket=bucket)
        return list(answer.get("Uploads", []))

    def blocks(self, bucket: str, key: str, block: int = 8 * 1024 * 1024) -> Iterator[bytes]:
        body = self.client().get_object(Bucket=bucket, Key=key)["Body"]
        try:
            while data := body.read(block):
                yield data
        finally:
            body.close()

    def log(self, tail: int = 60) -> str:
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:]) or "(empty log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

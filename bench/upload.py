"""Upload throughput of the example site under gunicorn.

Starts gunicorn (2 sync workers, SQLite, a temporary media root), uploads random files in chunks
of several sizes through a real HTTP client (``requests``, hashing md5 as it sends, like a real
client would), completes each upload, verifies the stored bytes, and reports throughput, the time
``completeUpload`` takes, and the peak RSS of each gunicorn worker.

    .venv/bin/python -m bench.upload                  # 256 MiB with 1, 8 and 64 MiB chunks
    .venv/bin/python -m bench.upload --sizes 64 --chunks 1 8 --runs 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024

UPLOAD_CHUNK = (
    "mutation($id: ID, $file: Upload, $range: String, $name: String) {"
    " uploadChunk(uploadId: $id, file: $file, contentRange: $range, filename: $name) {"
    " __typename ... on ChunkedUpload { id offset } ... on UploadError { code message } } }"
)
COMPLETE = (
    "mutation($id: ID, $sum: String) { completeUpload(uploadId: $id, checksum: $sum) {"
    " __typename ... on ChunkedUpload { status } ... on UploadError { code message } } }"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """gunicorn serving the example site on a fresh SQLite database and media root."""

    def __init__(self, workdir: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.media = workdir / "media"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "EXAMPLE_SITE_DB": str(workdir / "db.sqlite3"),
            "EXAMPLE_SITE_MEDIA": str(self.media),
        }
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=self.env, check=True)
        self.process = subprocess.Popen(
            [
                python, "-m", "gunicorn", "example_site.wsgi",
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(workers),
                "--worker-class", "sync",
                "--timeout", "300",
                "--log-level", "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}/graphql/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(self.url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def worker_peak_rss_mib(self) -> list[float]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        peaks = []
        for pid in children.read_text().split():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return peaks

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def post(session: requests.Session, url: str, query: str, variables: dict, chunk: bytes | None):
    if chunk is None:
        response = session.post(url, json={"query": query, "variables": variables}, timeout=300)
    else:
        operations = json.dumps({"query": query, "variables": {**variables, "file": None}})
        response = session.post(
            url,
            data={"operations": operations, "map": '{"0": ["variables.file"]}'},
            files={"0": ("chunk", chunk, "application/octet-stream")},
            timeout=300,
        )
    response.raise_for_status()
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return next(iter(body["data"].values()))


def upload(server: Server, path: Path, size: int, chunk_size: int) -> tuple[float, float]:
    """Upload ``path`` in chunks; return (seconds for the chunks, seconds for completion)."""
    session = requests.Session()
    digest = hashlib.md5()
    upload_id = None
    started = time.perf_counter()
    with path.open("rb") as source:
        offset = 0
        while offset < size:
            chunk = source.read(chunk_size)
            digest.update(chunk)
            end = offset + len(chunk) - 1
            result = post(
                session,
                server.url,
                UPLOAD_CHUNK,
                {"id": upload_id, "range": f"bytes {offset}-{end}/{size}", "name": path.name},
                chunk,
            )
            if result["__typename"] != "ChunkedUpload":
                raise RuntimeError(result)
            upload_id, offset = result["id"], result["offset"]
    sent = time.perf_counter()
    result = post(session, server.url, COMPLETE, {"id": upload_id, "sum": digest.hexdigest()}, None)
    completed = time.perf_counter()
    if result.get("status") != "COMPLETE":
        raise RuntimeError(result)
    stored = next(server.media.rglob(f"{upload_id}*"))
    if stored.stat().st_size != size or md5_of(stored) != digest.hexdigest():
        raise RuntimeError(f"stored bytes of {upload_id} differ from the source")
    stored.unlink()
    return sent - started, completed - sent


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as stream:
        while block := stream.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def random_file(directory: Path, size: int) -> Path:
    path = directory / f"random-{size // MIB}MiB.bin"
    with path.open("wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 8 * MIB))
            out.write(block)
            remaining -= len(block)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256], help="file sizes, MiB")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 8, 64], help="MiB")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chunked-graphql-bench-") as tmp:
        workdir = Path(tmp)
        server = Server(workdir)
        try:
            header = ("file", "chunk", "MB/s", "complete s", "worker peak RSS MiB")
            print("{:>8} {:>6} {:>8} {:>11} {:>20}".format(*header))
            for size_mib in args.sizes:
                path = random_file(workdir, size_mib * MIB)
                for chunk_mib in args.chunks:
                    rates, completions = [], []
                    for _ in range(args.runs):
                        sending, completing = upload(server, path, size_mib * MIB, chunk_mib * MIB)
                        rates.append(size_mib * MIB / 1e6 / (sending + completing))
                        completions.append(completing)
                    peaks = ", ".join(f"{peak:.0f}" for peak in server.worker_peak_rss_mib())
                    print(
                        f"{size_mib:>5}MiB {chunk_mib:>4}MiB {statistics.median(rates):>8.1f}"
                        f" {statistics.median(completions):>11.3f} {peaks:>20}",
                        flush=True,
                    )
                path.unlink()
        finally:
            server.stop()


if __name__ == "__main__":
    main()

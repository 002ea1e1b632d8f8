"""The JavaScript client in Chromium against the Python client: the same file, the same server.

    .venv/bin/python -m bench.browser                      # 256 MiB, 8 and 1 MiB chunks, 3 runs
    .venv/bin/python -m bench.browser --size 4MiB --chunks 1MiB --runs 1
    .venv/bin/python -m bench.browser --hashing worker thread     # both, side by side
    .venv/bin/python -m bench.browser --help

One gunicorn server runs the example site (``bench.settings``: anonymous uploads; SQLite; 4 sync
workers) for the whole run. For every chunk size and run, the same random file is uploaded once
by ``ChunkedUploader`` (``chunked_graphql.client``, ``parallel=N``) and once by the package in
js/client (its build, ``js/client/dist``) in headless Chromium (Debian's ``/usr/bin/chromium``,
driven by Playwright), back to back, in an order that alternates from run to run. The browser
page (``bench/browser_page/``) is served on the site's own origin under ``/__bench__/`` by
Playwright's request routing, which is removed once the page has loaded, so no upload request
passes through it. The file reaches the page as a person gives it: chosen in an
``<input type=file>`` (Playwright's ``set_input_files`` with the path on disk), read by the
package from the ``File`` as it uploads. The package reads and hashes in its Web Worker
(``--hashing worker``, its default in browsers) or on the page's main thread (``thread``, where it
falls back without workers); given both, each is a client of its own in the rotation.

Reported: the wall time of the whole upload (the limits query, createUpload, every chunk, the
completion) as each client measures it, the median over the runs, MB/s (10^6 bytes per second)
and the ratio of the medians, Chromium over Python. For the browser also where its time went:
reading the ``File`` (``Blob.arrayBuffer``), hashing (hash-wasm's ``update``: md5 of the whole
file, crc32c of each chunk), the requests (XMLHttpRequest, from ``send`` to the answer, summed
over all requests and divided by the parallelism) and how long the page's main thread was busy
(DevTools' TaskDuration and, of it, ScriptDuration), where all of that work but the requests
runs. After each upload the stored file's size and md5 are checked against the source and the
file is deleted. With the worker, the reads and hashing happen off the main thread and are not in
the breakdown; a worker upload that read the file on the main thread (the worker did not start)
stops the run. Also reported, per upload: the CPU seconds of the client (this process for the
Python client; every Chromium process for the browser) and of the server (gunicorn's master and
workers), which on 2 cores tell how much of the wall time the two sides' work fills.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.servers import Gunicorn, process_cpu_s
from bench.sites import server_env

ROOT = Path(__file__).resolve().parents[1]
PAGE = Path(__file__).resolve().parent / "browser_page"
JS_DIST = ROOT / "js" / "client" / "dist"
HASH_WASM = ROOT / "js" / "client" / "node_modules" / "hash-wasm" / "dist" / "index.esm.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MIB = 1024 * 1024
TARGET_RATIO = 1.5  # the browser's wall time over the Python client's, at most
UNITS = {
    "": 1,
    "b": 1,
    "kib": 1024,
    "mib": MIB,
    "gib": 1024 * MIB,
    "k": 1024,
    "m": MIB,
    "g": 1024 * MIB,
}
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".map": "application/json"}


def parse_size(text: str) -> int:
    found = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not found or found[2].lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"a size such as 256MiB, 8MiB or 512KiB, not {text!r}")
    return int(found[1]) * UNITS[found[2].lower()]


def size_label(size: int) -> str:
    for unit, factor in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def random_file(path: Path, size: int) -> str:
    """Writes ``size`` random bytes to ``path``; returns their md5."""
    digest = hashlib.md5()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 8 * MIB))
            digest.update(block)
            out.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as source:
        while block := source.read(8 * MIB):
            digest.update(block)
    return digest.hexdigest()


def verify_and_delete(media: Path, upload_id: str, size: int, md5: str, who: str) -> None:
    stored = [p for p in media.rglob(f"{upload_id}.*") if p.is_file()]
    if len(stored) != 1:
        raise RuntimeError(f"{who}: expected one stored file for {upload_id}, found {stored}")
    if stored[0].stat().st_size != size or md5_of(stored[0]) != md5:
        raise RuntimeError(f"{who}: the stored file differs from the source: {stored[0]}")
    stored[0].unlink()


class Site:
    """The example site on a gunicorn server, with its own SQLite database and media folder."""

    def __init__(self, workdir: Path, workers: int) -> None:
        self.media = workdir / "media"
        env = server_env(
            DJANGO_SETTINGS_MODULE="bench.settings",
            EXAMPLE_SITE_DB=str(workdir / "db.sqlite3"),
            EXAMPLE_SITE_MEDIA=str(self.media),
        )
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{migrated.stdout}{migrated.stderr}")
        self.server = Gunicorn(
            name="example site",
            python=sys.executable,
            app="example_site.wsgi",
            cwd=ROOT,
            env=env,
            log_path=workdir / "gunicorn.log",
            probe="/graphql/",
            workers=workers,
        )
        self.url = self.server.base_url
        self.endpoint = f"{self.url}/graphql/"

    def stop(self) -> None:
        self.server.stop()


class PythonClient:
    name = "python"

    def __init__(self, site: Site, workdir: Path) -> None:
        self.site = site
        self.state_file = workdir / "python-client-uploads.json"

    @staticmethod
    def cpu_s() -> float:
        """This process's CPU seconds (user + system, every thread): the client's uploads."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def upload(self, path: Path, chunk_size: int, parallel: int) -> dict[str, Any]:
        from chunked_graphql.client import ChunkedUploader, ResumeStore

        uploader = ChunkedUploader(
            self.site.endpoint,
            chunk_size=chunk_size,
            parallel=parallel,
            store=ResumeStore(self.state_file),
        )
        started = time.perf_counter()
        upload = uploader.upload(path)
        seconds = time.perf_counter() - started
        uploader.transport.close()
        if upload.status != "COMPLETE":
            raise RuntimeError(f"python: the upload ended {upload.status}")
        return {"seconds": seconds, "id": upload.id}


class BrowserClient:
    """One headless Chromium page on the site's origin, with ``path`` chosen in its file input."""

    def __init__(self, site: Site, path: Path, chromium: Path) -> None:
        from playwright.sync_api import sync_playwright

        self.site = site
        self.playwright = sync_playwright().start()
        try:
            self.browser = self.playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_FLAGS
            )
            self.page = self.browser.new_page()
            self.page.set_default_timeout(600_000)
            errors: list[str] = []
            self.page.on("pageerror", lambda error: errors.append(str(error)))
            self.page.route(f"{site.url}/__bench__/**", self._serve)
            self.page.goto(f"{site.url}/__bench__/index.html")
            try:
                self.page.wait_for_selector("#state:text('ready')", timeout=30_000)
            except Exception as error:
                raise RuntimeError(f"the benchmark page did not load: {errors}") from error
            # From here on nothing is routed: the uploads go straight to the server.
            self.page.unroute_all()
            self.page.set_input_files("#file", path)
            self.devtools = self.page.context.new_cdp_session(self.page)
            self.devtools.send("Performance.enable")
        except BaseException:
            self.playwright.stop()
            raise

    @staticmethod
    def _serve(route: Any) -> None:
        name = route.request.url.split("/__bench__/", 1)[1].split("?")[0]
        if name.startswith("client/"):
            file = JS_DIST / name.removeprefix("client/")
        elif name == "hash-wasm/index.esm.js":
            file = HASH_WASM
        else:
            file = PAGE / name
        if not file.is_file() or ".." in name:
            route.fulfill(status=404, body=f"not found: {name}")
            return
        route.fulfill(
            path=str(file), content_type=CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        )

    def cpu_s(self) -> float:
        """CPU seconds of every live Chromium process started for this benchmark."""
        total = 0.0
        for pid in descendants(os.getpid()):
            try:
                if "chromium" not in os.readlink(f"/proc/{pid}/exe"):
                    continue
                total += process_cpu_s(pid)
            except (FileNotFoundError, PermissionError, ProcessLookupError):
                continue  # exited meanwhile
        return total

    def main_thread(self) -> dict[str, float]:
        """Seconds the page's main thread has spent in tasks, and in scripts (DevTools)."""
        metrics = self.devtools.send("Performance.getMetrics")["metrics"]
        found = {m["name"]: m["value"] for m in metrics}
        return {"task": found["TaskDuration"], "script": found["ScriptDuration"]}

    def upload(self, chunk_size: int, parallel: int, hashing: str) -> dict[str, Any]:
        before = self.main_thread()
        result: dict[str, Any] = self.page.evaluate(
            "options => runUpload(options)",
            {"chunkSize": chunk_size, "parallel": parallel, "hashing": hashing},
        )
        after = self.main_thread()
        # In ms, as the page's own times.
        result["times"]["mainThread"] = 1000 * (after["task"] - before["task"])
        result["times"]["scripts"] = 1000 * (after["script"] - before["script"])
        if result["status"] != "COMPLETE":
            raise RuntimeError(f"chromium: the upload ended {result['status']}")
        if hashing == "worker" and result["times"]["reads"]:
            raise RuntimeError("chromium: the hashing worker did not start; the page read the file")
        return result

    def version(self) -> str:
        return str(self.browser.version)

    def close(self) -> None:
        self.browser.close()
        self.playwright.stop()


class BrowserMode:
    """The browser page as one client of the rotation: its uploads hashed one way."""

    def __init__(self, browser: BrowserClient, hashing: str) -> None:
        self.browser = browser
        self.hashing = hashing
        self.name = client_name(hashing)

    def cpu_s(self) -> float:
        return self.browser.cpu_s()

    def upload(self, path: Path, chunk_size: int, parallel: int) -> dict[str, Any]:
        return self.browser.upload(chunk_size, parallel, self.hashing)


def descendants(root: int) -> list[int]:
    """The pids of every live process below ``root`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def client_name(hashing: str) -> str:
    return "chromium" if hashing == "worker" else f"chromium-{hashing}"


def breakdown(records: list[dict[str, Any]], parallel: int) -> dict[str, float]:
    """Medians over the runs of where the browser's time went, in seconds."""

    def median(key: Any) -> float:
        return statistics.median(key(r["times"]) for r in records) / 1000

    return {
        "main_thread_s": median(lambda t: t["mainThread"]),
        "scripts_s": median(lambda t: t["scripts"]),
        "read_s": median(lambda t: t["read"]),
        "md5_s": median(lambda t: t["hash"].get("md5", 0.0)),
        "crc32c_s": median(lambda t: t["hash"].get("crc32c", 0.0)),
        "requests_s": median(lambda t: t["xhr"]) / parallel,
        "bodies_sent_s": median(lambda t: t["xhrBodySent"]) / parallel,
    }


def summarise(
    records: list[dict[str, Any]], size: int, parallel: int, hashings: list[str]
) -> list[dict[str, Any]]:
    """One row per chunk size and way of hashing in the browser, beside the Python client."""
    rows = []
    for chunk in sorted({r["chunk_size"] for r in records}, reverse=True):
        case = [r for r in records if r["chunk_size"] == chunk]

        def timing(client: str, case: list[dict[str, Any]] = case) -> dict[str, float]:
            mine = [r for r in case if r["client"] == client]
            seconds = statistics.median(r["seconds"] for r in mine)
            return {
                "seconds": seconds,
                "mb_s": size / 1e6 / seconds,
                "client_cpu_s": statistics.median(r["cpu"]["client_s"] for r in mine),
                "server_cpu_s": statistics.median(r["cpu"]["server_s"] for r in mine),
            }

        python = timing("python")
        for hashing in hashings:
            name = client_name(hashing)
            chromium = timing(name)
            rows.append(
                {
                    "size": size,
                    "chunk_size": chunk,
                    "parallel": parallel,
                    "hashing": hashing,
                    "python": python,
                    "chromium": chromium,
                    "ratio": chromium["seconds"] / python["seconds"],
                    "browser": breakdown([r for r in case if r["client"] == name], parallel),
                }
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| file | chunk | parallel | hashing | Python (s) | Python MB/s | Chromium (s) "
        "| Chromium MB/s | Chromium/Python |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {size_label(r['size'])} | {size_label(r['chunk_size'])} | {r['parallel']} "
            f"| {r['hashing']} | {r['python']['seconds']:.2f} | {r['python']['mb_s']:.0f} "
            f"| {r['chromium']['seconds']:.2f} | {r['chromium']['mb_s']:.0f} | {r['ratio']:.2f} |"
        )
    lines += [
        "",
        "Where Chromium's time went (s, median; reads: summed over the reads; requests and bodies: "
        "summed over the requests, divided by the parallelism; with the worker, reading and "
        "hashing are the worker's and not counted here):",
        "",
        "| chunk | hashing | wall | main thread busy | of it scripts | reading the File "
        "| md5 (whole file) | crc32c (chunks) | requests | request bodies sent |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b = r["browser"]
        lines.append(
            f"| {size_label(r['chunk_size'])} | {r['hashing']} | {r['chromium']['seconds']:.2f} "
            f"| {b['main_thread_s']:.2f} | {b['scripts_s']:.2f} | {b['read_s']:.2f} "
            f"| {b['md5_s']:.2f} | {b['crc32c_s']:.2f} | {b['requests_s']:.2f} "
            f"| {b['bodies_sent_s']:.2f} |"
        )
    lines += [
        "",
        "CPU seconds of each upload (median; client: this process for Python, every Chromium "
        "process for the browser; server: gunicorn's master and workers), and the cores the two "
        "kept busy over the wall time:",
        "",
        "| chunk | hashing | Python client | server | cores busy | Chromium client | server "
        "| cores busy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p, c = r["python"], r["chromium"]
        lines.append(
            f"| {size_label(r['chunk_size'])} | {r['hashing']} | {p['client_cpu_s']:.2f} "
            f"| {p['server_cpu_s']:.2f} | {busy(p):.2f} | {c['client_cpu_s']:.2f} "
            f"| {c['server_cpu_s']:.2f} | {busy(c):.2f} |"
        )
    return "\n".join(lines)


def busy(timing: dict[str, float]) -> float:
    """Cores kept busy by client and server together over the upload's wall time."""
    return (timing["client_cpu_s"] + timing["server_cpu_s"]) / timing["seconds"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.browser",
        description="Upload one file with the Python client and with the JavaScript client in "
        "Chromium, alternating, against the example site under gunicorn; print a Markdown table.",
    )
    parser.add_argument("--size", type=parse_size, default=256 * MIB, help="file size (256MiB)")
    parser.add_argument(
        "--chunks",
        type=parse_size,
        nargs="+",
        default=[8 * MIB, MIB],
        help="chunk sizes (8MiB 1MiB)",
    )
    parser.add_argument("--parallel", type=int, default=4, help="chunks at once, both clients (4)")
    parser.add_argument("--runs", type=int, default=3, help="uploads per client and chunk size (3)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument(
        "--hashing",
        nargs="+",
        choices=["worker", "thread"],
        default=["worker"],
        help="where the browser reads and hashes: the package's Web Worker (its default), the "
        "page's main thread, or both side by side (worker)",
    )
    parser.add_argument("--chromium", type=Path, default=CHROMIUM, help=str(CHROMIUM))
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument(
        "--workdir", type=Path, help="where the file, database and uploads go (a temporary folder)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.parallel < 1 or args.workers < 1:
        parser.error("--runs, --parallel and --workers take whole numbers from 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.chromium.exists():
        raise SystemExit(f"{args.chromium} is missing (make interop-deps installs chromium)")
    if not (JS_DIST / "index.js").is_file() or not HASH_WASM.is_file():
        raise SystemExit("js/client is not built (make interop-deps runs npm ci and the build)")
    with tempfile.TemporaryDirectory(prefix="bench-browser-", dir=args.workdir) as temporary:
        workdir = Path(temporary)
        free = shutil.disk_usage(workdir).free
        if free < 2 * args.size + 512 * MIB:
            raise SystemExit(f"not enough disk under {workdir}: {free / 2**30:.1f} GiB free")
        source = workdir / "upload.bin"
        md5 = random_file(source, args.size)
        site = Site(workdir, args.workers)
        try:
            python = PythonClient(site, workdir)
            browser = BrowserClient(site, source, args.chromium)
            modes = [BrowserMode(browser, hashing) for hashing in dict.fromkeys(args.hashing)]
            try:
                records = measure(args, site, source, md5, [python, *modes])
                chromium_version = browser.version()
            finally:
                browser.close()
        except BaseException:
            print(f"server log:\n{site.server.log()}", file=sys.stderr)
            raise
        finally:
            site.stop()
    rows = summarise(records, args.size, args.parallel, list(dict.fromkeys(args.hashing)))
    print(markdown(rows))
    print()
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Chromium {chromium_version}; gunicorn with {args.workers} "
        f"sync workers, SQLite, loopback; median of {args.runs} run(s), clients alternating."
    )
    for hashing in dict.fromkeys(args.hashing):
        worst = max((r for r in rows if r["hashing"] == hashing), key=lambda r: r["ratio"])
        verdict = "met" if worst["ratio"] <= TARGET_RATIO else "NOT met"
        print(
            f"Target Chromium/Python <= {TARGET_RATIO} at every chunk size, hashing in the "
            f"{hashing}: {verdict} (worst {worst['ratio']:.2f} at "
            f"{size_label(worst['chunk_size'])} chunks)."
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "measurements": records}, indent=2))


def measure(
    args: argparse.Namespace, site: Site, source: Path, md5: str, clients: list[Any]
) -> list[dict[str, Any]]:
    records = []
    for chunk_size in args.chunks:
        for run in range(args.runs):
            order = clients if run % 2 == 0 else clients[::-1]
            for client in order:
                client_before, server_before = client.cpu_s(), site.server.cpu_s()
                result = client.upload(source, chunk_size, args.parallel)
                result["cpu"] = {
                    "client_s": client.cpu_s() - client_before,
                    "server_s": site.server.cpu_s() - server_before,
                }
                verify_and_delete(site.media, result["id"], args.size, md5, client.name)
                record = {"client": client.name, "chunk_size": chunk_size, "run": run, **result}
                records.append(record)
                print(
                    f"{size_label(chunk_size)} chunks, run {run + 1}: {client.name} "
                    f"{result['seconds']:.2f} s",
                    file=sys.stderr,
                )
    return records


if __name__ == "__main__":
    main()

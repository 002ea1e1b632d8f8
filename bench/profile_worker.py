"""The measuring process of the per-chunk profile (``bench/profile_chunk.py``): the example site
of one tree served the way a gunicorn sync worker serves it, one request per connection from the
client process (``bench/profile_client.py``), each request's time split by the timers; the
numbers go to stdout as JSON.

Run by path, with the tree measured first on ``sys.path`` (``-P`` keeps this directory off it):
``bench.settings``, ``chunked_graphql`` and ``example_site`` are that tree's. Its ``bench`` may
not have the profile's modules, or not these, so the timers are loaded from beside this file.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

MIB = 1024 * 1024


def _beside(name: str) -> ModuleType:
    """The module ``name`` of the file beside this one."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from bench import profile_timers as timers
else:
    timers = _beside("profile_timers")


def _pause_in_service(profiler: Any) -> None:
    """Profile only what runs outside the service (and so outside the bytes it moves)."""
    from chunked_graphql import services

    upload_chunk = services.upload_chunk

    @functools.wraps(upload_chunk)
    def paused(*args: Any, **kwargs: Any) -> Any:
        profiler.disable()
        try:
            return upload_chunk(*args, **kwargs)
        finally:
            profiler.enable()

    services.upload_chunk = paused  # type: ignore[assignment]


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt


def serve(application: Any, cfg: Any, listener: socket.socket) -> tuple[float, float, int]:
    """Accept a connection and serve its request as gunicorn's sync worker does; the serving
    thread's wall and CPU seconds and its page faults (from the first byte of the request read
    to the connection closed)."""
    from gunicorn import http, util
    from gunicorn.http import wsgi

    accepted, addr = listener.accept()
    server_end = timers.TimedSocket(fileno=accepted.detach())
    clock = timers.TimedSocket.clock or timers.Clock()
    faults = _faults()
    wall, cpu = time.perf_counter(), time.thread_time()
    clock.enter("gunicorn")
    parser = http.get_parser(cfg, server_end, addr)
    req = next(parser)
    resp, environ = wsgi.create(req, server_end, addr, listener.getsockname(), cfg)
    resp.force_close()
    clock.enter("Django")
    respiter = application(environ, resp.start_response)
    clock.leave()
    try:
        for item in respiter:
            resp.write(item)
        resp.close()
    finally:
        if hasattr(respiter, "close"):
            clock.enter("Django")
            respiter.close()
            clock.leave()
    util.close_graceful(server_end)
    clock.leave()
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    faults = _faults() - faults
    return wall, cpu, faults


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run in the checkout on ``sys.path``: the per-chunk numbers as JSON."""
    work = Path(tempfile.mkdtemp(prefix="profile-", dir=args.tmp))
    os.environ["EXAMPLE_SITE_DB"] = str(work / "db.sqlite3")
    os.environ["EXAMPLE_SITE_MEDIA"] = str(work / "media")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.pop("DATABASE_URL", None)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from gunicorn.config import Config

    import chunked_graphql
    from example_site.wsgi import application

    cfg = Config()
    clock = timers.Clock()
    found = timers.install_timers(clock) if args.timers else []
    if args.timers:
        timers.TimedSocket.clock = clock
    rows: list[dict[str, float]] = []
    profiler = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile()
        if args.outside_only:
            _pause_in_service(profiler)

    requests = args.warmup + args.chunks
    listener = socket.create_server(("127.0.0.1", 0))
    sender = subprocess.Popen(
        [
            sys.executable, "-P", str(Path(__file__).resolve().with_name("profile_client.py")),
            str(listener.getsockname()[1]), str(requests), str(args.chunk_mib * MIB),
            str(args.chunks_per_upload),
        ]
    )  # fmt: skip
    try:
        for number in range(requests):
            measured = number >= args.warmup
            clock.reset()
            if profiler is not None and measured:
                profiler.enable()
            wall, cpu, faults = serve(application, cfg, listener)
            if profiler is not None and measured:
                profiler.disable()
            if measured:
                row = {name: clock.wall.get(name, 0.0) for name in timers.CATEGORIES}
                row.update({f"{name} CPU": clock.cpu.get(name, 0.0) for name in timers.CATEGORIES})
                row["worker"], row["worker CPU"] = wall, cpu
                row["page faults"] = faults
                rows.append(row)
    finally:
        if sender.wait(timeout=60) != 0:
            raise RuntimeError("the client failed (its error is above)")
        listener.close()
    if profiler is not None:
        profiler.dump_stats(args.cprofile)
    return {
        "tree": str(Path(chunked_graphql.__file__).resolve().parent.parent),
        "timers": found,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> None:
    """The options ``bench/profile_chunk.py`` passes on, as it names them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunk-mib", type=int, required=True)
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--chunks-per-upload", type=int, required=True)
    parser.add_argument("--tmp", type=Path, required=True)
    parser.add_argument("--no-timers", dest="timers", action="store_false")
    parser.add_argument("--cprofile", metavar="PATH")
    parser.add_argument("--outside-only", action="store_true")
    json.dump(measure(parser.parse_args(argv)), sys.stdout)


if __name__ == "__main__":
    main()

"""One measured upload, and what it needs around it: a fresh server (behind a fresh link proxy on
the emulated link) for every upload, its CPU time, peak RSS and throughput as one record, the
stored bytes checked against the source, random source files, and the check for disk space.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import clients
from bench.link import LinkProxy
from bench.report import Network
from bench.servers import ServerError
from bench.sites import Site, Variant

MIB = 1024 * 1024
GIB = 1024 * MIB


def measure(
    variant: Variant,
    network: Network,
    logs: Path,
    path: Path,
    size: int,
    chunk_size: int,
    verify: Callable[[clients.Upload], None] | None = None,
) -> dict[str, Any]:
    """One upload through a freshly started server (behind a fresh link proxy on the emulated
    link), with the CPU time of the server, the client and the proxy over it; the stored bytes
    are checked, then deleted."""
    server = variant.site.start(logs / f"{variant.system}-{variant.workers}w.log", variant.workers)
    proxy: LinkProxy | None = None
    try:
        base_url = server.base_url
        if network.name == "link":
            proxy = LinkProxy(
                server.port,
                delay_s=network.delay_s,
                mbit=network.mbit,
                handshake=network.handshake,
            )
            base_url = proxy.base_url
        server_cpu = server.cpu_s()
        link_cpu = proxy.cpu_s() if proxy is not None else 0.0
        client_cpu = time.process_time()
        try:
            upload = variant.upload(base_url, path, size, chunk_size)
        except (clients.UploadFailed, OSError) as error:
            raise ServerError(f"{variant.label}: {error}\nserver log:\n{server.log()}") from error
        client_cpu = time.process_time() - client_cpu
        server_cpu = server.cpu_s() - server_cpu
        link_cpu = proxy.cpu_s() - link_cpu if proxy is not None else 0.0
        peaks = server.worker_peak_rss_mib()
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()
    if upload.md5 is None:
        upload.md5 = clients.md5_of(path)  # after the clock, to check the stored bytes with
    if verify is not None:
        verify(upload)
    elif variant.site.media is not None:
        verify_and_delete(variant.site, upload, size)
    total_s = upload.sending_s + (upload.completing_s or 0.0)
    return {
        "system": variant.system,
        "workers": variant.workers,
        "in_flight": variant.in_flight,
        "network": network.name,
        "size_mib": size // MIB,
        "chunk_mib": chunk_size // MIB,
        "mb_s": size / 1e6 / total_s,
        "wall_s": total_s,
        "sending_s": upload.sending_s,
        "completing_s": upload.completing_s,
        "server_cpu_s": server_cpu,
        "client_cpu_s": client_cpu,
        "link_cpu_s": link_cpu,
        "worker_peak_rss_mib": peaks,
        "peak_rss_mib": max(peaks),
    }


def stored_file(site: Site, upload: clients.Upload) -> Path:
    assert site.media is not None and upload.upload_id is not None
    stored = [p for p in site.media.rglob(f"{upload.upload_id}.*") if p.is_file()]
    if len(stored) != 1:
        raise RuntimeError(f"{site.name}: expected one stored file for {upload.upload_id}, "
                           f"found {[str(p) for p in stored]}")  # fmt: skip
    return stored[0]


def verify_and_delete(site: Site, upload: clients.Upload, size: int) -> None:
    path = stored_file(site, upload)
    actual_size = path.stat().st_size
    if actual_size != size:
        raise RuntimeError(f"{site.name}: stored {actual_size} bytes of {size}: {path}")
    if clients.md5_of(path) != upload.md5:
        raise RuntimeError(f"{site.name}: stored bytes differ from the source: {path}")
    path.unlink()


def random_file(directory: Path, size: int) -> Path:
    path = directory / f"random-{size // MIB}MiB.bin"
    with path.open("wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 8 * MIB))
            out.write(block)
            remaining -= len(block)
    return path


def check_disk(directory: Path, needed: int, what: str, skip: str) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise SystemExit(
            f"not enough disk for {what}: {free / GIB:.1f} GiB free under {directory}, "
            f"{needed / GIB:.1f} GiB needed. Point TMPDIR at a larger file system, or skip it "
            f"({skip})."
        )

"""The ``--huge`` upload: a parallel upload with a checksum on every chunk, to the file system or
to moto's S3 server, every stored byte then compared with the source.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import clients
from bench.report import Network, size_label
from bench.servers import MotoServer
from bench.sites import Variant, set_up_ours
from bench.uploads import GIB, MIB, check_disk, measure, random_file, stored_file


def same_bytes(source: Path, stored: Iterator[bytes]) -> bool:
    """Whether the blocks of ``stored`` are exactly the bytes of ``source``, and no more."""
    with source.open("rb") as expected:
        for block in stored:
            if expected.read(len(block)) != block:
                return False
        return expected.read(1) == b""


def file_blocks(path: Path, block: int = 8 * MIB) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while data := stream.read(block):
            yield data


def available_memory() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def run_huge(args: argparse.Namespace, workdir: Path, logs: Path, store: str) -> dict[str, Any]:
    """The ``--huge`` upload to one store: parallel, a checksum with every chunk, then every
    stored byte compared with the source."""
    size = args.huge * MIB
    chunk = args.huge_chunk * MIB
    upload = functools.partial(
        clients.upload_ours_parallel, parallel=args.parallel, chunk_checksum=args.huge_checksum
    )
    check_disk(
        workdir,
        (2 if store == "fs" else 4) * size + GIB,
        f"the {size_label(args.huge)} upload to {store}",
        "--huge-stores",
    )
    source = random_file(workdir, size)
    moto: MotoServer | None = None
    verified: dict[str, Any] = {}
    try:
        if store == "fs":
            site = set_up_ours(workdir / "ours-huge")

            def verify(result: clients.Upload) -> None:
                path = stored_file(site, result)
                verified["ok"] = path.stat().st_size == size and same_bytes(
                    source, file_blocks(path)
                )
                path.unlink()

        else:
            # moto assembles a completed multipart upload in memory (twice over, briefly).
            needed = 2 * size + 2 * GIB
            if available_memory() < needed:
                raise SystemExit(
                    f"not enough memory for {size_label(args.huge)} on moto's S3 server: "
                    f"{available_memory() / GIB:.1f} GiB available, {needed / GIB:.1f} GiB "
                    "needed (it holds the object being completed in memory); --huge-stores fs"
                )
            moto = MotoServer(logs, tmpdir=workdir)
            bucket = "bench-huge"
            s3 = moto.client()
            s3.create_bucket(Bucket=bucket)
            site = set_up_ours(workdir / "ours-s3", s3=moto.environment(bucket))

            def verify(result: clients.Upload) -> None:
                assert result.upload_id is not None
                keys = moto.keys(bucket)
                mine = [k for k in keys if k.rsplit("/", 1)[-1].startswith(f"{result.upload_id}.")]
                pending = moto.multipart_uploads(bucket)
                verified["ok"] = len(mine) == 1 and same_bytes(source, moto.blocks(bucket, mine[0]))
                verified["objects_left"] = len(keys) - len(mine)
                verified["multipart_uploads_left"] = len(pending)

        variant = Variant("ours-parallel", site, args.parallel_workers, upload, args.parallel)
        record = measure(variant, Network("loopback"), logs, source, size, chunk, verify)
    finally:
        source.unlink()
        if moto is not None:
            moto.stop()
    record.update(
        run=0,
        store={"fs": "the file system", "s3": "moto S3"}[store],
        chunk_checksum=args.huge_checksum,
        verified=bool(verified.get("ok")),
        **{k: v for k, v in verified.items() if k != "ok"},
    )
    return record

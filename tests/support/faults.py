"""A WSGI entry point for crash tests: the example site, stopped dead at one stage of the upload
service so that a test can kill the worker there with SIGKILL.

``CHUNKED_GRAPHQL_FAULT_STAGE`` names the stage; the first request to reach it (after
``CHUNKED_GRAPHQL_FAULT_SKIP`` others have passed it, in a single-worker server) writes the
worker's pid to ``CHUNKED_GRAPHQL_FAULT_MARKER`` and sleeps until it is killed. Requests after
that (the marker exists) pass through, so the client can resume on the worker gunicorn starts
in its place. With ``CHUNKED_GRAPHQL_FAULT_RELEASE`` naming a file, the request instead waits
there until that file exists and then goes on: a test can run other requests in between, at
exactly that stage.

- ``receiving``: half of the chunk has been received and written, the rest has not arrived.
- ``written``: the whole chunk is written and synced, its offset not yet committed.
- ``completing``: completion has linked the file under its complete name, inside the
  transaction that marks the upload complete, before that commits.
- ``range-written``: a parallel upload's chunk is written and synced, its range not yet
  recorded.
- ``hashing``: a request holding a parallel upload's hashing lease is about to read back a
  chunk that arrived ahead of the prefix, to hash it.

``CHUNKED_GRAPHQL_FAULT_LEASE`` (seconds) shortens the hashing lease of parallel uploads, so a
request can take over from a worker that died holding it without waiting for the default.
(``receiving`` stops parallel chunks too: they arrive through the same ``Incoming``.)
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from example_site import wsgi

application = wsgi.application  # Django is set up from here on

from chunked_graphql.services import completing, parallel, prefix_hash, uploading  # noqa: E402
from chunked_graphql.stores.filesystem import FileSystemChunkStore  # noqa: E402

STAGE = os.environ["CHUNKED_GRAPHQL_FAULT_STAGE"]
MARKER = Path(os.environ["CHUNKED_GRAPHQL_FAULT_MARKER"])
RELEASE = os.environ.get("CHUNKED_GRAPHQL_FAULT_RELEASE")
_skip = int(os.environ.get("CHUNKED_GRAPHQL_FAULT_SKIP", "0"))
if os.environ.get("CHUNKED_GRAPHQL_FAULT_LEASE"):
    prefix_hash.LEASE = datetime.timedelta(seconds=float(os.environ["CHUNKED_GRAPHQL_FAULT_LEASE"]))

__all__ = ["application"]


def _stop_here() -> None:
    global _skip
    if MARKER.exists():
        return
    if _skip:
        _skip -= 1
        return
    MARKER.write_text(str(os.getpid()))
    if RELEASE is None:
        time.sleep(600)  # until the test kills this worker
        return
    deadline = time.monotonic() + 60
    while not os.path.exists(RELEASE) and time.monotonic() < deadline:
        time.sleep(0.01)


if STAGE == "receiving":
    _blocks = uploading.Incoming.blocks

    def _halfway(self: Any) -> Iterator[bytes]:
        stopped = False
        for block in _blocks(self):
            yield block
            if not stopped and self.received >= self.length // 2:
                stopped = True
                _stop_here()

    uploading.Incoming.blocks = _halfway  # type: ignore[method-assign]

elif STAGE == "written":
    _commit_chunk = uploading._commit_chunk

    def _before_commit(*args: Any, **kwargs: Any) -> Any:
        _stop_here()
        return _commit_chunk(*args, **kwargs)

    uploading._commit_chunk = _before_commit

elif STAGE == "completing":
    _run_hook = completing._run_completion_hook

    def _inside_completion(*args: Any, **kwargs: Any) -> Any:
        _stop_here()
        return _run_hook(*args, **kwargs)

    completing._run_completion_hook = _inside_completion

elif STAGE == "range-written":
    _record = parallel._record

    def _before_record(*args: Any, **kwargs: Any) -> Any:
        _stop_here()
        return _record(*args, **kwargs)

    parallel._record = _before_record

elif STAGE == "hashing":
    _read_range = FileSystemChunkStore.read_range

    def _before_reading(self: Any, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        # Read back only by the request holding the lease, to hash a chunk that arrived ahead.
        _stop_here()
        yield from _read_range(self, *args, **kwargs)

    FileSystemChunkStore.read_range = _before_reading  # type: ignore[method-assign]

else:
    raise RuntimeError(f"Unknown fault stage {STAGE!r}")

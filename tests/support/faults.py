"""A WSGI entry point for crash tests: the example site, stopped dead at one stage of the upload
service so that a test can kill the worker there with SIGKILL.

``CHUNKED_GRAPHQL_FAULT_STAGE`` names the stage; the first request to reach it (after
``CHUNKED_GRAPHQL_FAULT_SKIP`` others have passed it, in a single-worker server) writes the
worker's pid to ``CHUNKED_GRAPHQL_FAULT_MARKER`` and sleeps until it is killed. Requests after
that (the marker exists) pass through, so the client can resume on the worker gunicorn starts
in its place.

- ``receiving``: half of the chunk has been received and written, the rest has not arrived.
- ``written``: the whole chunk is written and synced, its offset not yet committed.
- ``completing``: completion has linked the file under its complete name, inside the
  transaction that marks the upload complete, before that commits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from example_site import wsgi

application = wsgi.application  # Django is set up from here on

from chunked_graphql.services import completing, uploading  # noqa: E402

STAGE = os.environ["CHUNKED_GRAPHQL_FAULT_STAGE"]
MARKER = Path(os.environ["CHUNKED_GRAPHQL_FAULT_MARKER"])
_skip = int(os.environ.get("CHUNKED_GRAPHQL_FAULT_SKIP", "0"))

__all__ = ["application"]


def _stop_here() -> None:
    global _skip
    if MARKER.exists():
        return
    if _skip:
        _skip -= 1
        return
    MARKER.write_text(str(os.getpid()))
    time.sleep(600)  # until the test kills this worker


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

else:
    raise RuntimeError(f"Unknown fault stage {STAGE!r}")

"""When and how long to wait before trying a failed request again.

Only transient failures are retried (``ClientError.transient``: no answer, HTTP 5xx or 429, the
server's STORAGE_ERROR, UPLOAD_BUSY).
Retrying a chunk is safe. A serial upload stores a chunk only at its recorded offset, so a chunk
that did arrive before its answer was lost is refused with ``OffsetMismatch`` and the uploader
continues from the offset the server names; a parallel upload answers a chunk whose range it
already holds with the upload, unchanged, storing nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import ClientError

T = TypeVar("T")

RetryCallback = Callable[[int, float, ClientError], None]


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``retries`` more attempts after the first, waiting ``backoff * 2**n`` seconds before
    the (n+1)-th retry, at most ``max_delay``, shortened at random by up to ``jitter`` of itself
    so that many clients cut off together do not come back together."""

    retries: int = 5
    backoff: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        base = min(self.max_delay, self.backoff * (2**retry))
        return base * (1 - self.jitter * random.random())

    def call(
        self,
        attempt: Callable[[], T],
        on_retry: RetryCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Run ``attempt`` until it succeeds, fails for good, or the retries are used up."""
        retry = 0
        while True:
            try:
                return attempt()
            except ClientError as exc:
                if not exc.transient or retry >= self.retries:
                    raise
                wait = self.delay(retry)
                retry += 1
                if on_retry is not None:
                    on_retry(retry, wait, exc)
                sleep(wait)

"""A Python client for chunked_graphql: upload large files in chunks, with progress, retries and
resuming across runs. The ``chunked-upload`` command (:mod:`.cli`) is built on it.

Needs the ``client`` extra: ``pip install 'chunked-graphql[client]'``.

    from chunked_graphql.client import BearerAuth, ChunkedUploader

    uploader = ChunkedUploader("https://example.com/graphql/", BearerAuth(token))
    # Four chunks at a time where the server takes a parallel upload (parallel=1: one by one).
    upload = uploader.upload("video.mp4", on_progress=lambda p: print(p.offset, "/", p.total))
    print(upload.id, upload.response_data)
"""

try:
    import requests  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on how the package was installed
    raise ImportError(
        "chunked_graphql.client needs the 'client' extra: pip install 'chunked-graphql[client]'"
    ) from exc

from .errors import (
    AuthenticationFailed,
    ClientError,
    LocalFileError,
    ServerError,
    ServerUnreachable,
    UploadRejected,
)
from .fingerprint import fingerprint
from .operations import ServerLimits, UploadInfo
from .progress import Progress
from .resume_store import ResumeStore
from .retry import RetryPolicy
from .transport import Auth, BearerAuth, HeaderAuth, NoAuth, SessionAuth, Transport
from .uploader import ChunkedUploader

__all__ = [
    "Auth",
    "AuthenticationFailed",
    "BearerAuth",
    "ChunkedUploader",
    "ClientError",
    "HeaderAuth",
    "LocalFileError",
    "NoAuth",
    "Progress",
    "ResumeStore",
    "RetryPolicy",
    "ServerError",
    "ServerLimits",
    "ServerUnreachable",
    "SessionAuth",
    "Transport",
    "UploadInfo",
    "UploadRejected",
    "fingerprint",
]

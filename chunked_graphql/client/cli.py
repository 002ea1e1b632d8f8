"""``chunked-upload``: upload a file from the command line, with a progress bar, retries and
resuming (run the same command again after an interruption).

    chunked-upload video.mp4 --endpoint https://example.com/graphql/ --token "$TOKEN"

Every failure ends in one line on stderr and a non-zero exit status, never a traceback:

    1    the local file cannot be read, or is empty
    2    bad arguments
    3    the server cannot be reached
    4    the server refused the upload with a typed error (e.g. MAX_BYTES_EXCEEDED, or
         INVALID_CHUNK_SIZE for a --chunk-size its parallel uploads do not take)
    5    the server answered with an HTTP or GraphQL error (401 and 403 included)
    130  interrupted (Ctrl-C): run the same command again to resume
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import errors
from .operations import UploadInfo
from .progress import Progress
from .resume_store import ResumeStore
from .retry import RetryPolicy
from .transport import Auth, BearerAuth, HeaderAuth, NoAuth, SessionAuth
from .uploader import ChunkedUploader

PROG = "chunked-upload"

EXIT_OK = 0
EXIT_LOCAL = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_REJECTED = 4
EXIT_SERVER = 5
EXIT_INTERRUPTED = 130

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"4M"`` → 4194304; plain numbers are bytes; K, M, G are powers of 1024."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 65536, 512K, 8M)")
    value = int(match[1]) * 1024 ** " kmg".index((match[2] or " ").lower())
    if value < 1:
        raise argparse.ArgumentTypeError("the chunk size must be at least 1 byte")
    return value


def _senders(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--parallel takes a whole number from 1, not {text!r}")
    return value


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not a header: {text!r} (expected 'Name: value')")
    return name.strip(), value.strip()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block; --help has the rest.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Upload a file in chunks to a chunked_graphql endpoint; run the same "
        "command again to resume an interrupted upload.",
    )
    parser.add_argument("file", help="the file to upload")
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("CHUNKED_UPLOAD_ENDPOINT"),
        help="the GraphQL endpoint, e.g. https://example.com/graphql/ "
        "(default: $CHUNKED_UPLOAD_ENDPOINT)",
    )
    auth = parser.add_argument_group("authentication (pick one)")
    auth.add_argument(
        "--token",
        default=os.environ.get("CHUNKED_UPLOAD_TOKEN"),
        help="send 'Authorization: Bearer TOKEN' (default: $CHUNKED_UPLOAD_TOKEN)",
    )
    auth.add_argument(
        "--header",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header with every request (repeatable), for other token schemes",
    )
    auth.add_argument(
        "--username",
        help="sign in with Django's login form and use the session and its CSRF token; the "
        "password comes from $CHUNKED_UPLOAD_PASSWORD or is asked for",
    )
    auth.add_argument(
        "--login-url",
        help="the sign-in page for --username, a URL or a path on the endpoint's site such as "
        "/admin/login/ (default: /accounts/login/)",
    )
    parser.add_argument(
        "--chunk-size",
        type=parse_size,
        help="bytes per chunk (default: 4M, or what the server needs for a parallel upload)",
    )
    parser.add_argument(
        "--parallel",
        type=_senders,
        metavar="N",
        help="send N chunks at once, each on its own connection; 1 sends serially (default: 4 "
        "where the server takes a parallel upload with the chunk size, else 1)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=5,
        help="retries of a failed request, waiting longer each time (default: 5)",
    )
    parser.add_argument(
        "--backoff",
        type=float,
        default=0.5,
        help="seconds before the first retry; doubled for each next one (default: 0.5)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for an answer (default: 120)"
    )
    parser.add_argument(
        "--state-file",
        help="where unfinished uploads are remembered (default: $CHUNKED_UPLOAD_STATE_FILE or "
        "$XDG_CACHE_HOME/chunked-graphql/uploads.json)",
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="start a new upload even if one can be resumed"
    )
    parser.add_argument("--filename", help="the name to give the upload (default: the file's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the completed upload as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.endpoint:
        parser.error("--endpoint is required (or set CHUNKED_UPLOAD_ENDPOINT)")
    if not re.match(r"^https?://", args.endpoint):
        parser.error(f"--endpoint must be an http:// or https:// URL, not {args.endpoint!r}")
    if sum(bool(x) for x in (args.token, args.header, args.username)) > 1:
        parser.error("use only one of --token, --header and --username")
    if args.retries < 0 or args.backoff < 0 or args.timeout <= 0:
        parser.error("--retries and --backoff cannot be negative, --timeout must be positive")
    if not os.path.isfile(args.file):
        return _fail(EXIT_LOCAL, f"{args.file}: no such file")

    auth: Auth
    if args.token:
        auth = BearerAuth(args.token)
    elif args.header:
        auth = HeaderAuth(dict(args.header))
    elif args.username:
        password = os.environ.get("CHUNKED_UPLOAD_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                parser.error("--username needs $CHUNKED_UPLOAD_PASSWORD when not run in a terminal")
            password = getpass.getpass(f"Password for {args.username}: ")
        auth = SessionAuth(args.username, password, login_url=args.login_url)
    else:
        auth = NoAuth()

    bar = _ProgressBar(args.filename or os.path.basename(args.file), quiet=args.quiet)

    def on_retry(attempt: int, delay: float, exc: errors.ClientError) -> None:
        bar.note(f"retry {attempt}/{args.retries} in {delay:.1f}s: {exc}")

    uploader = ChunkedUploader(
        args.endpoint,
        auth,
        chunk_size=args.chunk_size,
        parallel=args.parallel,
        retry=RetryPolicy(retries=args.retries, backoff=args.backoff),
        store=ResumeStore(args.state_file),
        resume=not args.no_resume,
        timeout=args.timeout,
        on_retry=on_retry,
    )

    def on_progress(progress: Progress) -> None:
        bar.update(progress)

    try:
        upload = uploader.upload(args.file, on_progress=on_progress, filename=args.filename)
    except KeyboardInterrupt:
        bar.close()
        return _fail(EXIT_INTERRUPTED, "interrupted; run the same command again to resume")
    except errors.ServerUnreachable as exc:
        bar.close()
        return _fail(EXIT_UNREACHABLE, str(exc))
    except errors.UploadRejected as exc:
        bar.close()
        return _fail(EXIT_REJECTED, str(exc))
    except errors.LoginPageNotFound as exc:
        bar.close()
        return _fail(EXIT_SERVER, f"{exc}; pass --login-url or use --token")
    except errors.ServerError as exc:
        bar.close()
        return _fail(EXIT_SERVER, str(exc))
    except errors.ClientError as exc:
        bar.close()
        return _fail(EXIT_LOCAL, str(exc))
    bar.close()

    if args.json:
        print(json.dumps(_as_json(upload), sort_keys=True))
    else:
        print(f"Uploaded {upload.filename} ({upload.offset} bytes) as {upload.id}: {upload.url}")
    return EXIT_OK


def _as_json(upload: UploadInfo) -> dict[str, Any]:
    return {
        "id": upload.id,
        "url": upload.url,
        "filename": upload.filename,
        "size": upload.offset,
        "status": upload.status,
        "checksumAlgorithm": upload.checksum_algorithm,
        "responseData": upload.response_data,
    }


def _fail(status: int, message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


class _ProgressBar:
    """A tqdm bar on stderr (bytes, rate, ETA), started at the resumed offset."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.quiet = quiet
        self._bar: Any = None

    def update(self, progress: Progress) -> None:
        # The bar appears once the server has answered, so that a run failing at its first
        # request prints nothing but its one-line error.
        if self.quiet or progress.upload_id is None:
            return
        if self._bar is None:
            from tqdm import tqdm

            if progress.resumed_from:
                print(
                    f"Resuming {self.label} at {progress.resumed_from} of {progress.total} bytes",
                    file=sys.stderr,
                )
            self._bar = tqdm(
                total=progress.total,
                initial=progress.offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=self.label,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        self._bar.update(progress.offset - self._bar.n)

    def note(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        elif not self.quiet:
            print(message, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run() -> NoReturn:
    """The console script's entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()

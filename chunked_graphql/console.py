"""The ``chunked-upload`` console script's entry point.

It is installed with the package, extras or not; the client it runs needs the ``client`` extra
(requests, tqdm). Without them the command says how to install them, in one line, instead of
failing with a traceback on the first import.
"""

from __future__ import annotations

import sys
from typing import NoReturn

INSTALL_HINT = 'pip install "chunked-graphql[client]"'


def run() -> NoReturn:
    try:
        import requests  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError as exc:
        print(
            f"chunked-upload: error: {exc.name or 'a module'} is missing, the command needs the "
            f"client extra: {INSTALL_HINT}",
            file=sys.stderr,
        )
        sys.exit(2)
    from chunked_graphql.client.cli import run as run_client

    run_client()

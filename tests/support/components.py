"""Tests that need a component outside Python (Chromium, Node and its packages).

On a developer's machine without the component such a test is skipped, with the reason. In CI
(the environment variable ``CI`` is set) a missing component fails the test instead: the Makefile
installs every component, so its absence there is a broken set-up, not a reason to test less.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
NODE_PACKAGE = ROOT / "tests" / "interop" / "node"
JS_CLIENT = ROOT / "js" / "client"


def require(available: bool, what: str, how: str) -> None:
    """Skip (or in CI fail) the current test unless ``available``."""
    if available:
        return
    message = f"{what} is missing ({how})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must have it", pytrace=False)
    pytest.skip(message)


def chromium() -> Path:
    require(CHROMIUM.exists(), str(CHROMIUM), "make test installs Debian's chromium package")
    return CHROMIUM


def node() -> str:
    found = shutil.which("node")
    require(found is not None, "node", "install Node.js 20 or later")
    assert found is not None
    require(
        (NODE_PACKAGE / "node_modules" / "apollo-upload-client").is_dir(),
        "the npm packages of tests/interop/node",
        "make test runs npm ci there",
    )
    return found


def js_client() -> str:
    """Node, with the package in js/client built (``make test`` runs npm ci and the build)."""
    found = shutil.which("node")
    require(found is not None, "node", "install Node.js 20 or later")
    assert found is not None
    require(
        (JS_CLIENT / "dist" / "index.js").is_file(),
        "the built package of js/client",
        "make test runs npm ci and npm run build there",
    )
    return found

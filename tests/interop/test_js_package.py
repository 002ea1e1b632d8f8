"""The package in js/client as a frontend team gets it: ``npm pack`` makes the tarball (its
``prepack`` builds it), ``npm install`` puts it in a new project, and the project imports what the
README shows: ``upload`` and the typed errors, the Node helpers, the Uppy plugin, the types, and
the hashing worker file beside the modules that start it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.components import ROOT, js_client, require

JS_CLIENT = ROOT / "js" / "client"

# Packing rebuilds the package and the install resolves its dependencies: some seconds.
pytestmark = pytest.mark.slow

IMPORTS = """
import { upload, cancelUpload, UploadFailure, UploadRejected } from "chunked-graphql-client";
import { FileStore, openFile } from "chunked-graphql-client/node";
import ChunkedGraphQL from "chunked-graphql-client/uppy";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
const worker = fileURLToPath(import.meta.resolve("chunked-graphql-client/hash-worker"));
const rejected = new UploadRejected("QuotaExceeded", "QUOTA_EXCEEDED", "m", 400, {});
console.log(JSON.stringify({
  upload: typeof upload, cancelUpload: typeof cancelUpload,
  errors: rejected instanceof UploadFailure,
  node: [typeof FileStore, typeof openFile], uppy: ChunkedGraphQL.VERSION,
  worker: worker.endsWith("/chunked-graphql-client/dist/hash-worker.js") && existsSync(worker),
}));
"""


def npm() -> str:
    found = shutil.which("npm")
    require(found is not None, "npm", "install Node.js 20 or later with npm")
    assert found is not None
    return found


def run(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_packed_tarball_installs_into_a_new_project_and_imports(tmp_path: Path) -> None:
    node = js_client()
    executable = npm()
    packed = json.loads(
        run(executable, "pack", "--json", "--pack-destination", str(tmp_path), cwd=JS_CLIENT)
    )[0]
    files = {entry["path"] for entry in packed["files"]}
    assert {"dist/index.js", "dist/index.d.ts", "dist/hash-worker.js", "README.md"} <= files
    assert not any(path.startswith(("src/", "test/", "node_modules/")) for path in files)

    project = tmp_path / "frontend"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "frontend", "type": "module"}))
    # @uppy/core is the plugin's peer dependency, which a project using the plugin has.
    run(
        executable, "install", "--no-audit", "--no-fund", "--prefer-offline",
        str(tmp_path / packed["filename"]), "@uppy/core@6.3.1", cwd=project,
    )  # fmt: skip
    (project / "check.mjs").write_text(IMPORTS)
    report = json.loads(run(node, "check.mjs", cwd=project))
    assert report == {
        "upload": "function",
        "cancelUpload": "function",
        "errors": True,
        "node": ["function", "function"],
        "uppy": "0.1.0",
        "worker": True,
    }

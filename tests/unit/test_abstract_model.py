"""ABSTRACT_MODEL = True: the model is bound at import time, so that mode runs in its own
process, with the settings of tests/abstract_project."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_abstract_model_mode_passes_its_own_suite():
    env = {**os.environ, "CHUNKED_GRAPHQL_ABSTRACT_SUITE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ds=tests.abstract_project.settings",
            "tests/abstract_project",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^6 passed", result.stdout, re.MULTILINE), result.stdout

"""What the repository promises about its packaging, cheap enough for the quick loop (the build
itself is tests/e2e/test_release.py)."""

from __future__ import annotations

import ast
import subprocess
import tomllib
from pathlib import Path

import chunked_graphql

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_is_defined_once() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "chunked_graphql.__version__"}
    assert chunked_graphql.__version__.count(".") == 2


def test_every_runtime_dependency_is_imported_by_the_app_and_graphene_file_upload_is_not() -> None:
    imported = set()
    for path in (ROOT / "chunked_graphql").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    assert "graphene_file_upload" not in imported
    import_names = {
        "Django": "django",
        "graphql-core": "graphql",
        "python-multipart": "python_multipart",
    }
    for requirement in PYPROJECT["project"]["dependencies"]:
        name = requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip()
        module = import_names.get(name, name.replace("-", "_"))
        assert module in imported, f"{name} is a runtime dependency the app does not import"


def test_sqlites_side_files_of_make_run_are_ignored() -> None:
    names = ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal"]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *names], cwd=ROOT, capture_output=True, text=True
    )
    assert result.stdout.split() == names


def test_the_changelog_has_an_unreleased_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "\n## Unreleased\n" in changelog
    assert f"\n## {chunked_graphql.__version__}" in changelog or "\n## 0.1.0\n" in changelog

"""drf-chunked-upload 0.6.0 as the benchmark runs it: its own virtualenv and a tiny REST site.

The reference package must not share a virtualenv with this project (it pulls in Django REST
framework, and it is a competitor, not a dependency), so the benchmark creates one from PyPI the
first time, caches it, and reuses it while the pins below are unchanged.

The site is the least a project needs to use the package as its README describes: the app, a
``ChunkedUploadView`` subclass routed at ``uploads/`` and ``uploads/<id>/`` (the URL names its
serializer reverses), SQLite, a media root. Its files are written into a temporary directory at
run time from ``SITE_FILES`` below.

Quirks of drf-chunked-upload 0.6.0 that the site works around:

- ``DRF_CHUNKED_UPLOAD_ABSTRACT_MODEL`` defaults to ``True``, which makes its stock
  ``ChunkedUpload`` model abstract and with it the stock serializer and view unusable; the site
  sets it to ``False`` so that the stock model and the package's own migration are used.
- The stock model's ``user`` is a required foreign key and the view refuses anonymous uploads, so
  every request authenticates as one ``bench`` user: a single indexed query, as a token lookup
  would cost. (HTTP Basic would hash the password with PBKDF2 on every chunk and measure that.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# drf-chunked-upload 0.6.0 (August 2023) asks only for Django >= 2.2 and DRF >= 3.11. Django is
# pinned to the release the example site runs, so both sides parse multipart bodies with the same
# code, and gunicorn to the project's own pin; DRF 3.16 is the first to support Django 5.2.
PINS = (
    "drf-chunked-upload==0.6.0",
    "Django==5.2.19",
    "djangorestframework==3.16.1",
    "gunicorn==27.0.1",
)
STAMP = ".bench-pins"


def default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "chunked-graphql-bench" / "drf-venv"


def ensure_venv(venv: Path) -> Path:
    """Create (or reuse) the virtualenv with ``PINS``; return its Python."""
    python = venv / "bin" / "python"
    stamp = venv / STAMP
    wanted = "\n".join(PINS) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"creating the drf-chunked-upload virtualenv in {venv} ...", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS],
        check=True,
    )
    # Written last: an interrupted install is redone next time.
    stamp.write_text(wanted)
    return python


SETTINGS = '''\
"""Settings of the benchmark's drf-chunked-upload site."""

import os

SECRET_KEY = "drf-chunked-upload-bench"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "drf_chunked_upload",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DB"]}
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MEDIA_ROOT = os.environ["BENCH_MEDIA_ROOT"]
MEDIA_URL = "media/"

REST_FRAMEWORK = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

# Its default (True) makes the stock ChunkedUpload model abstract and the stock view unusable.
DRF_CHUNKED_UPLOAD_ABSTRACT_MODEL = False
'''

VIEWS = '''\
"""The upload view: drf-chunked-upload's stock view, every request as the bench user."""

from django.contrib.auth import get_user_model
from drf_chunked_upload.views import ChunkedUploadView
from rest_framework.authentication import BaseAuthentication


class BenchUserAuthentication(BaseAuthentication):
    """One indexed query per request, like a token lookup; the stock model requires a user."""

    def authenticate(self, request):
        return get_user_model().objects.get(username="bench"), None


class UploadView(ChunkedUploadView):
    authentication_classes = [BenchUserAuthentication]
    permission_classes = []
'''

URLS = '''\
"""The URL names are the ones drf-chunked-upload's serializer reverses."""

from django.urls import path

from benchsite.views import UploadView

urlpatterns = [
    path("uploads/", UploadView.as_view(), name="chunkedupload-list"),
    path("uploads/<uuid:pk>/", UploadView.as_view(), name="chunkedupload-detail"),
]
'''

WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
application = get_wsgi_application()
"""

SITE_FILES = {
    "benchsite/__init__.py": "",
    "benchsite/settings.py": SETTINGS,
    "benchsite/views.py": VIEWS,
    "benchsite/urls.py": URLS,
    "benchsite/wsgi.py": WSGI,
}


def write_site(directory: Path) -> None:
    """Write the site's files into ``directory`` (which becomes its import root)."""
    for name, text in SITE_FILES.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def set_up_database(python: Path, directory: Path, env: dict[str, str]) -> None:
    """Apply the migrations (the package's own included) and create the bench user."""
    for command in (
        ["migrate", "--noinput", "-v0"],
        [
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model;"
            " get_user_model().objects.get_or_create(username='bench')",
        ],
    ):
        argv = [str(python), "-m", "django", *command]
        result = subprocess.run(argv, cwd=directory, env=env, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")

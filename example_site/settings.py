"""Settings of the example site: SQLite (or ``DATABASE_URL``), local media storage, GraphiQL at
/graphql/.

Not for production as is: the secret key comes from the environment when set, DEBUG defaults on.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-site-insecure-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "graphene_django",
    "chunked_graphql",
    "example_site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "example_site.auth.TokenAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_site.urls"
WSGI_APPLICATION = "example_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_SITE_DB", str(BASE_DIR / "db.sqlite3")),
        # SQLite ignores select_for_update: BEGIN IMMEDIATE makes each write transaction take
        # the database lock up front, so racing chunks queue instead of failing with
        # "database is locked" (chunked_graphql.W001 warns without it).
        # WAL: a commit appends to the log instead of rewriting the journal (no fsync per
        # commit with synchronous=NORMAL; a power cut may lose the last commits, never
        # corrupt the database), and readers no longer wait for writers.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # Kept open between requests: closing the last connection checkpoints the WAL into the
        # database file, which would cost every chunk a sync.
        "CONN_MAX_AGE": 600,
    }
}
# PostgreSQL (or any database Django supports) for several app servers, e.g.
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/uploads
if os.environ.get("DATABASE_URL"):
    DATABASES["default"] = dict(dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
MEDIA_URL = "media/"
MEDIA_ROOT = os.environ.get("EXAMPLE_SITE_MEDIA", str(BASE_DIR / "media"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Chunks up to 64 MiB arrive as one multipart part; Django spools parts above this to disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

GRAPHENE = {"SCHEMA": "example_site.schema.schema"}

CHUNKED_GRAPHQL_COMPLETION_HOOK = "example_site.hooks.describe_upload"

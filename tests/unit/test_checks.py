"""System checks: each invalid setting is reported at start-up with its stable id."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import InMemoryStorage
from django.test import override_settings

from chunked_graphql.checks import check_settings, check_sqlite_transaction_mode
from chunked_graphql.settings import upload_settings

# A URLconf without the app's URLs, for the W002 test (ROOT_URLCONF = "tests.unit.test_checks").
urlpatterns: list[Any] = []


def app_check_ids() -> list[str]:
    """The ids of every chunked_graphql message the system checks report now."""
    return sorted(
        message.id
        for message in checks.run_checks()
        if message.id and message.id.startswith("chunked_graphql.")
    )


def setting_check_ids() -> list[str]:
    return sorted(message.id for message in check_settings() if message.id)


def valid_hook(upload: Any, request: Any) -> None:
    return None


def memory_storage_factory() -> InMemoryStorage:
    return InMemoryStorage()


def not_a_storage_factory() -> object:
    return object()


class BrokenStorage(InMemoryStorage):
    def __init__(self) -> None:
        raise RuntimeError("cannot reach the bucket")


# A valid configuration -------------------------------------------------------------------------


def test_suite_configuration_yields_no_app_messages() -> None:
    assert app_check_ids() == []


def test_default_configuration_yields_no_setting_errors(settings: Any) -> None:
    assert setting_check_ids() == []


def test_fully_customised_valid_configuration_yields_no_app_messages(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = datetime.timedelta(hours=6)
    settings.CHUNKED_GRAPHQL_PATH = "uploads/%Y/%m"
    settings.CHUNKED_GRAPHQL_CHECKSUM = "sha256"
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = ".bin"
    settings.CHUNKED_GRAPHQL_INCOMPLETE_EXT = ".tmp"
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = InMemoryStorage
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_BYTES = 10_000
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "tests.unit.test_checks.valid_hook"

    assert app_check_ids() == []


def test_valid_dotted_paths_yield_no_app_messages(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = "django.core.files.storage.InMemoryStorage"
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = valid_hook

    assert app_check_ids() == []


# E001 EXPIRATION_DELTA -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [datetime.timedelta(0), datetime.timedelta(seconds=-1), 3600, "1 day", None]
)
def test_e001_for_invalid_expiration_delta(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = value

    assert app_check_ids() == ["chunked_graphql.E001"]


# E002 PATH -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["/abs", "../x", "a/../../b", "up/%Y/../../..", 42])
def test_e002_for_path_outside_storage_root(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_PATH = value

    assert app_check_ids() == ["chunked_graphql.E002"]


def test_e002_for_path_too_long_for_stored_names(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_PATH = "p" * 250

    assert app_check_ids() == ["chunked_graphql.E002"]


@pytest.mark.parametrize("value", ["", "uploads", "a/b/%Y-%m-%d", "..hidden/x", "p" * 150])
def test_no_e002_for_relative_path(settings: Any, value: str) -> None:
    settings.CHUNKED_GRAPHQL_PATH = value

    assert app_check_ids() == []


# E003 CHECKSUM ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nope", "shake_128", "shake_256", None, 5])
def test_e003_for_unusable_checksum(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = value

    assert app_check_ids() == ["chunked_graphql.E003"]


@pytest.mark.parametrize("value", ["md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"])
def test_no_e003_for_fixed_size_hashlib_algorithm(settings: Any, value: str) -> None:
    settings.CHUNKED_GRAPHQL_CHECKSUM = value

    assert app_check_ids() == []


# E004 COMPLETE_EXT / INCOMPLETE_EXT ------------------------------------------------------------


@pytest.mark.parametrize("name", ["COMPLETE_EXT", "INCOMPLETE_EXT"])
@pytest.mark.parametrize("value", ["/x", "a\\b", "..", None, "." + "x" * 16, ".pa\nrt", ".\x7f"])
def test_e004_for_extension_that_is_not_plain(settings: Any, name: str, value: Any) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert app_check_ids() == ["chunked_graphql.E004"]


@pytest.mark.parametrize("value", ["", ".part", ".tar.gz", "." + "x" * 15])
def test_no_e004_for_plain_extension(settings: Any, value: str) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = value

    assert app_check_ids() == []


def test_e004_message_names_the_offending_setting(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_INCOMPLETE_EXT = "/x"

    [error] = [m for m in check_settings() if m.id == "chunked_graphql.E004"]

    assert error.msg.startswith("CHUNKED_GRAPHQL_INCOMPLETE_EXT ")
    assert error.level == checks.ERROR


# E005 STORAGE_CLASS ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "no.such.module.Storage",
        "django.core.files.storage.NoSuchStorage",
        "collections.OrderedDict",
        dict,
        "tests.unit.test_checks.not_a_storage_factory",
        42,
    ],
)
def test_e005_for_invalid_storage_class(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = value

    assert app_check_ids() == ["chunked_graphql.E005"]


def test_e005_when_storage_constructor_fails(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = BrokenStorage

    assert app_check_ids() == ["chunked_graphql.E005"]


@pytest.mark.parametrize(
    "value", ["tests.unit.test_checks.memory_storage_factory", memory_storage_factory]
)
def test_no_e005_for_factory_returning_storage(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = value

    assert app_check_ids() == []


@pytest.mark.parametrize("value", ["no.such.module.Storage", "collections.OrderedDict"])
def test_storage_raises_improperly_configured_for_bad_storage_class(
    settings: Any, value: str
) -> None:
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = value

    with pytest.raises(ImproperlyConfigured, match="CHUNKED_GRAPHQL_STORAGE_CLASS"):
        upload_settings.storage()


# E006 USER_RESTRICTED / ABSTRACT_MODEL ---------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_e006_for_non_bool_user_restricted(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = value

    assert app_check_ids() == ["chunked_graphql.E006"]


def test_e006_for_non_bool_abstract_model(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_ABSTRACT_MODEL = "no"

    assert setting_check_ids() == ["chunked_graphql.E006"]


# E007 MAX_BYTES --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, True, "10", 10.5])
def test_e007_for_invalid_max_bytes(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_BYTES = value

    assert app_check_ids() == ["chunked_graphql.E007"]


@pytest.mark.parametrize("value", [None, 1, 2**40])
def test_no_e007_for_none_or_positive_max_bytes(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_BYTES = value

    assert app_check_ids() == []


def test_e007_message_names_legacy_setting_that_provides_the_value(settings: Any) -> None:
    settings.DRF_CHUNKED_UPLOAD_MAX_BYTES = 0

    [error] = [m for m in check_settings() if m.id == "chunked_graphql.E007"]

    assert error.msg.startswith("DRF_CHUNKED_UPLOAD_MAX_BYTES ")


# E008 COMPLETION_HOOK --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "no.such.module.hook",
        "tests.unit.test_checks.no_such_hook",
        "chunked_graphql.settings.PREFIX",
        42,
    ],
)
def test_e008_for_invalid_completion_hook(settings: Any, value: Any) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = value

    assert app_check_ids() == ["chunked_graphql.E008"]


def test_completion_hook_raises_improperly_configured_for_non_callable(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = 42

    with pytest.raises(ImproperlyConfigured, match="CHUNKED_GRAPHQL_COMPLETION_HOOK"):
        upload_settings.completion_hook()


# E020-E026 request limits, GRAPHIQL, INTROSPECTION --------------------------------------------

REQUEST_LIMITS = {
    "MAX_QUERY_BYTES": "chunked_graphql.E020",
    "MAX_QUERY_TOKENS": "chunked_graphql.E021",
    "MAX_QUERY_DEPTH": "chunked_graphql.E022",
    "MAX_QUERY_FIELDS": "chunked_graphql.E023",
    "MAX_UPLOAD_FIELDS": "chunked_graphql.E024",
}


@pytest.mark.parametrize("name", list(REQUEST_LIMITS))
@pytest.mark.parametrize("value", [0, -1, True, "10", 10.5])
def test_e020_to_e024_for_an_invalid_request_limit(settings: Any, name: str, value: Any) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert app_check_ids() == [REQUEST_LIMITS[name]]


@pytest.mark.parametrize("name", list(REQUEST_LIMITS))
@pytest.mark.parametrize("value", [None, 1, 10**6])
def test_no_e020_to_e024_for_none_or_a_positive_request_limit(
    settings: Any, name: str, value: Any
) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert app_check_ids() == []


@pytest.mark.parametrize(
    ("name", "check_id"),
    [("GRAPHIQL", "chunked_graphql.E025"), ("INTROSPECTION", "chunked_graphql.E026")],
)
@pytest.mark.parametrize("value", [1, 0, "yes", "False"])
def test_e025_e026_for_a_switch_that_is_not_none_or_a_bool(
    settings: Any, name: str, check_id: str, value: Any
) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert app_check_ids() == [check_id]


@pytest.mark.parametrize("name", ["GRAPHIQL", "INTROSPECTION"])
@pytest.mark.parametrize("value", [None, True, False])
def test_no_e025_e026_for_none_or_a_bool(settings: Any, name: str, value: Any) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert app_check_ids() == []


# Several problems at once ----------------------------------------------------------------------


def test_every_invalid_setting_is_reported_together(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_EXPIRATION_DELTA = 0
    settings.CHUNKED_GRAPHQL_PATH = "../x"
    settings.CHUNKED_GRAPHQL_CHECKSUM = "nope"
    settings.CHUNKED_GRAPHQL_COMPLETE_EXT = "/x"
    settings.CHUNKED_GRAPHQL_STORAGE_CLASS = "no.such.Storage"
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = "yes"
    settings.CHUNKED_GRAPHQL_MAX_BYTES = -1
    settings.CHUNKED_GRAPHQL_COMPLETION_HOOK = "no.such.hook"

    assert setting_check_ids() == [f"chunked_graphql.E00{n}" for n in range(1, 9)]


# W001 SQLite transaction mode ------------------------------------------------------------------


def databases_with_options(options: dict[str, Any] | None) -> dict[str, Any]:
    from django.conf import settings

    databases = copy.deepcopy(settings.DATABASES)
    # A SQLite database, also when the suite itself runs on PostgreSQL.
    databases["default"]["ENGINE"] = "django.db.backends.sqlite3"
    if options is None:
        databases["default"].pop("OPTIONS", None)
    else:
        databases["default"]["OPTIONS"] = options
    return databases


def sqlite_warnings(databases: dict[str, Any]) -> list[checks.CheckMessage]:
    with (
        pytest.warns(UserWarning, match="Overriding setting DATABASES"),
        override_settings(DATABASES=databases),
    ):
        return check_sqlite_transaction_mode()


@pytest.mark.parametrize("options", [None, {}, {"transaction_mode": "DEFERRED"}])
def test_w001_for_sqlite_without_immediate_transaction_mode(options: Any) -> None:
    warnings = sqlite_warnings(databases_with_options(options))

    assert [w.id for w in warnings] == ["chunked_graphql.W001"]
    assert warnings[0].level == checks.WARNING
    assert "'default'" in warnings[0].msg


def test_no_w001_for_sqlite_with_immediate_transaction_mode() -> None:
    warnings = sqlite_warnings(databases_with_options({"transaction_mode": "IMMEDIATE"}))

    assert warnings == []


def test_no_w001_for_other_database_engines() -> None:
    databases = databases_with_options(None)
    databases["default"]["ENGINE"] = "django.db.backends.postgresql"

    assert sqlite_warnings(databases) == []


def test_suite_database_configuration_has_no_w001() -> None:
    assert check_sqlite_transaction_mode() == []


# W002 upload URL -------------------------------------------------------------------------------


def test_no_w002_with_example_site_urls() -> None:
    ids = [m.id for m in checks.run_checks(tags=[checks.Tags.urls])]

    assert "chunked_graphql.W002" not in ids


def test_w002_when_upload_url_cannot_be_reversed(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.unit.test_checks"

    ids = [m.id for m in checks.run_checks(tags=[checks.Tags.urls])]

    assert "chunked_graphql.W002" in ids


# E030-E034 the deadlines on request bodies -------------------------------------------------------

DEADLINE_CHECK_IDS = {
    "MIN_UPLOAD_RATE": "chunked_graphql.E030",
    "REQUEST_GRACE": "chunked_graphql.E031",
    "STALL_TIMEOUT": "chunked_graphql.E032",
    "REQUEST_TIME_LIMIT": "chunked_graphql.E033",
}


@pytest.mark.parametrize("name", list(DEADLINE_CHECK_IDS))
@pytest.mark.parametrize("value", [0, -1, True, "10", float("inf"), float("nan")])
def test_e030_to_e033_for_a_deadline_that_is_not_a_positive_number(
    settings: Any, name: str, value: Any
) -> None:
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert app_check_ids() == [DEADLINE_CHECK_IDS[name]]


@pytest.mark.parametrize("name", list(DEADLINE_CHECK_IDS))
@pytest.mark.parametrize("value", [None, 0.5, 20])
def test_no_e030_to_e033_for_none_or_a_positive_deadline(
    settings: Any, name: str, value: Any
) -> None:
    # No E034 from the pair, whichever of the two is changed.
    settings.CHUNKED_GRAPHQL_REQUEST_GRACE = 0.5
    settings.CHUNKED_GRAPHQL_STALL_TIMEOUT = None
    setattr(settings, f"CHUNKED_GRAPHQL_{name}", value)

    assert app_check_ids() == []


def test_e034_for_a_stall_timeout_shorter_than_the_grace(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_REQUEST_GRACE = 10
    settings.CHUNKED_GRAPHQL_STALL_TIMEOUT = 5

    assert app_check_ids() == ["chunked_graphql.E034"]

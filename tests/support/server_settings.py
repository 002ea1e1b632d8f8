"""Settings of the gunicorn servers that end-to-end tests start (see ``tests/support/servers.py``).

The test process hands over, through the environment, the database it set up, its media root
and the settings the test wants changed, so that every server shares them with the test.
"""

import json
import os
from datetime import timedelta
from typing import Any

from tests.support.settings import *  # noqa: F403


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__timedelta__"}:
        return timedelta(seconds=value["__timedelta__"])
    return value


DATABASES = {"default": json.loads(os.environ["CHUNKED_GRAPHQL_SERVER_DATABASE"])}
MEDIA_ROOT = os.environ["CHUNKED_GRAPHQL_SERVER_MEDIA_ROOT"]
DEBUG = False

for _name, _value in json.loads(os.environ.get("CHUNKED_GRAPHQL_SERVER_SETTINGS", "{}")).items():
    globals()[_name] = _decode(_value)

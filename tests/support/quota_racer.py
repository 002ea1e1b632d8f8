"""One racer of ``tests/e2e/test_quota_races.py``: a process of its own creating one upload the
way the service does, ``reserve_quota`` and then the insert in one transaction, on a database
connection of its own.

    python -m tests.support.quota_racer OWNER TOTAL_SIZE HOLD

OWNER is a user's primary key or ``anonymous``. Set up like the test servers
(``tests.support.server_settings``: the environment names the test database and the settings).
The racer connects, prints ``ready``, waits for a line on its standard input, creates, holding its
transaction ``HOLD`` seconds between the reservation and the insert (the service's work before it
inserts, made long enough that racers not serialised would all count the same rows), and prints
what it got as one line of JSON: ``{"created": id}`` or ``{"quota": kind, "limit": limit}``.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(owner_arg: str, total_size: int, hold: float) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.server_settings")
    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connections, transaction

    from chunked_graphql.exceptions import QuotaExceeded
    from chunked_graphql.services.common import new_upload, write_db
    from chunked_graphql.services.quotas import reserve_quota

    alias = write_db()
    owner = None if owner_arg == "anonymous" else get_user_model().objects.get(pk=owner_arg)
    connections[alias].ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        with transaction.atomic(using=alias):
            reserve_quota(owner, total_size, alias)
            time.sleep(hold)
            upload = new_upload(owner, "race.bin", total_size=total_size)
            upload.save(force_insert=True)
    except QuotaExceeded as refused:
        print(json.dumps({"quota": refused.quota.value, "limit": refused.limit}), flush=True)
    else:
        print(json.dumps({"created": str(upload.pk)}), flush=True)
    connections.close_all()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))

"""Racing creations never take a user past a quota, across processes, and the locks that
serialise them are held no longer than the creating transaction.

Each race starts 8 processes (``tests.support.quota_racer``), each on a database connection of
its own, released at the same moment, all creating an upload for one owner the way the service
does: ``reserve_quota``, then the insert, in one transaction that waits a little between the two.
Exactly the quota's worth succeed and the others get ``QuotaExceeded``. Run against SQLite, and
against PostgreSQL or MariaDB with ``DATABASE_URL``: each serialises creations its own way
(``chunked_graphql/services/quotas.py``).

The tests with threads hold a creation's transaction open (or end it) while another creation runs
on a connection of its own: one owner's creations wait for each other, different owners' do not,
and neither a commit, a refusal nor a rollback leaves a lock behind.

Last, the same races through the API: 8 ``createUpload`` requests, or 8 first chunks, at once to a
gunicorn server with 4 sync workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import connection, connections, transaction

from chunked_graphql.exceptions import QuotaExceeded
from chunked_graphql.models import ChunkedUpload
from chunked_graphql.services.common import new_upload, write_db
from chunked_graphql.services.quotas import reserve_quota
from tests.support.graphql_client import CREATE_UPLOAD
from tests.support.http_api import Http

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
RACERS = 8
QUOTA = 3
SIZE = 1000
# How long each racer holds its transaction between reservation and insert: without the lock,
# every racer would count the rows before any of them inserted.
HOLD = 0.2
# Long enough for a creation that does not wait on a lock, on a busy machine; well under the 20 s
# an anonymous creation on MySQL waits for another's named lock before it fails.
PROMPT = 5.0


@pytest.fixture
def race(transactional_db: Any, tmp_path: Path) -> Callable[..., list[dict[str, Any]]]:
    """``race(owner, settings)``: what each of RACERS processes creating an upload of SIZE bytes
    for ``owner`` (a user or None) at the same moment got."""
    database = {
        key: connection.settings_dict[key]
        for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    }

    def run(owner: Any, settings: dict[str, Any]) -> list[dict[str, Any]]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.support.server_settings",
            "CHUNKED_GRAPHQL_SERVER_DATABASE": json.dumps(database, default=str),
            "CHUNKED_GRAPHQL_SERVER_MEDIA_ROOT": str(tmp_path / "media"),
            "CHUNKED_GRAPHQL_SERVER_SETTINGS": json.dumps(settings),
        }
        owner_arg = "anonymous" if owner is None else str(owner.pk)
        logs = [(tmp_path / f"racer-{index}.log").open("w") for index in range(RACERS)]
        command = [sys.executable, "-m", "tests.support.quota_racer", owner_arg, str(SIZE)]
        racers = [
            subprocess.Popen(
                [*command, str(HOLD)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            for log in logs
        ]
        try:
            for index, racer in enumerate(racers):
                assert racer.stdout is not None
                line = racer.stdout.readline()
                assert line == "ready\n", (tmp_path / f"racer-{index}.log").read_text()
            for racer in racers:  # all wait on their stdin: release them together
                assert racer.stdin is not None
                racer.stdin.write("go\n")
                racer.stdin.flush()
            answers = []
            for index, racer in enumerate(racers):
                out, _ = racer.communicate(timeout=120)
                assert racer.returncode == 0, (tmp_path / f"racer-{index}.log").read_text()
                answers.append(json.loads(out))
            return answers
        finally:
            for racer in racers:
                if racer.poll() is None:
                    racer.kill()
                    racer.wait()
            for log in logs:
                log.close()

    return run


def outcomes(answers: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        "created" if "created" in answer else f"{answer['quota']}:{answer['limit']}"
        for answer in answers
    )


# Races of processes ----------------------------------------------------------------------------


def test_racing_creations_of_one_user_admit_exactly_the_upload_quota(
    race: Callable[..., list[dict[str, Any]]], user: Any
) -> None:
    answers = race(user, {"CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS": QUOTA})

    assert outcomes(answers) == {"created": QUOTA, f"INCOMPLETE_UPLOADS:{QUOTA}": RACERS - QUOTA}
    assert ChunkedUpload.objects.filter(user=user).count() == QUOTA


def test_racing_creations_of_one_user_admit_exactly_the_byte_quota(
    race: Callable[..., list[dict[str, Any]]], user: Any
) -> None:
    limit = QUOTA * SIZE

    answers = race(user, {"CHUNKED_GRAPHQL_MAX_INCOMPLETE_BYTES": limit})

    assert outcomes(answers) == {"created": QUOTA, f"INCOMPLETE_BYTES:{limit}": RACERS - QUOTA}
    assert ChunkedUpload.objects.filter(user=user).count() == QUOTA


def test_racing_anonymous_creations_admit_exactly_their_shared_quota(
    race: Callable[..., list[dict[str, Any]]],
) -> None:
    answers = race(
        None,
        {
            "CHUNKED_GRAPHQL_USER_RESTRICTED": False,
            "CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS": QUOTA,
        },
    )

    assert outcomes(answers) == {"created": QUOTA, f"INCOMPLETE_UPLOADS:{QUOTA}": RACERS - QUOTA}
    assert ChunkedUpload.objects.filter(user=None).count() == QUOTA


# Who waits for whom, and for how long ----------------------------------------------------------


class Creator(threading.Thread):
    """A creation on a database connection of its own (this thread's), which it keeps open until
    ``finish()``, as a server process keeps its connection between requests. ``hold`` keeps the
    transaction open between the reservation and the insert until ``release()``; ``action``
    replaces the creation."""

    def __init__(
        self, owner: Any, *, hold: bool = False, action: Callable[[], str] | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.owner = owner
        self.hold = hold
        self.action = action
        self.reserved = threading.Event()
        self.released = threading.Event()
        self.done = threading.Event()
        self.finished = threading.Event()
        self.outcome: str | BaseException | None = None

    def run(self) -> None:
        try:
            self.outcome = self.action() if self.action else create(self.owner, self)
        except QuotaExceeded as refused:
            self.outcome = refused.quota.value
        except BaseException as error:  # reported in the test's thread
            self.outcome = error
        finally:
            self.done.set()
            self.finished.wait(60)
            connections.close_all()

    def on_reserved(self) -> None:
        """Between the reservation and the insert: tell the test, and if this creation holds its
        transaction, wait to be released."""
        self.reserved.set()
        if self.hold:
            self.released.wait(60)

    def release(self) -> None:
        self.released.set()

    def finish(self) -> None:
        self.released.set()
        self.finished.set()
        self.join(60)

    def result(self, timeout: float) -> str | None:
        """What the creation got, once it is done; None if it is not done within ``timeout``."""
        if not self.done.wait(timeout):
            return None
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def create(owner: Any, creator: Creator | None = None) -> str:
    alias = write_db()
    with transaction.atomic(using=alias):
        reserve_quota(owner, SIZE, alias)
        if creator is not None:
            creator.on_reserved()
        new_upload(owner, "quota.bin", total_size=SIZE).save(force_insert=True)
    return "created"


@pytest.fixture
def creators() -> Any:
    started: list[Creator] = []

    def start(owner: Any, **kwargs: Any) -> Creator:
        creator = Creator(owner, **kwargs)
        started.append(creator)
        creator.start()
        return creator

    yield start
    for creator in started:
        creator.finish()


def test_a_creation_waits_for_the_same_users_creation_in_progress(
    settings: Any, user: Any, creators: Any
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    first = creators(user, hold=True)
    assert first.reserved.wait(30)

    second = creators(user)
    assert second.result(1.0) is None, "it did not wait for the creation in progress"
    first.release()

    assert first.result(30) == "created"
    assert second.result(30) == "INCOMPLETE_UPLOADS"


def test_creations_of_different_users_do_not_wait_for_each_other(
    settings: Any, user: Any, other_user: Any, creators: Any
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one write transaction at a time, whoever's it is")
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    first = creators(user, hold=True)
    assert first.reserved.wait(30)

    assert creators(other_user).result(PROMPT) == "created"
    first.release()
    assert first.result(30) == "created"


def test_a_committed_creation_holds_up_no_later_one(settings: Any, creators: Any) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 2
    first = creators(None)  # keeps its connection open once committed
    assert first.result(30) == "created"

    assert creators(None).result(PROMPT) == "created"


def test_a_refused_creation_holds_up_no_later_one(settings: Any, creators: Any) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    create(None)
    refused = creators(None)  # keeps its connection open once refused
    assert refused.result(30) == "INCOMPLETE_UPLOADS"

    assert creators(None).result(PROMPT) == "INCOMPLETE_UPLOADS"


class RolledBack(Exception):
    """What made a creation's transaction roll back after its reservation."""


def reserve_then_roll_back_then_end_the_request() -> str:
    """A request whose creation fails after its reservation (a storage error, say): the
    transaction rolls back, then the request ends, on a connection that outlives it (as with
    CONN_MAX_AGE = None)."""
    connection.ensure_connection()
    connection.close_at = None
    alias = write_db()
    try:
        with transaction.atomic(using=alias):
            reserve_quota(None, SIZE, alias)
            raise RolledBack
    except RolledBack:
        pass
    request_finished.send(sender=None)
    assert connection.connection is not None, "the connection did not outlive the request"
    return "rolled back"


def test_a_rolled_back_creation_holds_up_no_creation_once_its_request_ended(
    settings: Any, creators: Any
) -> None:
    settings.CHUNKED_GRAPHQL_USER_RESTRICTED = False
    settings.CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS = 1
    rolled_back = creators(None, action=reserve_then_roll_back_then_end_the_request)
    assert rolled_back.result(30) == "rolled back"

    assert creators(None).result(PROMPT) == "created"


# Through the API, across server processes ------------------------------------------------------


def race_requests(send: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """RACERS calls of ``send`` at once, each from its own thread released by one barrier."""
    barrier = threading.Barrier(RACERS)
    answers: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=60)
            answers.append(send())
        except BaseException as error:  # reported in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    if failures:
        raise failures[0]
    assert len(answers) == RACERS, "a racer did not finish"
    return answers


def api_outcomes(answers: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        answer["__typename"]
        if answer["__typename"] != "QuotaExceeded"
        else f"QuotaExceeded:{answer['quota']}:{answer['limit']}"
        for answer in answers
    )


@pytest.fixture
def http(gunicorn: Any, user: Any) -> Http:
    server = gunicorn(workers=4, settings={"CHUNKED_GRAPHQL_MAX_INCOMPLETE_UPLOADS": QUOTA})
    return Http(server, user, timeout=120)


def test_racing_create_upload_requests_admit_exactly_the_quota(http: Http, user: Any) -> None:
    variables = {"filename": "race.bin", "totalSize": SIZE}

    answers = race_requests(lambda: http.post(CREATE_UPLOAD, variables)["createUpload"])

    refused = f"QuotaExceeded:INCOMPLETE_UPLOADS:{QUOTA}"
    assert api_outcomes(answers) == {"ChunkedUpload": QUOTA, refused: RACERS - QUOTA}
    assert ChunkedUpload.objects.filter(user=user).count() == QUOTA


def test_racing_first_chunks_admit_exactly_the_quota(http: Http, user: Any) -> None:
    def first_chunk() -> dict[str, Any]:
        response = http.send_chunk(b"x" * SIZE, f"bytes 0-{SIZE - 1}/{SIZE}", None, "race.bin")
        return Http.data(response)["uploadChunk"]

    answers = race_requests(first_chunk)

    refused = f"QuotaExceeded:INCOMPLETE_UPLOADS:{QUOTA}"
    assert api_outcomes(answers) == {"ChunkedUpload": QUOTA, refused: RACERS - QUOTA}
    assert ChunkedUpload.objects.filter(user=user).count() == QUOTA

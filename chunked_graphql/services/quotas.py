"""Per-user quotas on incomplete uploads: ``MAX_INCOMPLETE_UPLOADS`` and ``MAX_INCOMPLETE_BYTES``.

A new upload is admitted by ``reserve_quota``, called in the transaction that inserts its row,
right before the insert. What counts are the owner's incomplete uploads that have not expired
(created less than ``EXPIRATION_DELTA`` ago; expired ones not yet deleted do not count), and of
those the declared ``total_size`` (a row without one counts 0 bytes). Anonymous uploads (with
``USER_RESTRICTED`` off) share one count.

Two creations of one owner racing must not both count the same rows and both insert, so the
count runs under a lock that the creating transaction holds until it ends, taken the way each
database allows:

- PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``) on a key of the
  owner, in a statement of its own before the count: at READ COMMITTED (Django's default) each
  statement sees what was committed when it began, so the count sees the row of every creation
  that held the lock before. (At REPEATABLE READ the transaction's snapshot is older than the
  lock, and racing creations could overshoot.)
- MySQL and MariaDB: an authenticated owner's row of the user table, locked ``FOR UPDATE``,
  released by the commit or the rollback. Anonymous uploads have no such row: they take a named
  lock (``GET_LOCK``), which belongs to the session rather than the transaction, so it is
  released right after the commit, at once when the reservation fails, and after a rollback when
  the request ends (else after the commit of the connection's next creation, or when the
  connection closes).
- SQLite: nothing more. With ``transaction_mode = "IMMEDIATE"`` (``chunked_graphql.W001`` warns
  without it) every write transaction holds the database's write lock from its ``BEGIN``, so
  creations run one at a time already. Without it a racer that counted before another's insert
  fails with "database is locked" when it inserts: an error, never an overshoot.
- Other databases: the user's row ``FOR UPDATE`` where the database has it; anonymous uploads
  are not serialised there.

When both settings are ``None`` a reservation costs no query at all. With a quota on it costs one
query on SQLite and two on PostgreSQL and MySQL (lock, count), plus one after the commit for an
anonymous upload on MySQL (``RELEASE_LOCK``).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import zlib
from typing import Any

from django.core.signals import request_finished
from django.db import DatabaseError, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, Sum
from django.dispatch import receiver
from django.utils import timezone

from .. import exceptions
from ..exceptions import QuotaKind
from ..models import AbstractChunkedUpload, get_upload_model
from ..settings import upload_settings

logger = logging.getLogger("chunked_graphql.services")

#: The first key of the PostgreSQL advisory locks (the second is the owner's): a number of the
#: app's own, so the locks of other code using two-key advisory locks are not confused with these.
ADVISORY_NAMESPACE = zlib.crc32(b"chunked_graphql.quotas") - 2**31
#: How long, in seconds, an anonymous creation on MySQL waits for another's named lock. Holders
#: keep it for one short transaction; past this the creation fails as a lock wait would.
NAMED_LOCK_TIMEOUT = 20
#: The attribute of a MySQL connection (Django's wrapper, one per thread) recording the named
#: lock its session holds: (the DB-API connection it was taken on, the lock's name).
_HELD_LOCK = "_chunked_graphql_quota_lock"


def reserve_quota(owner: Any, total_size: int, alias: str) -> None:
    """Call inside transaction.atomic(using=alias), right before the new upload's row is inserted
    in that same transaction. Raises exceptions.QuotaExceeded(QuotaKind.INCOMPLETE_UPLOADS, limit)
    if the owner already has MAX_INCOMPLETE_UPLOADS unexpired incomplete uploads, or
    QuotaExceeded(QuotaKind.INCOMPLETE_BYTES, limit) if their declared total_size sum plus
    total_size would exceed MAX_INCOMPLETE_BYTES (uploads count first, then bytes). Serialises
    racing creations of the same owner until the transaction ends, so they never overshoot."""
    max_uploads: int | None = upload_settings.MAX_INCOMPLETE_UPLOADS
    max_bytes: int | None = upload_settings.MAX_INCOMPLETE_BYTES
    if max_uploads is None and max_bytes is None:
        return
    connection = connections[alias]
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError(
            "reserve_quota must run inside the transaction that inserts the upload."
        )
    took_named_lock = _lock_owner(connection, owner)
    try:
        uploads, declared = _incomplete(owner, alias, count_bytes=max_bytes is not None)
        if max_uploads is not None and uploads >= max_uploads:
            raise exceptions.QuotaExceeded(QuotaKind.INCOMPLETE_UPLOADS, max_uploads)
        if max_bytes is not None and declared + total_size > max_bytes:
            raise exceptions.QuotaExceeded(QuotaKind.INCOMPLETE_BYTES, max_bytes)
    except BaseException:
        if took_named_lock:  # nothing is inserted: let the next creation go at once
            _release_named_lock(connection)
        raise
    if getattr(connection, _HELD_LOCK, None) is not None:  # a MySQL named lock: after the commit
        transaction.on_commit(lambda: _release_named_lock(connection), using=alias)


def _incomplete(owner: Any, alias: str, *, count_bytes: bool) -> tuple[int, int]:
    """How many unexpired incomplete uploads ``owner`` has, and the sum of their declared sizes
    (0 unless ``count_bytes``), in one query."""
    model = get_upload_model()
    expiration_delta: datetime.timedelta = upload_settings.EXPIRATION_DELTA
    rows = model._default_manager.using(alias).filter(
        status=AbstractChunkedUpload.Status.UPLOADING,
        created_at__gt=timezone.now() - expiration_delta,
    )
    rows = rows.filter(user__isnull=True) if owner is None else rows.filter(user=owner)
    if not count_bytes:
        return rows.count(), 0
    found = rows.aggregate(uploads=Count("pk"), declared=Sum("total_size"))
    return found["uploads"], found["declared"] or 0


# Locks -----------------------------------------------------------------------------------------


def _lock_owner(connection: BaseDatabaseWrapper, owner: Any) -> bool:
    """Serialise the creations of ``owner`` until the transaction ends; whether this call took a
    MySQL named lock (which is not released by the transaction's end)."""
    if connection.vendor == "sqlite":
        return False
    if connection.vendor == "postgresql":
        # Cast: whichever integer type the driver sends the keys as, the two-key form is chosen.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(CAST(%s AS integer), CAST(%s AS integer))",
                [ADVISORY_NAMESPACE, _owner_key(owner)],
            )
        return False
    if owner is not None:
        if connection.features.has_select_for_update:
            user_model = get_upload_model()._meta.get_field("user").related_model
            assert isinstance(user_model, type)
            rows = user_model._base_manager.using(connection.alias).select_for_update()
            list(rows.filter(pk=owner.pk).values_list("pk", flat=True))
        return False
    if connection.vendor == "mysql":
        return _take_named_lock(connection)
    return False


def _owner_key(owner: Any) -> int:
    """The owner's key in the advisory lock's 32-bit second half: the primary key itself when it
    fits, else a hash of it (two owners sharing a key only wait for each other's creations)."""
    pk = None if owner is None else owner.pk
    if isinstance(pk, int) and -(2**31) <= pk < 2**31:
        return pk
    return zlib.crc32(b"" if pk is None else str(pk).encode()) - 2**31


def _take_named_lock(connection: BaseDatabaseWrapper) -> bool:
    """Take this database's named lock for anonymous creations, unless the session holds it
    already (an earlier creation of this transaction, or of one that rolled back). Whether it was
    taken now."""
    # Named locks are the server's, across its databases: the name says which database.
    database = f"{connection.settings_dict['NAME']}.{get_upload_model()._meta.db_table}"
    name = "chunked_graphql.quota:" + hashlib.sha256(database.encode()).hexdigest()[:32]
    with connection.cursor() as cursor:
        held = getattr(connection, _HELD_LOCK, None)
        if held is not None and held[0] is connection.connection and held[1] == name:
            return False
        cursor.execute("SELECT GET_LOCK(%s, %s)", [name, NAMED_LOCK_TIMEOUT])
        (taken,) = cursor.fetchone()
    if taken != 1:
        raise OperationalError(
            f"Could not take the lock of anonymous uploads within {NAMED_LOCK_TIMEOUT} s."
        )
    setattr(connection, _HELD_LOCK, (connection.connection, name))
    return True


def _release_named_lock(connection: BaseDatabaseWrapper) -> None:
    held = getattr(connection, _HELD_LOCK, None)
    if held is None:
        return
    session, name = held
    if connection.connection is session:  # else closed since: the lock went with the session
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [name])
        except DatabaseError:
            # The upload is committed (or refused) already: not the caller's failure. Still
            # recorded as held, so the request's end tries again; the connection's close ends it.
            logger.warning("Could not release the lock of anonymous uploads", exc_info=True)
            return
    setattr(connection, _HELD_LOCK, None)


@receiver(request_finished)
def _release_leftover_locks(**kwargs: Any) -> None:
    """A creation whose transaction rolled back leaves its named lock held (on_commit never runs):
    release it when the request ends, if the connection outlives the request."""
    for connection in connections.all(initialized_only=True):
        if getattr(connection, _HELD_LOCK, None) is not None and not connection.in_atomic_block:
            _release_named_lock(connection)

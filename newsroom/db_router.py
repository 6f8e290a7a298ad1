"""Which database a query goes to: the primary, unless the request is an anonymous reader's
public page that a replica was chosen for.

The choice is made once per request, before the page is built, by the public page cache's
middleware (articles.caching, with articles.replica_reads deciding whether a replica has
replayed the latest publish), and held for that request in a context variable. With nothing
chosen, every query goes to the primary: admin, workflow, previews, editors' and logged-in
users' requests, the command line, tasks. Writes, migrations and anything inside a transaction
on the primary go to the primary whatever was chosen.

A replica that fails to connect or fails a query is left alone for
DATABASE_REPLICA_RETRY_SECONDS in this process (`mark_down`), so a replica that went away
costs one short connect timeout now and then, not one per query.
"""

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger("newsroom.replicas")

_reading_from: ContextVar[str | None] = ContextVar("newsroom_reading_from", default=None)
# Per process: replica alias -> time.monotonic() until which it is not tried. Health, not
# content: nothing readers see depends on it, only where it is read from (docs/caching.md).
_down_until: dict[str, float] = {}


def replicas() -> list[str]:
    """The replicas' aliases in DATABASES ("replica1", ... from DATABASE_REPLICA_URL), in order."""
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


def available_replicas() -> list[str]:
    """The replicas not marked down in this process."""
    now = time.monotonic()
    return [alias for alias in replicas() if _down_until.get(alias, 0.0) <= now]


def mark_down(alias: str, error: Exception) -> None:
    """Leave `alias` alone for DATABASE_REPLICA_RETRY_SECONDS: it did not answer, or failed."""
    first = _down_until.get(alias, 0.0) <= time.monotonic()
    _down_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    if first:
        logger.warning(
            "replica %s unavailable, reading from the primary for %s s: %s",
            alias,
            settings.DATABASE_REPLICA_RETRY_SECONDS,
            str(error).strip()[:300],
        )
    try:
        connections[alias].close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is dropped either way
        pass


@contextmanager
def reading_from(alias: str):
    """Send this request's reads to `alias` (a replica) while inside the block."""
    token = _reading_from.set(alias)
    try:
        yield
    finally:
        _reading_from.reset(token)


class ReplicaRouter:
    """Reads go where `reading_from` says, else to the primary; everything else to the primary."""

    def db_for_read(self, model, **hints):
        alias = _reading_from.get()
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replicas hold the primary's very rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS  # replicas get the schema by replication

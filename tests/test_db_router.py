"""The database router and the replica settings, without replicas (tests/test_replicas.py runs a
real primary and replica): reads go to a replica only when one was chosen for the request and
never inside a transaction; writes and migrations always go to the primary."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, transaction

from articles.caching import State
from articles.models import Publication
from articles.replica_reads import choose
from newsroom import db_router
from newsroom.db_router import ReplicaRouter, reading_from

ROOT = Path(__file__).resolve().parent.parent
router = ReplicaRouter()


def test_reads_go_to_the_primary_unless_a_replica_was_chosen():
    assert router.db_for_read(Publication) == "default"
    with reading_from("replica1"):
        assert router.db_for_read(Publication) == "replica1"
    assert router.db_for_read(Publication) == "default"


@pytest.mark.django_db
def test_reads_inside_a_transaction_go_to_the_primary():
    with reading_from("replica1"), transaction.atomic():
        assert router.db_for_read(Publication) == "default"


def test_writes_and_migrations_go_to_the_primary():
    with reading_from("replica1"):
        assert router.db_for_write(Publication) == "default"
    assert router.allow_migrate("default", "articles")
    assert not router.allow_migrate("replica1", "articles")


def test_a_replica_marked_down_is_left_alone_until_the_retry_time(settings, monkeypatch):
    monkeypatch.setattr(db_router, "replicas", lambda: ["replica1", "replica2"])
    settings.DATABASE_REPLICA_RETRY_SECONDS = 5
    monkeypatch.setattr(db_router, "_down_until", {})
    clock = [1000.0]
    monkeypatch.setattr(db_router.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(db_router, "connections", {"replica1": _Closable()})
    db_router.mark_down("replica1", OSError("connection refused"))
    assert db_router.available_replicas() == ["replica2"]
    clock[0] += 5
    assert db_router.available_replicas() == ["replica1", "replica2"]


class _Closable:
    def close(self):
        pass


def _settings_with(**env) -> str:
    """The replica part of the settings newsroom.settings makes from `env`, or its error."""
    code = (
        "import json, newsroom.settings as s; "
        "print(json.dumps({a: {k: d.get(k) for k in ('HOST', 'PORT', 'NAME', 'OPTIONS', 'TEST')} "
        "for a, d in s.DATABASES.items() if a != 'default'} | {'routers': s.DATABASE_ROUTERS}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "SECRET_KEY": "x", "NEWSROOM_ENV_FILE": "", "DB_POOL": "0", **env},
        capture_output=True,
        text=True,
    )
    return done.stdout + done.stderr


def test_each_replica_url_adds_a_replica_with_a_short_connect_timeout():
    out = _settings_with(
        DATABASE_URL="postgres://app@db1:5432/news",
        DATABASE_REPLICA_URL="postgres://app@db2:5432/news, postgres://app@db3:5433/news",
    )
    found = json.loads(out)
    assert found["routers"] == ["newsroom.db_router.ReplicaRouter"]
    assert (found["replica1"]["HOST"], found["replica2"]["HOST"], found["replica2"]["PORT"]) == ("db2", "db3", 5433)
    assert found["replica1"]["OPTIONS"]["connect_timeout"] == 2
    assert found["replica1"]["TEST"] == {"MIRROR": "default"}
    assert found["replica2"]["OPTIONS"]["options"] == "-c statement_timeout=5000"  # 5 s by default


def test_the_replica_statement_timeout_is_set_and_keeps_options_from_the_url():
    out = _settings_with(
        DATABASE_URL="postgres://app@db1:5432/news",
        DATABASE_REPLICA_URL="postgres://app@db2:5432/news?options=-c%20search_path%3Dnews",
        DATABASE_REPLICA_STATEMENT_TIMEOUT="1.5",
    )
    assert json.loads(out)["replica1"]["OPTIONS"]["options"] == "-c search_path=news -c statement_timeout=1500"


def test_no_replica_url_means_no_router():
    assert '"routers": []' in _settings_with(DATABASE_URL="postgres://app@db1:5432/news")


def test_a_replica_of_sqlite_is_refused_with_a_clear_error():
    out = _settings_with(DATABASE_REPLICA_URL="postgres://app@db2:5432/news")  # DATABASE_URL: SQLite
    assert "ImproperlyConfigured: DATABASE_REPLICA_URL: replica 1" in out and "is not PostgreSQL" in out


# Where a page is built (articles.replica_reads.choose), with the databases' answers given: the
# real primary and replica are in tests/test_replicas.py.

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def databases(monkeypatch):
    """The generation each database has replayed; a database set to an exception fails with it."""
    from articles import replica_reads

    replayed = {"default": 7, "replica1": 7}
    asked, down = [], []

    def answer(using):
        asked.append(using)
        if isinstance(replayed[using], Exception):
            raise replayed[using]
        return replayed[using]

    monkeypatch.setattr(replica_reads, "available_replicas", lambda: [a for a in ["replica1"] if a not in down])
    monkeypatch.setattr(replica_reads, "generation", lambda using="default": answer(using))
    monkeypatch.setattr(
        replica_reads,
        "state",
        lambda now, using="default": State(answer(using), NOW + timedelta(hours=using == "default")),
    )
    monkeypatch.setattr(replica_reads, "mark_down", lambda alias, error: down.append(alias))
    return replayed, asked, down


def test_a_replica_that_has_the_generation_builds_the_page(databases):
    assert choose(NOW) == ("replica1", State(7, NOW + timedelta(hours=1)))  # kept under the primary's state
    assert choose(NOW, known=7) == ("replica1", State(7, NOW))  # the shared cache's value: all on the replica


def test_a_replica_behind_the_generation_leaves_the_page_to_the_primary(databases):
    replayed, asked, down = databases
    replayed["default"] = 8
    assert choose(NOW) == ("default", State(8, NOW + timedelta(hours=1)))
    assert choose(NOW, known=8) == ("default", State(8, NOW + timedelta(hours=1)))
    assert down == []


def test_the_current_generation_is_never_read_on_the_replica(databases):
    replayed, asked, _ = databases
    replayed["replica1"] = 6  # behind: were its own value taken as current, it would be chosen
    choose(NOW)
    assert asked == ["default", "replica1"]
    assert choose(NOW).alias == "default"


def test_a_replica_that_fails_is_marked_down_and_the_primary_builds(databases):
    replayed, asked, down = databases
    replayed["replica1"] = OperationalError("connection refused")
    assert choose(NOW) == ("default", State(7, NOW + timedelta(hours=1)))
    assert down == ["replica1"]
    asked.clear()
    assert choose(NOW, known=7).alias == "default" and asked == ["default"]  # not tried again meanwhile

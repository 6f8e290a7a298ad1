"""Which database builds an anonymous reader's public page: a read replica that has replayed the
publication generation the page must show, else the primary.

A replica replays the primary's commits in order, a little late. Every publish, unpublish and
delete moves the generation in its own transaction (articles.publications.generation_move), so
a replica whose generation row has the current value has replayed that publish and everything
before it: the generation row is the replay position that matters, and reading it is the
check (exact, unlike a WAL position, which moves with every write of any kind). A page is
built from a replica only when its generation is at least the current one, and is then kept
under the generation read on the database it was built from, never a newer one, so no process
caches or serves a page from a replica that has not replayed the latest publish.

The current generation comes from where a cache hit reads it, never from a replica: the shared
cache (Redis), which the publisher sets on commit, or else the primary. With the shared cache's
value at hand the whole miss runs on the replica (one query: its generation and next window
boundary, `caching.state`); without it, the primary gives the generation and boundary (the one
query a miss always ran) and the replica its generation. Window boundaries need no replication:
every public read compares them with the app server's clock (`timezone.now()` as a parameter),
whichever database it runs on.

A replica that fails to connect or fails a query, here or while the page is built, is marked
down for a few seconds (newsroom.db_router.mark_down) and the page is built from the primary.
"""

import random
from datetime import datetime
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

from articles.caching import State, generation, state
from newsroom.db_router import available_replicas, mark_down, reading_from

FAILURES = (OperationalError, InterfaceError)


class Source(NamedTuple):
    """Where a page is built from, and the State (generation, valid until) it is kept under."""

    alias: str
    state: State


def choose(now: datetime, known: int | None = None) -> Source:
    """The database to build a page from at `now`; `known`: the current generation as the shared
    cache holds it, if it does (else it is read from the primary)."""
    candidates = available_replicas()
    if not candidates:
        return Source(DEFAULT_DB_ALIAS, state(now))
    alias = random.choice(candidates)
    if known is None:
        truth = state(now)
        try:
            replayed = generation(using=alias)
        except FAILURES as error:
            mark_down(alias, error)
            return Source(DEFAULT_DB_ALIAS, truth)
        return Source(alias if replayed >= truth.generation else DEFAULT_DB_ALIAS, truth)
    try:
        there = state(now, using=alias)
    except FAILURES as error:
        mark_down(alias, error)
        return Source(DEFAULT_DB_ALIAS, state(now))
    if there.generation < known:  # behind the latest publish: the primary builds this one
        return Source(DEFAULT_DB_ALIAS, state(now))
    return Source(alias, there)


def build(request, get_response, now: datetime, known: int | None = None):
    """(the response, the State to keep it under): the page built by `get_response` from the
    database `choose` picks; again from the primary if the replica fails meanwhile."""
    source = choose(now, known)
    if source.alias == DEFAULT_DB_ALIAS:
        return get_response(request), source.state
    failures = []

    def watch(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except FAILURES as error:
            failures.append(error)
            raise

    with reading_from(source.alias), connections[source.alias].execute_wrapper(watch):
        response = get_response(request)
    if not failures:
        return response, source.state
    # The replica went away while the page was built (the error became a 500 on the way out):
    # a reader's GET writes nothing, so building it again from the primary is safe.
    mark_down(source.alias, failures[0])
    primary = state(now)
    return get_response(request), primary

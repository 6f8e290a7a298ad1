"""Shared fixtures: media in a temporary folder, the shared material when present."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with empty caches (pages, generation, schedule; rendered cards, whose
    revision ids a rolled-back test database hands out again)."""
    from django.conf import settings
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()
    yield
    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def shared_file():
    """Return a path inside ../shared, skipping the test when the project was cloned alone."""

    def get(relative: str) -> Path:
        path = SHARED / relative
        if not path.is_file():
            pytest.skip(f"../shared/{relative} is not present (project cloned alone)")
        return path

    return get


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Put the migrated data (the roles) back after a transactional test has flushed it.

    Run alone, pytest-django orders such tests last, so nothing reads the emptied database
    after them; in `make test`'s two processes another file's tests may follow in the same
    process, and they need the database as migrated.
    """
    yield
    if nextitem is None:  # the last test: the test databases are already gone with the session
        return
    marker = item.get_closest_marker("django_db")
    if marker is None or not (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        for connection in connections.all(initialized_only=True):
            contents = getattr(connection, "_test_serialized_contents", None)
            if contents:
                connection.creation.deserialize_db_from_string(contents)

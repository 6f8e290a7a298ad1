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

"""sweep_pending_images: kept uploads go once no token can use them, and not before."""

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from articles.uploads import PENDING_FOLDER, PENDING_MAX_AGE


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return tmp_path


def kept() -> list[str]:
    try:
        return sorted(default_storage.listdir(PENDING_FOLDER)[1])
    except FileNotFoundError:
        return []


def sweep() -> str:
    out = StringIO()
    call_command("sweep_pending_images", stdout=out)
    return out.getvalue()


def test_nothing_kept_is_not_an_error(media):
    assert "Deleted 0 of 0" in sweep()


def kept_since(media, name: str, seconds_ago: int) -> None:
    """Keep an upload as if saved `seconds_ago` (its file's modification time set back)."""
    default_storage.save(f"{PENDING_FOLDER}/{name}", ContentFile(name.encode()))
    moment = time.time() - seconds_ago
    os.utime(media / PENDING_FOLDER / name, (moment, moment))


def test_uploads_a_token_may_still_use_are_kept_and_older_ones_deleted(media):
    kept_since(media, "expired.jpg", PENDING_MAX_AGE + 120)
    kept_since(media, "nearly.jpg", PENDING_MAX_AGE - 120)
    kept_since(media, "fresh.png", 5)
    assert "Deleted 1 of 3" in sweep()
    assert kept() == ["fresh.png", "nearly.jpg"]
    assert "Deleted 0 of 2" in sweep()  # a second run finds nothing more


def test_only_the_pending_folder_is_touched(media):
    story_image = default_storage.save("articles/2026/hero.jpg", ContentFile(b"hero"))
    default_storage.save(f"{PENDING_FOLDER}/left.jpg", ContentFile(b"left"))
    with time_machine.travel(timezone.now() + timedelta(hours=24), tick=False):
        assert "Deleted 1 of 1" in sweep()
    assert default_storage.exists(story_image)
    assert kept() == []

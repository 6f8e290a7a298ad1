"""Hero image objects in the media storage: what is still shown, and removing what is not.

Everything goes through the storage API (exists, listdir, delete, get_modified_time), never a
local path, so the same code runs on local files and on S3-compatible object storage.

The rule: an image (its original and every rendition) stays while a story's working copy uses
it or a publication that is live or scheduled shows it (its window has not closed). When the
last of them lets go (the image is cleared or replaced, the version showing it is unpublished
or replaced, the story is deleted), it is deleted once that change commits. A version that
only expires lets go with no write to hook: `manage.py prune_media` removes what such windows
left behind, and uploads kept for a retry that was never made.
"""

import re
from datetime import timedelta
from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from articles.images import rendition_name
from articles.uploads import PENDING_FOLDER, PENDING_MAX_AGE


def image_in_use(name: str) -> bool:
    """Whether a story's working copy uses the image, or a live or scheduled version shows it."""
    from articles.models import Article, Publication

    return (
        Article.objects.filter(image=name).exists()
        or Publication.objects.current_or_scheduled().filter(revision__data__image__name=name).exists()
    )


def image_objects(name: str) -> list[str]:
    """The stored objects of an image: the original, then its renditions (found by listing
    their folder, so widths made for any version are found)."""
    folder = PurePosixPath(rendition_name(name, 0, "x")).parent
    made = re.compile(rf"{re.escape(PurePosixPath(name).stem)}-\d+w\.(webp|jpg)")
    try:
        _, files = default_storage.listdir(str(folder))
    except FileNotFoundError:  # local storage without the folder (S3 lists nothing instead)
        files = []
    return [name, *(f"{folder}/{file}" for file in sorted(files) if made.fullmatch(file))]


def release_image(name: str, *, dry_run: bool = False) -> list[str]:
    """Delete an image's objects unless it is still in use; returns what was (or would be) deleted."""
    if not name or name.startswith(f"{PENDING_FOLDER}/") or image_in_use(name):
        return []
    objects = image_objects(name)
    if not dry_run:
        from articles.models import ImageRenditions

        for stored in objects:
            default_storage.delete(stored)
        # The record of its renditions goes too: an approval must never offer what is gone.
        ImageRenditions.objects.filter(image=name).delete()
    return objects


def release_on_commit(*names: str | None) -> None:
    """Once the current transaction commits, delete the objects of images it let go of (each is
    checked again then: another story, or another version, may still show it). A storage error
    is logged, not raised: the change has committed, and `prune_media` deletes what is left."""
    for name in dict.fromkeys(n for n in names if n):
        transaction.on_commit(lambda name=name: release_image(name), robust=True)


def shown_images(publications) -> list[str]:
    """The image names that these publications show."""
    return [name for name in publications.values_list("revision__data__image__name", flat=True) if name]


def story_deleted(sender, instance, **kwargs) -> None:
    """A pre_delete receiver for Article (ArticlesConfig.ready()): however a story is deleted,
    its image and the images its versions showed go once the delete commits."""
    release_on_commit(instance.image.name, *shown_images(instance.publications.all()))


def prune(*, grace: timedelta = timedelta(hours=1), dry_run: bool = False) -> list[str]:
    """Delete what nothing uses any more: images (with their renditions) no working copy or open
    window holds, renditions whose original is gone, and uploads kept for a retry longer than a
    retry may take. Objects newer than `grace` stay (an upload is stored before its story's row
    commits). Returns the names deleted (or, with `dry_run`, that would be)."""
    from articles.models import Article, Publication

    now = timezone.now()
    # Read once what is in use, so that only the others are checked (again) one by one.
    used = set(Article.objects.exclude(image="").values_list("image", flat=True))
    used.update(shown_images(Publication.objects.current_or_scheduled()))
    released, kept = [], set()
    for name in list(_walk("articles")):
        old = name not in used and default_storage.get_modified_time(name) < now - grace
        objects = release_image(name, dry_run=dry_run) if old else []
        released += objects
        if not objects:
            kept.add(str(PurePosixPath(name).with_suffix("")))
    made, gone, leftovers = re.compile(r"renditions/(.+)-\d+w\.(webp|jpg)"), set(released), []
    for name in _walk("renditions"):
        match = made.fullmatch(name)
        orphan = match and match.group(1) not in kept and name not in gone
        if orphan and default_storage.get_modified_time(name) < now - grace:
            leftovers.append(name)
    for name in _walk(PENDING_FOLDER):
        if default_storage.get_modified_time(name) < now - timedelta(seconds=PENDING_MAX_AGE):
            leftovers.append(name)
    for name in leftovers if not dry_run else ():
        default_storage.delete(name)
    return released + leftovers


def _walk(folder: str):
    """Every stored name under a folder."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for file in files:
        yield f"{folder}/{file}"
    for sub in folders:
        yield from _walk(f"{folder}/{sub}")

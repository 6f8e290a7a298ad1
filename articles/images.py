"""Hero image renditions: several widths in WebP and JPEG, made once, upright and without
metadata, so readers never wait for them.

A task makes them as soon as a story with the image is saved (`renditions_request`, from
articles.workflow.article_saved) and records them in ImageRenditions; approval takes them
from there (`snapshot_renditions`) and is refused while they are not all made. With the
immediate task backend (`make run`) the task runs at once, and approval makes any that are
missing itself, as it always did.
"""

import io
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.tasks import TaskResultStatus, task
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from articles.models import ImageRenditions
from articles.tasks import runs_at_once
from articles.uploads import NOT_ACCEPTED, open_image

WIDTHS = (480, 960, 1600)
FORMATS = {"webp": ("WEBP", "image/webp"), "jpg": ("JPEG", "image/jpeg")}


def rendition_name(original: str, width: int, ext: str) -> str:
    path = PurePosixPath(original)
    return str(PurePosixPath("renditions") / path.parent / f"{path.stem}-{width}w.{ext}")


def make_renditions(original: str) -> list[dict]:
    """Write (once) and describe the renditions of an uploaded image.

    Widths larger than the original are skipped; the original's own width is always offered.
    Returns [{"width", "height", "format", "name"}], smallest first, WebP before JPEG.
    """
    with default_storage.open(original, "rb") as handle:
        try:
            # Only the accepted formats' decoders: whatever is in storage, Ghostscript never runs.
            opened = open_image(handle)
        except UnidentifiedImageError:
            raise UnidentifiedImageError(f"{original}: {NOT_ACCEPTED}") from None
        image = ImageOps.exif_transpose(opened)  # apply the camera's orientation
        image.load()
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    widths = sorted({w for w in WIDTHS if w < image.width} | {min(image.width, WIDTHS[-1])})
    renditions = []
    for width in widths:
        height = round(image.height * width / image.width)
        resized = None
        for ext, (pil_format, mime) in FORMATS.items():
            name = rendition_name(original, width, ext)
            if not default_storage.exists(name):
                resized = resized or image.resize((width, height), Image.Resampling.LANCZOS)
                buffer = io.BytesIO()
                # No exif= or icc_profile= given: the rendition carries no metadata.
                resized.save(buffer, format=pil_format, quality=82, optimize=True)
                default_storage.save(name, ContentFile(buffer.getvalue()))
            renditions.append({"width": width, "height": height, "format": mime, "name": name})
    return renditions


class ImageUnreadable(Exception):
    """The hero image file is missing or not an image."""


class RenditionsNotReady(Exception):
    """A version's hero image has no recorded renditions yet; `error` is why the last attempt
    to make them failed ("" while they are simply not made yet)."""

    def __init__(self, image: str, error: str = ""):
        self.image, self.error = image, error
        super().__init__(f"{image}: {error or 'renditions not made yet'}")


def renditions_make(name: str) -> list[dict]:
    """Make (once) and record the renditions of a stored image; returns them. A failure is
    recorded as the image's error (shown when approval is refused) and raised."""
    try:
        renditions = make_renditions(name)
    except Exception as error:
        ImageRenditions.objects.filter(image=name, renditions__isnull=True).update(
            error=f"{type(error).__name__}: {error}"[:1000]
        )
        raise
    ImageRenditions.objects.update_or_create(
        image=name, defaults={"renditions": renditions, "error": "", "made_at": timezone.now()}
    )
    return renditions


@task
def make_image_renditions(name: str) -> int:
    """The task: make and record a stored hero image's renditions; returns how many files."""
    return len(renditions_make(name))


def renditions_request(name: str) -> None:
    """Ask for an image's renditions, unless they are made or a task for them is still
    queued or running: a first request, or a new one after the last task gave up."""
    record, created = ImageRenditions.objects.get_or_create(image=name)
    if record.renditions is not None or (not created and _still_queued(record.task_id)):
        return
    result = make_image_renditions.enqueue(name)
    ImageRenditions.objects.filter(pk=record.pk).update(task_id=result.id, requested_at=timezone.now())


def _still_queued(task_id: str) -> bool:
    if not task_id or not make_image_renditions.get_backend().supports_get_result:
        return False
    try:
        result = make_image_renditions.get_result(task_id)
    except TaskResultDoesNotExist:  # pruned, or from another backend
        return False
    return result.status in (TaskResultStatus.READY, TaskResultStatus.RUNNING)


def _recorded(name: str) -> dict | None:
    """What the record of an image says: its renditions (None until made) and the last error."""
    return ImageRenditions.objects.filter(image=name).values("renditions", "error").first()


def renditions_pending(name: str) -> str:
    """For the change page of a story in review: why approval would wait for the hero image's
    renditions ("" when there is no image, they are made, or tasks run at once and would
    make them during approval)."""
    if not name or runs_at_once(make_image_renditions):
        return ""
    record = _recorded(name)
    if record and record["renditions"] is not None:
        return ""
    if record and record["error"]:
        return f"they could not be made ({record['error']}); they are being tried again."
    return "they are still being made by the task worker; approval waits for them."


def snapshot_renditions(data: dict) -> list[dict]:
    """The renditions of a snapshot's hero image (none without one), for its publication.

    Taken from the record the task wrote. Where tasks run at once (the immediate backend)
    any that are missing are made here; otherwise RenditionsNotReady, and ImageUnreadable
    when the image cannot be read."""
    if not data.get("image"):
        return []
    name = data["image"]["name"]
    record = _recorded(name)
    if record and record["renditions"] is not None:
        return record["renditions"]
    if not runs_at_once(make_image_renditions):
        raise RenditionsNotReady(name, record["error"] if record else "")
    try:
        return renditions_make(name)
    except (OSError, ValueError) as error:
        raise ImageUnreadable(str(error)) from error

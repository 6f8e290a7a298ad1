"""Hero image renditions: several widths in WebP and JPEG, made once, upright and without
metadata. Made when a story is approved, so readers never wait for them."""

import io
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

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


def snapshot_renditions(data: dict) -> list[dict]:
    """The renditions of a snapshot's hero image (none without one), made if missing."""
    if not data.get("image"):
        return []
    try:
        return make_renditions(data["image"]["name"])
    except (OSError, ValueError) as error:
        raise ImageUnreadable(str(error)) from error

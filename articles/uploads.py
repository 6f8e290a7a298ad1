"""Hero image uploads: only real raster images, within size and pixel limits, stored under
a name we choose, upright and without metadata."""

import io
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format -> (extension, content type) for the formats we accept.
ACCEPTED = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"),
            "GIF": ("gif", "image/gif")}
EXTENSIONS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}


def clean_hero_image(upload) -> SimpleUploadedFile:
    """Check an uploaded image and return a clean copy to store, or raise ValidationError."""
    name = getattr(upload, "name", "") or ""
    if upload.size > settings.NEWSROOM_MAX_IMAGE_BYTES:
        raise ValidationError(
            f"The image is {upload.size / 1_048_576:.1f} MB; the limit is "
            f"{settings.NEWSROOM_MAX_IMAGE_BYTES / 1_048_576:.0f} MB.", code="too_large")
    upload.seek(0)
    data = upload.read()
    if data.lstrip()[:5].lower() in (b"<?xml", b"<svg ") or b"<svg" in data[:1024].lower():
        raise ValidationError("SVG images are not accepted: upload a JPEG, PNG, WebP or GIF.", code="svg")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind, (width, height) = probe.format, probe.size
            if width * height > settings.NEWSROOM_MAX_IMAGE_PIXELS:
                raise ValidationError(
                    f"The image is {width}×{height} pixels; the limit is "
                    f"{settings.NEWSROOM_MAX_IMAGE_PIXELS / 1e6:.0f} megapixels.", code="too_many_pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError(f"This file is not an image we can read ({type(error).__name__}).",
                              code="not_an_image") from None
    if kind not in ACCEPTED:
        raise ValidationError(f"{kind} images are not accepted: upload a JPEG, PNG, WebP or GIF.", code="format")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if EXTENSIONS.get(extension) != kind:
        raise ValidationError(
            f"The file is named .{extension or '(none)'} but is a {kind} image; rename it or export it again.",
            code="lying_extension")
    ext, content_type = ACCEPTED[kind]
    return SimpleUploadedFile(f"{uuid.uuid4().hex}.{ext}", _reencode(upright, kind), content_type=content_type)


def _reencode(image: Image.Image, kind: str) -> bytes:
    """Save again without EXIF, XMP or ICC data (the orientation is already applied)."""
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    options = {"quality": 90} if kind in ("JPEG", "WEBP") else {}
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()

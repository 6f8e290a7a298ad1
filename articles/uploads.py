"""Hero image uploads: only real raster images, within size and pixel limits, stored under
a name we choose, upright and without metadata."""

import io
import uuid

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.tasks import task
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format -> (extension, content type) for the formats we accept.
ACCEPTED = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
EXTENSIONS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
NOT_ACCEPTED = "This file is not a JPEG, PNG, WebP or GIF image."
DAMAGED = "This file is damaged or not a complete image."
# Only these decoders ever see an upload: Pillow otherwise identifies dozens of formats,
# some of which hand the file to other programs (EPS to Ghostscript).
OPEN_FORMATS = tuple(ACCEPTED)
# How each accepted format's files begin: a file that starts like one but will not open
# is a damaged image, not an unknown format.
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


class HeroImageField(forms.FileField):
    """The hero image's form field: a plain file field, because Django's ImageField opens every
    upload with all of Pillow's formats first; `clean_hero_image` opens it with ours only."""

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "accept": ",".join(ct for _, ct in ACCEPTED.values())}


def open_image(fp) -> Image.Image:
    """Open an image with the accepted formats' decoders only (reads the header, decodes nothing)."""
    return Image.open(fp, formats=OPEN_FORMATS)


def clean_hero_image(upload) -> SimpleUploadedFile:
    """Check an uploaded image and return a clean copy to store, or raise ValidationError."""
    name = getattr(upload, "name", "") or ""
    if upload.size > settings.NEWSROOM_MAX_IMAGE_BYTES:
        raise ValidationError(
            f"The image is {upload.size / 1_048_576:.1f} MB; the limit is "
            f"{settings.NEWSROOM_MAX_IMAGE_BYTES / 1_048_576:.0f} MB.",
            code="too_large",
        )
    upload.seek(0)
    data = upload.read()
    if data.lstrip()[:5].lower() in (b"<?xml", b"<svg ") or b"<svg" in data[:1024].lower():
        raise ValidationError("SVG images are not accepted: upload a JPEG, PNG, WebP or GIF.", code="svg")
    too_many_pixels = f"the limit is {settings.NEWSROOM_MAX_IMAGE_PIXELS / 1e6:.0f} megapixels."
    try:
        with open_image(io.BytesIO(data)) as probe:
            kind, (width, height) = probe.format, probe.size
            if width * height > settings.NEWSROOM_MAX_IMAGE_PIXELS:
                raise ValidationError(
                    f"The image is {width}×{height} pixels; {too_many_pixels}", code="too_many_pixels"
                )
            probe.verify()
        with open_image(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        # Pillow's own ceiling, far above ours: refused while reading the header.
        raise ValidationError(f"The image has far too many pixels; {too_many_pixels}", code="too_many_pixels") from None
    except UnidentifiedImageError:
        if _looks_like_accepted(data):
            raise ValidationError(DAMAGED, code="damaged") from None
        raise ValidationError(NOT_ACCEPTED, code="format") from None
    except (OSError, SyntaxError, ValueError):
        # Raised by verify() and load() on a truncated or corrupt file.
        raise ValidationError(DAMAGED, code="damaged") from None
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if EXTENSIONS.get(extension) != kind:
        raise ValidationError(
            f"The file is named .{extension or '(none)'} but is a {kind} image; rename it or export it again.",
            code="lying_extension",
        )
    ext, content_type = ACCEPTED[kind]
    return SimpleUploadedFile(f"{uuid.uuid4().hex}.{ext}", _reencode(upright, kind), content_type=content_type)


def _looks_like_accepted(data: bytes) -> bool:
    """Whether the file begins as a JPEG, PNG, GIF or WebP does."""
    return data.startswith(SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _reencode(image: Image.Image, kind: str) -> bytes:
    """Save again without EXIF, XMP or ICC data (the orientation is already applied)."""
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    options = {"quality": 90} if kind in ("JPEG", "WEBP") else {}
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


# An upload that passed its checks while the rest of the story form was refused is kept
# in the media storage under a name we chose, and the form carries a signed token naming
# it (and the person who uploaded it) so that the next try saves it without a new upload.
PENDING_FOLDER = "pending-images"
PENDING_SALT = "articles.uploads.pending-hero-image"
PENDING_MAX_AGE = 6 * 60 * 60
PENDING_REFUSED = "The image kept from your last try could not be used ({}); choose the file again."


def keep_pending(image, user) -> tuple[str, str]:
    """Store a checked upload for the next try; return (signed token, url to show it)."""
    image.seek(0)
    name = default_storage.save(f"{PENDING_FOLDER}/{uuid.uuid4().hex}.{image.name.rsplit('.', 1)[-1]}", image)
    token = signing.dumps({"name": name, "user": user.pk}, salt=PENDING_SALT, compress=True)
    return token, default_storage.url(name)


def take_pending(token: str, user) -> tuple[SimpleUploadedFile, str]:
    """The upload a token names, checked again, and its stored name; ValidationError when the
    token is forged, expired, another person's, or its file is gone."""
    try:
        data = signing.loads(token, salt=PENDING_SALT, max_age=PENDING_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(PENDING_REFUSED.format("it was kept too long"), code="pending_expired") from None
    except signing.BadSignature:
        raise ValidationError(PENDING_REFUSED.format("its token is not valid"), code="pending_forged") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name.startswith(f"{PENDING_FOLDER}/") or ".." in name:
        raise ValidationError(PENDING_REFUSED.format("its token is not valid"), code="pending_forged")
    if data.get("user") != getattr(user, "pk", None):
        raise ValidationError(PENDING_REFUSED.format("it was uploaded by someone else"), code="pending_other_user")
    if not default_storage.exists(name):
        raise ValidationError(PENDING_REFUSED.format("it is no longer kept"), code="pending_gone")
    with default_storage.open(name, "rb") as stored:
        content = stored.read()
    return clean_hero_image(SimpleUploadedFile(name.rsplit("/", 1)[-1], content)), name


def pending_url(name: str) -> str:
    return default_storage.url(name)


@task
def discard_pending(name: str) -> None:
    """Remove a kept upload once the story that used it is saved (a task: no one waits for it)."""
    if name.startswith(f"{PENDING_FOLDER}/"):
        default_storage.delete(name)

"""Hero image uploads: only JPEG, PNG, WebP and GIF are ever opened, so no other decoder (and
never Ghostscript) sees an editor's file; damaged files get a plain sentence on the field."""

import io
import os
import random
import re
import stat
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import EpsImagePlugin, Image, ImageFile

from articles import images
from articles.images import make_renditions
from articles.uploads import clean_hero_image
from tests.factories import make_article, make_source, make_user
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db

DAMAGED = "This file is damaged or not a complete image."
NOT_ACCEPTED = "not a JPEG, PNG, WebP or GIF image"

# A complete, valid EPS file: Pillow's EpsImagePlugin identifies it by the header and would
# hand the body to Ghostscript to draw it.
EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
    b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"
)


def picture(fmt="JPEG", size=(64, 48), **save) -> bytes:
    """A real image full of detail, so that half of its bytes is half of its pixels."""
    noise = random.Random(13).randbytes(size[0] * size[1] * 3)
    image = Image.frombytes("RGB", size, noise)
    if fmt == "GIF":
        image = image.convert("P")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def psd(size=(8, 6)) -> bytes:
    """A minimal Photoshop file (Pillow reads PSD but cannot write it)."""
    width, height = size
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)  # colour mode data, image resources, layers: all empty
    return header + sections + struct.pack(">H", 0) + bytes(width * height * 3)


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size over a few bytes of data: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def refusal(upload: SimpleUploadedFile) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        clean_hero_image(upload)
    return caught.value


@pytest.fixture
def ghostscript_marker(tmp_path, monkeypatch):
    """Put a fake `gs` first on PATH that leaves a marker file when run; return the marker."""
    bin_dir, marker = tmp_path / "bin", tmp_path / "gs-ran"
    bin_dir.mkdir()
    gs = bin_dir / "gs"
    gs.write_text(f'#!/bin/sh\necho "$@" >> "{marker}"\nexit 1\n')
    gs.chmod(gs.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '')}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # forget any earlier look-up
    return marker


@pytest.fixture
def decoded(monkeypatch):
    """The formats whose pixels Pillow decodes during the test, in order."""
    formats = []
    original = ImageFile.ImageFile.load

    def spying_load(self):
        formats.append(self.format)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spying_load)
    return formats


@pytest.fixture
def editor_client(client):
    client.force_login(make_user("Editors"))
    return client


def image_row(page: str) -> str:
    """The admin's row for the image field, where its errors are shown."""
    match = re.search(r'<div class="form-row[^"]*field-image">(.*?)<div class="form-row', page, re.S)
    assert match, "no image row on the page"
    return match.group(1)


def post_to_change_form(client, upload, **typed):
    article = make_article(published=False)
    url = f"/admin/articles/article/{article.pk}/change/"
    data = form_fields(client.get(url).content.decode(), "article_form")
    data.update(image_alt="A harbour at dusk", **typed)
    data["image"] = upload
    return client.post(url, data), article


def post_to_add_form(client, upload, **typed):
    data = form_fields(client.get("/admin/articles/article/add/").content.decode(), "article_form")
    data.update(
        slug="typed-story",
        source=str(make_source().pk),
        original_url="https://wire.example/typed",
        image_alt="A harbour at dusk",
        **typed,
    )
    data["image"] = upload
    return client.post("/admin/articles/article/add/", data)


TYPED = {"title": "Typed Harbour Headline", "lede": "A lede the editor typed with care."}


def assert_refused_on_the_image_field(response, message=""):
    assert response.status_code == 200
    page = response.content.decode()
    row = image_row(page)
    assert 'class="errorlist"' in row and message in row, row
    assert "Error" not in re.sub(r"<[^>]+>", "", row)  # no exception names such as OSError
    for value in TYPED.values():
        assert value in page


# Ghostscript never runs


@pytest.mark.parametrize("name", ["x.eps", "x.jpg"])
def test_eps_upload_is_refused_without_running_ghostscript(ghostscript_marker, name):
    error = refusal(SimpleUploadedFile(name, EPS))
    assert NOT_ACCEPTED in error.messages[0] and error.code == "format"
    assert not ghostscript_marker.exists(), f"gs ran: {ghostscript_marker.read_text()}"


@pytest.mark.parametrize("name", ["x.eps", "x.jpg"])
def test_eps_upload_on_the_change_form_is_refused_next_to_the_image_field(editor_client, ghostscript_marker, name):
    response, article = post_to_change_form(editor_client, SimpleUploadedFile(name, EPS), **TYPED)
    assert_refused_on_the_image_field(response, NOT_ACCEPTED)
    assert not ghostscript_marker.exists()
    article.refresh_from_db()
    assert not article.image and article.title != TYPED["title"]


def test_eps_upload_on_the_add_form_is_refused_next_to_the_image_field(editor_client, ghostscript_marker):
    response = post_to_add_form(editor_client, SimpleUploadedFile("x.jpg", EPS), **TYPED)
    assert_refused_on_the_image_field(response, NOT_ACCEPTED)
    assert 'value="typed-story"' in response.content.decode()
    assert not ghostscript_marker.exists()


def test_renditions_never_open_an_eps_file_in_storage(ghostscript_marker):
    name = default_storage.save("hero/planted.jpg", ContentFile(EPS))
    with pytest.raises(OSError, match=NOT_ACCEPTED):
        make_renditions(name)
    assert not ghostscript_marker.exists()


def test_a_story_whose_stored_image_is_eps_cannot_go_live_but_gets_a_message(ghostscript_marker):
    name = default_storage.save("hero/planted.jpg", ContentFile(EPS))
    with pytest.raises(images.ImageUnreadable, match=NOT_ACCEPTED):
        images.snapshot_renditions({"image": {"name": name}})
    assert not ghostscript_marker.exists()


# Other formats are refused before any decoding


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("scan.tif", lambda: picture("TIFF")),
        ("paint.bmp", lambda: picture("BMP")),
        ("favicon.ico", lambda: picture("ICO", size=(32, 32))),
        ("layers.psd", psd),
        ("scan.jpg", lambda: picture("TIFF")),
    ],
    ids=["tiff", "bmp", "ico", "psd", "tiff-named-jpg"],
)
def test_other_formats_are_refused_before_any_decoding(decoded, name, make):
    error = refusal(SimpleUploadedFile(name, make()))
    assert decoded == []
    assert NOT_ACCEPTED in error.messages[0] and error.code == "format"


def test_renditions_refuse_a_stored_tiff_without_decoding_it(decoded):
    name = default_storage.save("hero/planted.jpg", ContentFile(picture("TIFF")))
    with pytest.raises(OSError, match=NOT_ACCEPTED):
        make_renditions(name)
    assert decoded == []


# Damaged files: a plain sentence, never OSError


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("half.jpg", picture("JPEG")[: len(picture("JPEG")) // 2]),
        ("half.png", picture("PNG")[: len(picture("PNG")) // 2]),
        ("half.webp", picture("WEBP")[: len(picture("WEBP")) // 2]),
        ("half.gif", picture("GIF")[: len(picture("GIF")) // 2]),
        ("garbage.png", b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(2000)),
        ("garbage.jpg", b"\xff\xd8\xff\xe0" + random.Random(7).randbytes(2000)),
    ],
    ids=[
        "truncated-jpeg",
        "truncated-png",
        "truncated-webp",
        "truncated-gif",
        "png-header-garbage",
        "jpeg-header-garbage",
    ],
)
def test_damaged_image_is_refused_with_a_plain_sentence(name, content):
    error = refusal(SimpleUploadedFile(name, content))
    assert error.messages == [DAMAGED] and error.code == "damaged"


def test_truncated_jpeg_on_the_change_form_is_refused_next_to_the_image_field(editor_client):
    half = picture("JPEG")[: len(picture("JPEG")) // 2]
    response, article = post_to_change_form(editor_client, SimpleUploadedFile("half.jpg", half), **TYPED)
    assert_refused_on_the_image_field(response, DAMAGED)
    article.refresh_from_db()
    assert not article.image and article.title != TYPED["title"]


def test_truncated_jpeg_on_the_add_form_is_refused_next_to_the_image_field(editor_client):
    half = picture("JPEG")[: len(picture("JPEG")) // 2]
    response = post_to_add_form(editor_client, SimpleUploadedFile("half.jpg", half), **TYPED)
    assert_refused_on_the_image_field(response, DAMAGED)


@pytest.mark.parametrize(
    "content",
    [picture("PNG")[: len(picture("PNG")) // 2], b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(2000)],
    ids=["truncated-png", "png-header-garbage"],
)
def test_damaged_png_on_the_change_form_is_refused_next_to_the_image_field(editor_client, content):
    response, _ = post_to_change_form(editor_client, SimpleUploadedFile("broken.png", content), **TYPED)
    assert_refused_on_the_image_field(response, DAMAGED)


def test_the_admin_form_opens_uploads_with_the_accepted_decoders_only(editor_client, monkeypatch):
    # Django's own ImageField would open the upload with every format Pillow knows (reading a
    # TIFF's header here) before our check; the form's field leaves the opening to us.
    opened = []
    real_open = Image.open

    def spying_open(fp, mode="r", formats=None):
        opened.append(formats)
        return real_open(fp, mode, formats)

    monkeypatch.setattr(Image, "open", spying_open)
    response, _ = post_to_change_form(editor_client, SimpleUploadedFile("x.jpg", picture("TIFF")), **TYPED)
    assert_refused_on_the_image_field(response, NOT_ACCEPTED)
    assert opened and all(formats is not None and set(formats) <= {"JPEG", "PNG", "WEBP", "GIF"} for formats in opened)


# Pixel bombs


def test_bomb_beyond_pillows_own_limit_gets_a_plain_error():
    error = refusal(SimpleUploadedFile("bomb.png", png_header_claiming(20_000, 20_000)))
    assert "megapixels" in error.messages[0] and "Error" not in error.messages[0]
    assert error.code == "too_many_pixels"


def test_image_over_our_pixel_limit_is_refused_before_decoding(decoded, settings):
    settings.NEWSROOM_MAX_IMAGE_PIXELS = 1000
    error = refusal(SimpleUploadedFile("wide.png", picture("PNG")))
    assert error.code == "too_many_pixels" and "64×48 pixels" in error.messages[0]
    assert decoded == []


# What still works


@pytest.mark.parametrize(
    ("fmt", "name", "ext", "content_type"),
    [
        ("JPEG", "photo.jpeg", "jpg", "image/jpeg"),
        ("PNG", "chart.png", "png", "image/png"),
        ("WEBP", "photo.webp", "webp", "image/webp"),
        ("GIF", "map.gif", "gif", "image/gif"),
    ],
)
def test_accepted_formats_are_kept_under_our_name(fmt, name, ext, content_type):
    clean = clean_hero_image(SimpleUploadedFile(name, picture(fmt)))
    assert clean.name.endswith(f".{ext}") and name.rsplit(".", 1)[0] not in clean.name
    assert clean.content_type == content_type
    with Image.open(io.BytesIO(clean.read())) as stored:
        assert stored.format == fmt and stored.size == (64, 48)


def test_camera_orientation_is_applied_and_metadata_dropped():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x0112] = 6  # rotated 90°: the stored copy must be upright
    clean = clean_hero_image(SimpleUploadedFile("camera.jpg", picture("JPEG", size=(80, 40), exif=exif)))
    with Image.open(io.BytesIO(clean.read())) as stored:
        assert stored.size == (40, 80) and not stored.getexif()


def test_lying_extension_is_still_refused():
    error = refusal(SimpleUploadedFile("photo.jpg", picture("PNG")))
    assert error.code == "lying_extension" and "is a PNG image" in error.messages[0]


def test_svg_is_still_refused():
    error = refusal(SimpleUploadedFile("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'))
    assert error.code == "svg"

"""Hero images (articles/images.py): renditions made once, upright, without metadata, and
shown on the story page and in the API. Shared helpers: tests/readers_fixtures.py."""

import os
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from articles.models import Article
from tests.factories import make_article, publish
from tests.readers_fixtures import edit_working_copy, json_ld, published, tags_of

pytestmark = pytest.mark.django_db


def camera_jpeg(size=(400, 200), orientation=6) -> bytes:
    """A JPEG as a camera writes it: stored sideways, with an orientation tag and a maker.
    The left half is red, so that once upright (turned a quarter clockwise) the top is red."""
    image = Image.new("RGB", size, (0, 0, 128))
    image.paste((220, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    buffer = BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


@pytest.fixture
def pictured():
    article = make_article(title="Sideways Camera Story", published=False)
    article.image.save("camera.jpg", ContentFile(camera_jpeg()), save=False)
    article.image_alt, article.image_credit = "A red and blue test card", "Photo: Test Cam"
    article.save()
    return publish(article)


def renditions_of(article: Article) -> list[dict]:
    return published(article).renditions


def test_renditions_are_webp_and_jpeg_upright_and_without_metadata(pictured):
    with default_storage.open(pictured.image.name, "rb") as handle:
        assert Image.open(handle).getexif()[0x0112] == 6  # the upload itself is sideways, with EXIF
    renditions = renditions_of(pictured)
    assert {r["format"] for r in renditions} == {"image/webp", "image/jpeg"}
    for rendition in renditions:
        with default_storage.open(rendition["name"], "rb") as handle:
            image = Image.open(handle)
            image.load()
        assert image.get_format_mimetype() == rendition["format"]
        assert image.size == (rendition["width"], rendition["height"])
        assert image.height > image.width, f"{rendition['name']} is still sideways"
        top, bottom = (image.convert("RGB").getpixel((image.width // 2, image.height * y // 4)) for y in (1, 3))
        assert top[0] > 150 and bottom[2] > 80, f"{rendition['name']} was turned the wrong way"
        assert len(image.getexif()) == 0, f"{rendition['name']} kept EXIF {dict(image.getexif())}"
        assert "exif" not in image.info


def test_story_page_offers_a_picture_with_webp_and_a_sized_img(client, pictured):
    doc = tags_of(client.get(pictured.get_absolute_url()))
    assert doc.all("picture")
    webp = [attrs for attrs in doc.all("source") if attrs.get("type") == "image/webp"]
    assert len(webp) == 1
    for rendition in (r for r in renditions_of(pictured) if r["format"] == "image/webp"):
        assert f"{default_storage.url(rendition['name'])} {rendition['width']}w" in webp[0]["srcset"]
    hero = next(attrs for attrs in doc.all("img") if attrs.get("alt") == "A red and blue test card")
    largest_jpeg = [r for r in renditions_of(pictured) if r["format"] == "image/jpeg"][-1]
    assert hero["src"] == default_storage.url(largest_jpeg["name"])
    assert (int(hero["width"]), int(hero["height"])) == (largest_jpeg["width"], largest_jpeg["height"])
    assert int(hero["height"]) > int(hero["width"])
    jpegs = [
        f"http://testserver{default_storage.url(r['name'])}"
        for r in renditions_of(pictured)
        if r["format"] == "image/jpeg"
    ]
    assert json_ld(client.get(pictured.get_absolute_url()))["image"] == jpegs


def test_api_detail_lists_the_renditions(client, pictured):
    image = client.get(f"/api/articles/{pictured.slug}/").json()["image"]
    assert image["alt"] == "A red and blue test card" and image["credit"] == "Photo: Test Cam"
    assert {(r["format"], r["width"], r["height"]) for r in image["renditions"]} == {
        (r["format"], r["width"], r["height"]) for r in renditions_of(pictured)
    }
    assert all(r["url"].startswith("http://testserver/media/renditions/") for r in image["renditions"])


def test_api_image_is_the_upright_picture_without_metadata(client, pictured):
    image = client.get(f"/api/articles/{pictured.slug}/").json()["image"]
    assert image["height"] > image["width"]
    name = image["url"].removeprefix("http://testserver" + default_storage.url(""))
    with default_storage.open(name, "rb") as handle:
        assert len(Image.open(handle).getexif()) == 0


def rendition_files(media_root: Path) -> list[Path]:
    return sorted(path.relative_to(media_root) for path in (media_root / "renditions").rglob("*") if path.is_file())


def test_renditions_are_made_once(pictured, media_root):
    first = renditions_of(pictured)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
    for rendition in first:  # an old time stamp, so that any rewrite shows
        os.utime(default_storage.path(rendition["name"]), (long_ago, long_ago))
    stamps = {r["name"]: Path(default_storage.path(r["name"])).stat().st_mtime_ns for r in first}
    files_before = rendition_files(media_root)
    edit_working_copy(pictured, title="Sideways Camera Story, Updated")
    publish(pictured)
    second = renditions_of(pictured)
    assert published(pictured).revision.data["title"] == "Sideways Camera Story, Updated"
    assert second == first
    assert {name: Path(default_storage.path(name)).stat().st_mtime_ns for name in stamps} == stamps
    assert rendition_files(media_root) == files_before

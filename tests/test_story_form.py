"""The story form (issue 15, part 5): one-line inputs, the fixed Take, the source's credit on
the form, the hero image kept across a refused try (and the attacks on that), the error
summary, and "View on site" for live stories only."""

import io
import json
import re
import struct
import time
import zlib
from unittest import mock

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from articles import uploads
from articles.models import Article, Take
from tests.factories import make_article, make_source, make_user
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = make_user("Editors")
    client.force_login(user)
    return user


def change_url(article):
    return f"/admin/articles/article/{article.pk}/change/"


def load(client, article) -> tuple[str, dict]:
    response = client.get(change_url(article))
    assert response.status_code == 200
    page = response.content.decode()
    return page, form_fields(page, "article_form")


def jpeg(size=(320, 180)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 150)).save(buffer, format="JPEG")
    return buffer.getvalue()


def upload(content: bytes, name="hero.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def post(client, article, data, **files):
    return client.post(change_url(article), {**data, **files})


def field_errors(page: str, field: str) -> str:
    """The text of the form row of one field of the main form (where its errors are shown)."""
    match = re.search(rf'<div class="form-row[^"]*field-{field}[^"]*">(.*?)</fieldset>', page, re.S)
    assert match, f"no row for {field}"
    return match.group(1)


def summary(page: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert match, "no error summary at the top"
    return match.group(0)


def pending_files() -> list[str]:
    try:
        return default_storage.listdir(uploads.PENDING_FOLDER)[1]
    except FileNotFoundError:
        return []


# One-line inputs, hidden positions, paragraphs where paragraphs go.


def test_key_facts_and_points_are_one_line_inputs_and_positions_are_hidden(client, editor):
    article = make_article(published=False, created_by=editor)
    page, _ = load(client, article)
    for name in ("key_facts-0-label", "key_facts-0-text", "sections-0-points-0-label", "sections-0-points-0-text"):
        assert re.search(rf'<input type="text" name="{name}"', page), name
        assert f'<textarea name="{name}"' not in page
    assert re.search(r'<input type="text" name="take-0-points-0-text"', page)
    positions = ("key_facts-0", "sections-0", "sections-0-points-0", "take-0-points-0")
    for name in (f"{prefix}-position" for prefix in positions):
        assert re.search(rf'<input type="hidden" name="{name}"', page), name
    assert re.search(r'<textarea name="lede"[^>]*data-words', page)
    assert re.search(r'<textarea name="sections-0-body"[^>]*data-words', page)


# The Take: one block, its kinds with their emoji, and when a Take exists.


def test_take_is_one_block_with_emoji_kinds_and_no_delete(client, editor):
    article = make_article(published=False, created_by=editor)
    page, data = load(client, article)
    for option in ("🔥 Why This Matters", "⚠️ Limitations &amp; Risks", "💡 Actionable Advice"):
        assert option in page
    assert "take-0-DELETE" not in data
    assert data["take-MAX_NUM_FORMS"] == "1"


def test_a_blank_take_saves_nothing(client, editor):
    article = make_article(published=False, created_by=editor)
    article.take.delete()
    _, data = load(client, article)
    # The blank block as the page's script adds it: the default title, no points.
    data.update({"take-TOTAL_FORMS": "1", "take-0-id": "", "take-0-article": str(article.pk)})
    data.update({"take-0-title": "The Newsroom's Take", "take-0-points-TOTAL_FORMS": "0"})
    data.update({"take-0-points-INITIAL_FORMS": "0"})
    response = post(client, article, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Take.objects.filter(article=article).exists()


def test_a_take_title_without_points_is_refused_and_kept(client, editor):
    article = make_article(published=False, created_by=editor)
    article.take.delete()
    _, data = load(client, article)
    data.update({"take-TOTAL_FORMS": "1", "take-0-id": "", "take-0-article": str(article.pk)})
    data.update({"take-0-title": "Our Take on the Harbour", "take-0-points-TOTAL_FORMS": "0"})
    data.update({"take-0-points-INITIAL_FORMS": "0"})
    response = post(client, article, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The take has a title but no points" in page
    assert "Our Take on the Harbour" in page
    assert not Take.objects.filter(article=article).exists()


def test_a_take_is_written_with_its_first_point(client, editor):
    article = make_article(published=False, created_by=editor)
    article.take.delete()
    _, data = load(client, article)
    data.update({"take-TOTAL_FORMS": "1", "take-0-id": "", "take-0-article": str(article.pk)})
    data.update({"take-0-title": "The Newsroom's Take", "take-0-points-TOTAL_FORMS": "1"})
    data.update({"take-0-points-INITIAL_FORMS": "0", "take-0-points-0-kind": "limitations"})
    data.update({"take-0-points-0-text": "Storms may delay it.", "take-0-points-0-position": "0"})
    response = post(client, article, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    take = Take.objects.get(article=article)
    assert list(take.points.values_list("kind", "text")) == [("limitations", "Storms may delay it.")]


# The source's site and credit, on the form.


def test_change_page_shows_the_sources_site_and_credit(client, editor):
    source = make_source(name="Coast Wire", site="coast.example", credit="Please credit Coast Wire.")
    article = make_article(published=False, created_by=editor, source=source)
    page, _ = load(client, article)
    panel = re.search(r'<div class="source-attribution" id="source-attribution-panel".*?</div>', page, re.S).group(0)
    assert "coast.example" in panel and "Please credit Coast Wire." in panel


def test_every_source_is_in_the_pages_data_escaped(client, editor):
    hostile = make_source(name="Hostile", site="h.example", credit="</script><script>alert(1)</script>")
    article = make_article(published=False, created_by=editor)
    page, _ = load(client, article)
    block = re.search(r'<script id="source-attributions" type="application/json">(.*?)</script>', page, re.S)
    assert block, "no data block for the source picker"
    data = json.loads(block.group(1))
    assert data[str(hostile.pk)] == {"site": "h.example", "credit": "</script><script>alert(1)</script>"}
    assert data[str(article.source_id)]["credit"] == article.source.credit
    assert "<script>alert(1)" not in page


def test_a_source_without_credit_says_so(client, editor):
    article = make_article(published=False, created_by=editor, source=make_source(credit=""))
    page, _ = load(client, article)
    assert "add one to the source before submitting" in page


# The hero image: a thumbnail, and an upload kept when the form is refused.


def test_stored_hero_image_is_shown_as_a_thumbnail(client, editor):
    article = make_article(published=False, created_by=editor)
    article.image.save("hero.jpg", ContentFile(jpeg()))
    page, _ = load(client, article)
    assert re.search(rf'<img class="hero-image__thumb" src="{re.escape(article.image.url)}"', page)


def refused_with_upload(client, article, **changes):
    """Post the form with a good image and an empty title (refused): the response page."""
    _, data = load(client, article)
    data.update({"title": "", "byline": "Byline I typed", **changes})
    response = post(client, article, data, image=upload(jpeg()))
    assert response.status_code == 200
    return response.content.decode(), data


def test_valid_upload_is_kept_when_the_form_is_refused_and_saved_on_the_next_try(client, editor):
    article = make_article(published=False, created_by=editor)
    page, data = refused_with_upload(client, article)
    token = re.search(r'<input type="hidden" name="image-pending" value="([^"]+)"', page).group(1)
    assert "kept from your last try" in page
    assert re.search(r'<img class="hero-image__thumb" src="/media/pending-images/', page)
    assert "Byline I typed" in page
    assert len(pending_files()) == 1
    data.update({"title": "A Title At Last", "image-pending": token})
    with django_capture_on_commit():
        response = post(client, article, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.image and article.image.name.startswith("articles/")
    assert (article.image_width, article.image_height) == (320, 180)
    assert pending_files() == []  # the kept copy goes once the story is saved


def django_capture_on_commit():
    """Run on_commit callbacks at once (tests run in a transaction that never commits)."""
    return mock.patch("django.db.transaction.on_commit", lambda func, *a, **k: func())


def test_refused_again_keeps_the_same_upload(client, editor):
    article = make_article(published=False, created_by=editor)
    page, data = refused_with_upload(client, article)
    token = re.search(r'name="image-pending" value="([^"]+)"', page).group(1)
    data["image-pending"] = token
    page = post(client, article, data).content.decode()
    assert f'name="image-pending" value="{token}"' in page
    assert len(pending_files()) == 1


def test_clear_wins_over_a_kept_upload(client, editor):
    article = make_article(published=False, created_by=editor)
    page, data = refused_with_upload(client, article)
    token = re.search(r'name="image-pending" value="([^"]+)"', page).group(1)
    data.update({"title": "Titled", "image-pending": token, "image-clear": "on"})
    assert post(client, article, data).status_code == 302
    article.refresh_from_db()
    assert not article.image


def assert_token_refused(client, article, token, reason):
    _, data = load(client, article)
    data.update({"title": "Title I typed", "image-pending": token})
    response = post(client, article, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert reason in field_errors(page, "image")
    assert reason in summary(page)
    assert "Title I typed" in page
    article.refresh_from_db()
    assert not article.image and article.title != "Title I typed"


def test_another_users_kept_image_is_refused(client, editor):
    other = make_user("Editors")
    token, _ = uploads.keep_pending(upload(jpeg()), other)
    assert_token_refused(client, make_article(published=False, created_by=editor), token, "uploaded by someone else")


def test_a_tampered_token_is_refused(client, editor):
    token, _ = uploads.keep_pending(upload(jpeg()), editor)
    forged = signing.dumps({"name": "articles/2026/01/someone-elses.jpg", "user": editor.pk}, salt="wrong salt")
    assert_token_refused(client, make_article(published=False, created_by=editor), forged, "token is not valid")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert_token_refused(client, make_article(published=False, created_by=editor), tampered, "token is not valid")


def test_a_token_naming_a_file_outside_the_kept_folder_is_refused(client, editor):
    article = make_article(published=False, created_by=editor)
    other = make_article(published=False)
    other.image.save("theirs.jpg", ContentFile(jpeg()))
    # Signed with our salt (as if the key leaked into a token for another file): still refused.
    token = signing.dumps({"name": other.image.name, "user": editor.pk}, salt=uploads.PENDING_SALT)
    assert_token_refused(client, article, token, "token is not valid")


def test_an_expired_token_is_refused(client, editor):
    article = make_article(published=False, created_by=editor)
    with mock.patch("django.core.signing.time.time", return_value=time.time() - uploads.PENDING_MAX_AGE - 60):
        token, _ = uploads.keep_pending(upload(jpeg()), editor)
    assert_token_refused(client, article, token, "kept too long")


def png_header_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("page.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "damaged or not a complete image"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG images"),
        ("huge.png", png_header_claiming(40_000, 40_000), "megapixels"),
    ],
    ids=["png-header-on-html", "svg", "huge-dimensions"],
)
def test_a_non_image_is_refused_next_to_the_field_keeping_the_rest(client, editor, name, content, error):
    article = make_article(published=False, created_by=editor)
    _, data = load(client, article)
    data.update({"title": "Headline I typed", "lede": "A lede I typed with care."})
    response = post(client, article, data, image=upload(content, name=name, content_type="image/png"))
    assert response.status_code == 200
    page = response.content.decode()
    assert error in field_errors(page, "image")
    assert error in summary(page) and 'href="#id_image"' in summary(page)
    assert "Headline I typed" in page and "A lede I typed with care." in page
    assert 'name="image-pending"' not in page and pending_files() == []
    article.refresh_from_db()
    assert not article.image and article.title != "Headline I typed"


# "View on site" only where readers can read the story.


def test_draft_has_preview_but_no_view_on_site(client, editor):
    article = make_article(published=False, created_by=editor)
    page, _ = load(client, article)
    assert "View on site" not in page
    assert f"/admin/articles/article/{article.pk}/preview/" in page
    assert client.get(f"/articles/{article.slug}/").status_code == 404


def test_live_story_has_view_on_site(client, editor):
    article = make_article(published=True, created_by=editor)
    assert Article.objects.live().filter(pk=article.pk).exists()
    page, _ = load(client, article)
    assert "View on site" in page
    assert 'class="viewsitelink"' in page


def test_anonymous_visitor_cannot_reach_the_story_form(client):
    article = make_article(published=False)
    response = client.get(change_url(article))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

"""Hostile text typed into the admin's forms (articles/admin.py) is kept as typed and shown as
text: a script or non-HTTP original URL is refused with what was typed kept in the form, alt
text is only shown with an image, a tag with no ASCII slug keeps the pages up, the add page
keeps a hostile title; and the check of admin pages allows the admin's own scripts only.

The payload sweeps through the workflow screens (transitions, review queue, history, diffs,
preview) are in tests/test_xss_admin_views.py; the helpers both files use are in
tests/xss_admin_fixtures.py."""

import pytest
from django.test import Client

from articles.models import Article
from tests.factories import make_article, make_source, publish
from tests.formdata import form_fields
from tests.htmlcheck import find_executable_markup, visible_text

# Fixtures (editor, editor_client, moderator), and HAND_PICKED, Pages and edit_and_publish,
# which tests/browser/test_xss_browser.py imports from here.
from tests.xss_admin_fixtures import (  # noqa: F401
    ADD_URL,
    HAND_PICKED,
    Pages,
    admin_findings,
    change_url,
    edit_and_publish,
    editor,
    editor_client,
    form_errors,
    loaded_form,
    moderator,
    page_text,
    post_ok,
)

pytestmark = pytest.mark.django_db


HOSTILE_ORIGINAL_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript://wire.example/%0aalert(1)",
    "https:javascript:alert(1)",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
]


# The check itself on admin markup ------------------------------------------------------------


def test_check_allows_the_admins_own_scripts_only():
    page = """<script src="/static/admin/js/nav_sidebar.js" defer></script>
      <script id="data" type="application/json">{"a": "\\u003Cb"}</script>
      <script type="application/json">{"a": "</script><script>alert(1)</script>"}</script>
      <script>alert(2)</script>
      <textarea name="lede">&lt;/textarea&gt;&lt;script&gt;alert(3)&lt;/script&gt;</textarea>"""
    findings = find_executable_markup(page)
    assert [f.line for f in findings] == [3, 3, 4], [str(f) for f in findings]


# The original URL ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", HOSTILE_ORIGINAL_URLS)
def test_admin_refuses_script_original_url_and_keeps_what_was_typed(editor_client, url):
    article = make_article(published=False)
    before = article.original_url
    data = loaded_form(editor_client, change_url(article))
    typed_title = '"><img src=x onerror=alert(1)> A headline I typed'
    data.update(title=typed_title, original_url=url)
    response = editor_client.post(change_url(article), data)

    assert response.status_code == 200, "the form was accepted"
    html = page_text(response)
    assert "Enter a valid URL." in form_errors(html)
    assert form_fields(html, "article_form")["title"] == typed_title
    assert admin_findings(html) == []
    article.refresh_from_db()
    assert article.original_url == before and article.title != typed_title


@pytest.mark.parametrize("url", ["https://wire.example/a", "http://wire.example/b?x=1&y=<2>"])
def test_admin_accepts_http_original_url(editor_client, url):
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data["original_url"] = url
    post_ok(editor_client, change_url(article), data, url)
    article.refresh_from_db()
    assert article.original_url == url


@pytest.mark.parametrize("url", ["ftp://wire.example/story", "ftps://wire.example/story"])
def test_admin_refuses_non_http_original_url(editor_client, url):
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data["original_url"] = url
    response = editor_client.post(change_url(article), data)
    assert response.status_code == 200 and "Enter a valid URL." in form_errors(page_text(response))


# Image alt text --------------------------------------------------------------------------------


def test_alt_text_is_only_shown_with_an_image(editor_client, moderator):
    """Alt text is stored without an image, but pages show it only on the image itself;
    the payload tests above therefore attach a small JPEG to every story."""
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data.update(image_alt="ALT <img src=x onerror=alert(1)>", image_credit="CREDIT <svg onload=alert(1)>")
    post_ok(editor_client, change_url(article), data, "alt text without an image")
    publish(article, by=moderator)
    html = page_text(Client().get(article.get_absolute_url()))
    assert "ALT" not in html and "CREDIT" not in html
    assert find_executable_markup(html) == []


# Bugs found while writing these ------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["<>", "Zürich"])
def test_tag_without_ascii_slug_keeps_pages_up(editor_client, moderator, tag):
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data["tags"] = f'"{tag}", harbour'
    post_ok(editor_client, change_url(article), data, "the tags")
    publish(article, by=moderator)
    reader = Client(raise_request_exception=False)
    for url in ("/", article.get_absolute_url(), "/tags/harbour/"):
        response = reader.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        assert tag in visible_text(page_text(response))


def test_add_page_creates_a_story_with_hostile_title(editor_client):
    """The add page (the path every story in the tests above takes) keeps a hostile title as text."""
    title = '"><script>alert(1)</script> New story'
    data = loaded_form(editor_client, ADD_URL)
    data.update(title=title, slug="new-story", lede="A lede.", source=str(make_source().pk))
    response = editor_client.post(ADD_URL, data, follow=True)
    assert response.redirect_chain, form_errors(page_text(response))
    assert admin_findings(page_text(response)) == []  # the "was added successfully" message names it
    assert Article.objects.get(slug="new-story").title == title

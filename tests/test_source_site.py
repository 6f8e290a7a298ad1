"""A source's site is a host name: the admin form and the story format refuse anything else,
and no link is built from a bad one already stored (issue 13, item 12)."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from articles.models import Source
from articles.storyformat import StoryFormatError, parse
from tests.factories import make_article, make_user, story_text

pytestmark = pytest.mark.django_db

BAD_SITES = ["trusted.example@evil.example", "https://x.com/", "a b.com"]
EVIL = "trusted.example@evil.example"


def html(response) -> str:
    return response.content.decode()


def json_ld(page: str) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    assert len(blocks) == 1, blocks
    return json.loads(blocks[0])


def links(page: str) -> list[str]:
    """Every address an element of the page points at (href, src, or a feed's <link>)."""
    return re.findall(r'(?:href|src)="([^"]*)"', page) + re.findall(r"<link>([^<]*)</link>", page)


def urls_in(value) -> list[str]:
    """Every string in a JSON value that is an absolute address."""
    if isinstance(value, dict):
        return [u for v in value.values() for u in urls_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in urls_in(v)]
    return [value] if isinstance(value, str) and re.match(r"^[a-z]+:", value) else []


# The admin's Source form.


def add_source(client, site: str):
    client.force_login(make_user("Editors"))
    return client.post(
        reverse("admin:articles_source_add"),
        {"name": "Trusted Wire", "site": site, "credit": "Please credit Trusted Wire."},
    )


@pytest.mark.parametrize("site", BAD_SITES)
def test_the_source_form_refuses_a_site_that_is_not_a_host_name(client, site):
    response = add_source(client, site)
    assert response.status_code == 200
    assert "host name" in html(response)
    assert not Source.objects.filter(name="Trusted Wire").exists()


def test_the_source_form_accepts_a_host_name(client):
    response = add_source(client, "www.example.com")
    assert response.status_code == 302
    assert Source.objects.get(name="Trusted Wire").site == "www.example.com"


# The story format (the importer's parser).


@pytest.mark.parametrize("site", BAD_SITES)
def test_the_story_format_refuses_a_site_that_is_not_a_host_name_naming_its_line(site):
    text = story_text(source=f"📌 Source: Trusted Wire ({site})")
    source_line = next(n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("📌"))
    with pytest.raises(StoryFormatError) as refusal:
        parse(text)
    assert refusal.value.line == source_line
    assert "host name" in refusal.value.message


def test_the_story_format_accepts_a_host_name():
    story = parse(story_text(source="📌 Source: Trusted Wire (www.example.com)"))
    assert story.source_site == "www.example.com"


def test_the_story_format_still_allows_a_source_without_a_site():
    story = parse(story_text(source="📌 Source: Trusted Wire"))
    assert story.source_site == ""


# Structured data, feeds and the API with a bad site already stored.


def stored_with_site(site: str):
    """A live story whose source row holds `site`, written without validation (an old row)."""
    source = Source.objects.create(name=f"Wire at {site}", site=site, credit="Please credit the wire.")
    return make_article(source=source)


def test_json_ld_links_a_valid_site_as_https():
    article = stored_with_site("www.example.com")
    data = json_ld(html(Client().get(article.get_absolute_url())))
    assert data["sourceOrganization"]["url"] == "https://www.example.com/"


@pytest.mark.parametrize("site", BAD_SITES)
def test_json_ld_gives_no_url_for_a_stored_site_that_is_not_a_host_name(site):
    article = stored_with_site(site)
    page = html(Client().get(article.get_absolute_url()))
    organization = json_ld(page)["sourceOrganization"]
    assert organization["name"] == f"Wire at {site}"
    assert "url" not in organization
    assert not [u for u in urls_in(json_ld(page)) if site in u or "evil.example" in u or "x.com" in u]


def test_the_story_page_does_not_link_a_bad_site():
    article = stored_with_site(EVIL)
    page = html(Client().get(article.get_absolute_url()))
    assert not [u for u in links(page) if "evil.example" in u]


@pytest.mark.parametrize("feed", ["articles:feed_rss", "articles:feed_atom"])
def test_the_feeds_do_not_link_a_bad_site(feed):
    stored_with_site(EVIL)
    page = html(Client().get(reverse(feed)))
    assert "Wire at" in page  # the story is in the feed
    assert not [u for u in links(page) if "evil.example" in u]
    assert "https://trusted.example@evil.example" not in page


def test_the_api_does_not_turn_a_bad_site_into_an_address():
    article = stored_with_site(EVIL)
    for url in (reverse("articles:api_list"), reverse("articles:api_detail", kwargs={"slug": article.slug})):
        data = json.loads(Client().get(url).content)
        assert not [u for u in urls_in(data) if "evil.example" in u], url


def test_a_refused_site_with_a_percent_sign_is_reported_not_crashed(admin_client):
    # The refusal quotes the value: a '%' in it must not be read as a format directive.
    response = admin_client.post(
        "/admin/articles/source/add/", {"name": "Percent", "site": "100%<s>.example", "credit": "c"}
    )
    assert response.status_code == 200 and "host name" in response.content.decode()

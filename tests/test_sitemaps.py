"""The sitemaps (articles/sitemaps.py) and robots.txt. Shared helpers: tests/readers_fixtures.py."""

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from articles import workflow
from tests.factories import make_article, make_user
from tests.readers_fixtures import published, set_published_at, text_of

pytestmark = pytest.mark.django_db


SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NS = {"sm": SITEMAP_NS, "news": NEWS_NS}


def sitemap_locs(response, tag: str = "url") -> list[str]:
    root = ET.fromstring(response.content)
    return [loc.text for loc in root.findall(f"sm:{tag}/sm:loc", NS)]


# Sitemaps and robots.txt


def test_sitemap_index_lists_the_stories_sitemap(client):
    make_article()
    response = client.get("/sitemap.xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{SITEMAP_NS}}}sitemapindex"
    assert sitemap_locs(response, "sitemap") == ["http://testserver/sitemap-stories.xml"]


def test_stories_sitemap_lists_every_live_story_with_lastmod(client):
    old, new = make_article(), make_article()
    set_published_at(old, timezone.now() - timedelta(days=3))
    make_article(published=False)
    response = client.get("/sitemap-stories.xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{SITEMAP_NS}}}urlset"
    assert sorted(sitemap_locs(response)) == sorted(f"http://testserver{a.get_absolute_url()}" for a in (old, new))
    assert all(url.find("sm:lastmod", NS) is not None for url in root.findall("sm:url", NS))


def test_news_sitemap_has_only_the_last_two_days(client, settings):
    settings.NEWSROOM_SITE_NAME = "The Island Times"
    recent = make_article(title="Fresh Quokka News")
    older = make_article(title="Stale Quokka News")
    set_published_at(older, timezone.now() - timedelta(days=3))
    response = client.get("/sitemap-news.xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{SITEMAP_NS}}}urlset"
    assert sitemap_locs(response) == [f"http://testserver{recent.get_absolute_url()}"]
    news = root.find("sm:url/news:news", NS)
    assert news.findtext("news:title", namespaces=NS) == "Fresh Quokka News"
    assert news.findtext("news:publication/news:name", namespaces=NS) == "The Island Times"
    assert (
        datetime.fromisoformat(news.findtext("news:publication_date", namespaces=NS)) == published(recent).published_at
    )


def test_robots_txt_names_both_sitemaps(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    lines = text_of(response).splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Sitemap: http://testserver/sitemap-news.xml" in lines


# The sitemap index pages past the per-sitemap limit


def test_sitemap_index_pages_by_blocks_of_story_ids(client, monkeypatch):
    """Page k+1 lists the stories with k*BLOCK <= id < (k+1)*BLOCK; as many pages as the
    highest current story id needs (a block with no current story is an empty page)."""
    from articles import sitemaps

    monkeypatch.setattr(sitemaps, "BLOCK", 2)
    stories = [make_article(parts=False) for _ in range(5)]
    workflow.article_unpublish(article=stories[1], user=make_user("Moderators"), reason="Withdrawn.")
    live = [stories[0], *stories[2:]]
    count = max(story.pk for story in live) // 2 + 1
    base = "http://testserver/sitemap-stories.xml"
    assert sitemap_locs(client.get("/sitemap.xml"), "sitemap") == [base] + [
        f"{base}?p={p}" for p in range(2, count + 1)
    ]
    pages = {p: sitemap_locs(client.get(f"/sitemap-stories.xml?p={p}")) for p in range(1, count + 1)}
    for story in live:
        assert pages[story.pk // 2 + 1].count(f"http://testserver{story.get_absolute_url()}") == 1
    assert sorted(sum(pages.values(), [])) == sorted(f"http://testserver{a.get_absolute_url()}" for a in live)
    assert client.get(f"/sitemap-stories.xml?p={count + 1}").status_code == 404

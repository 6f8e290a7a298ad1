"""The readers' side as a whole: every door to the stories (pages, search, feeds, sitemaps,
API) shows current publications only (Publication.objects.current()), as their approved
revision, with their attribution; images, lasting addresses, and query counts that do not
grow with the number of stories."""

import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import feedparser
import pytest
import time_machine
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from PIL import Image

from articles import workflow
from articles.models import Article, KeyFact, Publication, PublicationTag, Section
from tests.factories import make_article, make_desk, make_source, make_user, publish

pytestmark = pytest.mark.django_db

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NS = {"sm": SITEMAP_NS, "news": NEWS_NS}
ON_POSTGRES = connection.vendor == "postgresql"

# A fixed "now" for the stories built below, so that the archive month is known in advance.
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


# Helpers


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, in document order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def all(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == name]


def tags_of(response) -> Tags:
    parser = Tags()
    parser.feed(response.content.decode())
    return parser


def text_of(response) -> str:
    return response.content.decode()


def json_ld(response) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', text_of(response), re.S)
    assert len(blocks) == 1, f"expected one JSON-LD block, found {len(blocks)}"
    return json.loads(blocks[0])


def sitemap_locs(response, tag: str = "url") -> list[str]:
    root = ET.fromstring(response.content)
    return [loc.text for loc in root.findall(f"sm:{tag}/sm:loc", NS)]


def parsed_feed(response):
    feed = feedparser.parse(response.content)
    assert not feed.bozo, f"{response.request['PATH_INFO']}: {feed.get('bozo_exception')}"
    return feed


def edit_working_copy(article: Article, **fields) -> None:
    """Change the working copy as an editor would, without approving it."""
    for name, value in fields.items():
        setattr(article, name, value)
    article.save()
    workflow.article_saved(article=article, user=make_user("Editors"))


def published(article: Article) -> Publication:
    """The story's publication readers see now."""
    return Publication.objects.current().get(article=article)


def set_published_at(article: Article, when: datetime) -> None:
    """Move a story's first publication: on its publications, their cards and the copy their
    tags keep (PublicationTag)."""
    for publication in Publication.objects.filter(article=article):
        publication.published_at = when
        publication.card = {**publication.card, "published_at": when.isoformat()}
        publication.save(update_fields=["published_at", "card"])
    PublicationTag.objects.filter(publication__article=article).update(published_at=when)


# 1. Every door shows live stories only


WORD = "Quokka"


def _in_review(**fields) -> Article:
    article = make_article(published=False, **fields)
    workflow.article_saved(article=article, user=make_user("Editors"))
    workflow.article_submit(article=article, user=make_user("Editors"))
    return article


def _archived(**fields) -> Article:
    article = make_article(**fields)
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):  # live a minute, then taken down
        workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="The source withdrew it.")
    return article


NOT_LIVE = {
    "draft": lambda **fields: make_article(published=False, **fields),
    "in review": _in_review,
    "archived": _archived,
    "scheduled": lambda **fields: make_article(go_live_at=START + timedelta(days=1), **fields),
    "expired": lambda **fields: make_article(expires_at=START + timedelta(hours=1), **fields),
}


@pytest.fixture
def newsroom():
    """One live story and one in each state that is not live, all on the same desk and tag
    and with the same word in their titles; the clock then moves past the expiry."""
    with time_machine.travel(START, tick=False):
        desk = make_desk(name="Wildlife", slug="wildlife")
        shared = {"desk": desk, "tags": ["marsupials"]}
        live = make_article(title=f"{WORD} live story", **shared)
        others = {state: build(title=f"{WORD} {state} story", **shared) for state, build in NOT_LIVE.items()}
    with time_machine.travel(START + timedelta(minutes=1), tick=False):  # the archived one was taken down then
        assert set(Article.objects.live()) == {live, others["expired"]}  # expiry, not something else, hides it
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        assert Article.objects.live().get() == live
        yield {"live": live, "others": others, "desk": desk}


DOORS = {
    "front page": "/",
    "desk page": "/desks/wildlife/",
    "tag page": "/tags/marsupials/",
    "archive month": f"/archive/{START.year}/{START.month}/",
    "search": f"/search/?q={WORD.lower()}",
    "RSS": "/feeds/rss/",
    "Atom": "/feeds/atom/",
    "desk RSS": "/feeds/desks/wildlife/rss/",
    "desk Atom": "/feeds/desks/wildlife/atom/",
    "tag RSS": "/feeds/tags/marsupials/rss/",
    "tag Atom": "/feeds/tags/marsupials/atom/",
    "sitemap": "/sitemap-stories.xml",
    "news sitemap": "/sitemap-news.xml",
    "API list": "/api/articles/",
}


@pytest.mark.parametrize("door", DOORS)
def test_every_door_shows_live_stories_only(client, newsroom, door):
    response = client.get(DOORS[door])
    assert response.status_code == 200
    content = text_of(response)
    assert f"/articles/{newsroom['live'].slug}/" in content
    for state, article in newsroom["others"].items():
        assert f"/articles/{article.slug}/" not in content, f"the {state} story's address is behind the {door}"
        assert article.title not in content, f"the {state} story's title is behind the {door}"


@pytest.mark.parametrize("state", ["live", *NOT_LIVE])
def test_api_detail_answers_for_live_stories_only(client, newsroom, state):
    article = newsroom["live"] if state == "live" else newsroom["others"][state]
    response = client.get(f"/api/articles/{article.slug}/")
    assert response.status_code == (200 if state == "live" else 404)
    if state != "live":
        assert response.json() == {"error": "No live story with this slug."}


@pytest.mark.parametrize("state", ["live", *NOT_LIVE])
def test_story_page_answers_for_current_publications_only(client, newsroom, state):
    """Never live: 404. Live once and no longer (taken down, or its end time passed): 410."""
    article = newsroom["live"] if state == "live" else newsroom["others"][state]
    response = client.get(f"/articles/{article.slug}/")
    expected = {"live": 200, "archived": 410, "expired": 410}.get(state, 404)
    assert response.status_code == expected
    assert (article.title in text_of(response)) == (state == "live")


# 2. Readers see the approved revision, not later edits


def test_edits_after_approval_stay_out_of_sight_until_approved(client):
    article = make_article(title="Approved Wombat Headline", tags=["wombats"])
    edit_working_copy(article, title="Edited Platypus Headline", lede="An unapproved platypus lede.")
    views = {
        "story page": client.get(article.get_absolute_url()),
        "front page": client.get("/"),
        "tag page": client.get("/tags/wombats/"),
        "RSS": client.get("/feeds/rss/"),
        "Atom": client.get("/feeds/atom/"),
        "API list": client.get("/api/articles/"),
        "API detail": client.get(f"/api/articles/{article.slug}/"),
        "search": client.get("/search/?q=wombat"),
        "news sitemap": client.get("/sitemap-news.xml"),
    }
    for name, response in views.items():
        content = text_of(response)
        assert "Approved Wombat Headline" in content, name
        assert "Platypus" not in content, name
    assert json_ld(views["story page"])["headline"] == "Approved Wombat Headline"
    assert client.get("/api/articles/").json()["results"][0]["title"] == "Approved Wombat Headline"
    assert "No stories match" in text_of(client.get("/search/?q=platypus"))


def test_a_scheduled_update_stays_out_of_sight_until_its_time(client):
    start = timezone.now()
    article = make_article(title="Current Koala Headline", slug="koala-count", tags=["koalas"])
    edit_working_copy(article, title="Scheduled Koala Headline", slug="koala-census")
    publish(article, go_live_at=start + timedelta(hours=3))
    doors = [
        "/",
        "/tags/koalas/",
        "/search/?q=koala",
        "/feeds/rss/",
        "/feeds/atom/",
        "/api/articles/",
        "/sitemap-news.xml",
    ]
    for url in [*doors, "/articles/koala-count/", "/api/articles/koala-count/"]:
        content = text_of(client.get(url))
        assert "Current Koala Headline" in content and "Scheduled Koala" not in content, url
    assert client.get("/articles/koala-census/").status_code == 404
    with time_machine.travel(start + timedelta(hours=3, minutes=1), tick=False):
        for url in [*doors, "/articles/koala-census/", "/api/articles/koala-census/"]:
            content = text_of(client.get(url))
            assert "Scheduled Koala Headline" in content and "Current Koala" not in content, url
        moved = client.get("/articles/koala-count/")
        assert moved.status_code == 301 and moved["Location"] == "/articles/koala-census/"
        assert "/articles/koala-census/" in text_of(client.get("/sitemap-stories.xml"))


def test_unapproved_desk_and_tag_changes_do_not_move_a_live_story(client):
    sport, politics = make_desk(name="Sport", slug="sport"), make_desk(name="Politics", slug="politics")
    article = make_article(title="Approved Regatta Result", desk=sport, tags=["sailing"])
    edit_working_copy(article, desk=politics)
    article.tags.set(["scandal"])
    workflow.article_saved(article=article, user=make_user("Editors"))
    # Where the live version belongs: still listed.
    assert article.title in text_of(client.get("/desks/sport/"))
    assert article.title in text_of(client.get("/tags/sailing/"))
    assert article.title in text_of(client.get("/feeds/tags/sailing/rss/"))
    assert len(client.get("/api/articles/?tag=sailing").json()["results"]) == 1
    # Where only the unapproved edit would put it: not listed.
    assert article.title not in text_of(client.get("/desks/politics/"))
    assert article.title not in text_of(client.get("/tags/scandal/"))
    assert client.get("/api/articles/?desk=politics").json()["results"] == []


def test_tag_lists_order_stories_by_first_publication_even_when_tagged_later(client):
    """A tag's page, feed and API list walk the tag's own index (PublicationTag): a story given the
    tag in a later update keeps its place by its first publication, not by the update."""
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=2), tick=False):
        older = make_article(title="Older Kelp Story", tags=["seaweed"])
    with time_machine.travel(now - timedelta(days=1), tick=False):
        newer = make_article(title="Newer Kelp Story", tags=["kelp"])
    make_article(title="Untagged Reef Story")
    older.tags.set(["seaweed", "kelp"])
    publish(older, change_kind="update", change_note="Filed under kelp as well.")
    expected = ["Newer Kelp Story", "Older Kelp Story"]
    page = text_of(client.get("/tags/kelp/"))
    assert re.findall(r'<h2 class="card__title"><a href="[^"]+">([^<]+)</a></h2>', page) == expected
    assert [entry.title for entry in parsed_feed(client.get("/feeds/tags/kelp/rss/")).entries] == expected
    assert [story["title"] for story in client.get("/api/articles/?tag=kelp").json()["results"]] == expected
    assert published(older).published_at < published(newer).published_at < published(older).live_from


# 3. Attribution travels with the story everywhere


@pytest.fixture
def credited():
    source = make_source(
        name="Outback Wire", site="outback.example", credit="Please credit Outback Wire when republishing."
    )
    return make_article(
        title="Quokkas Return to the Island",
        byline="Mia Chen",
        desk=make_desk(name="Wildlife", slug="wildlife"),
        tags=["marsupials", "islands"],
        source=source,
        original_url="https://outback.example/news/quokkas-return",
    )


def test_story_page_has_the_attribution_footer(client, credited):
    page = text_of(client.get(credited.get_absolute_url()))
    foot = page[page.index('<footer class="attribution">') :]
    foot = foot[: foot.index("</footer>")]
    assert "Source: Outback Wire (outback.example)" in foot
    assert 'href="https://outback.example/news/quokkas-return"' in foot
    assert "Please credit Outback Wire when republishing." in foot


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/rss/",
        "/feeds/atom/",
        "/feeds/desks/wildlife/rss/",
        "/feeds/desks/wildlife/atom/",
        "/feeds/tags/marsupials/rss/",
        "/feeds/tags/islands/atom/",
    ],
)
def test_every_feed_item_carries_the_attribution(client, credited, url):
    make_article(title="A second story, from another wire", desk=credited.desk, tags=["marsupials", "islands"])
    feed = parsed_feed(client.get(url))
    assert len(feed.entries) == 2
    for entry in feed.entries:
        summary = unescape(entry.summary)
        assert "Source:" in summary and "Original:" in summary and "credit" in summary, entry.title
    ours = next(entry for entry in feed.entries if entry.title == credited.title)
    summary = unescape(ours.summary)
    assert "Source: Outback Wire (outback.example)" in summary
    assert "https://outback.example/news/quokkas-return" in summary
    assert "Please credit Outback Wire when republishing." in summary


def test_api_detail_names_the_source(client, credited):
    body = client.get(f"/api/articles/{credited.slug}/").json()
    assert body["source"] == {
        "name": "Outback Wire",
        "site": "outback.example",
        "original_url": "https://outback.example/news/quokkas-return",
        "credit": "Please credit Outback Wire when republishing.",
    }


def test_json_ld_describes_the_news_article_and_its_source(client, credited, settings):
    settings.NEWSROOM_SITE_NAME = "The Island Times"
    data = json_ld(client.get(credited.get_absolute_url()))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Quokkas Return to the Island"
    assert datetime.fromisoformat(data["datePublished"]) == published(credited).published_at
    assert data["author"] == [{"@type": "Person", "name": "Mia Chen"}]
    assert data["publisher"] == {"@type": "Organization", "name": "The Island Times"}
    assert data["keywords"] == ["islands", "marsupials"]
    assert data["isBasedOn"] == "https://outback.example/news/quokkas-return"
    assert data["creditText"] == "Please credit Outback Wire when republishing."
    assert data["url"] == f"http://testserver{credited.get_absolute_url()}"


# 4. Feeds are well formed and newest first


def three_stories_a_day_apart() -> list[Article]:
    """Three live stories; returned newest first (created in another order on purpose)."""
    now = timezone.now()
    stories = {}
    for age in (1, 0, 2):
        with time_machine.travel(now - timedelta(days=age), tick=False):
            stories[age] = make_article(title=f"Story {age} days old", desk=make_desk(), tags=["ordered"])
    return [stories[0], stories[1], stories[2]]


@pytest.mark.parametrize(
    "url", ["/feeds/rss/", "/feeds/atom/", "/feeds/tags/ordered/rss/", "/feeds/tags/ordered/atom/"]
)
def test_feeds_parse_cleanly_newest_first(client, url):
    newest_first = three_stories_a_day_apart()
    feed = parsed_feed(client.get(url))
    assert feed.version == ("atom10" if "atom" in url else "rss20")
    assert [entry.title for entry in feed.entries] == [story.title for story in newest_first]
    assert [entry.link for entry in feed.entries] == [f"http://testserver{s.get_absolute_url()}" for s in newest_first]
    dates = [entry.published_parsed for entry in feed.entries]
    assert dates == sorted(dates, reverse=True)


# 5. Sitemaps and robots.txt


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


# 6. The sitemap index pages past the per-sitemap limit


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


# 7. The JSON API


def test_api_list_is_paginated(client):
    for _ in range(5):
        make_article(parts=False)
    first = client.get("/api/articles/?page_size=2").json()
    assert (first["page"], first["page_size"], len(first["results"])) == (1, 2, 2)
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/articles/?page_size=2&page=2"
    seen = [story["slug"] for story in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [story["slug"] for story in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(Publication.objects.current().values_list("slug", flat=True))
    assert len(seen) == len(set(seen)) == 5
    past_the_end = client.get("/api/articles/?page_size=2&page=4")
    assert past_the_end.status_code == 404 and "past the last page" in past_the_end.json()["error"]


@pytest.mark.parametrize("query", ["page=abc", "page_size=many"])
def test_api_list_refuses_bad_paging(client, query):
    response = client.get(f"/api/articles/?{query}")
    assert response.status_code == 400 and "whole numbers" in response.json()["error"]


def slugs(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {story["slug"] for story in response.json()["results"]}


def test_api_list_filters(client):
    climate, science = make_desk(name="Climate", slug="climate"), make_desk(name="Science", slug="science")
    reef_wire = make_source(name="Reef Wire")
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=30), tick=False):
        old = make_article(desk=climate, tags=["coral"], source=reef_wire)
    new = make_article(desk=science, tags=["coral", "fish"])
    other = make_article(desk=science, tags=["fish"])
    assert slugs(client.get("/api/articles/?tag=coral")) == {old.slug, new.slug}
    assert slugs(client.get("/api/articles/?desk=science")) == {new.slug, other.slug}
    assert slugs(client.get("/api/articles/?source=Reef+Wire")) == {old.slug}
    assert slugs(client.get("/api/articles/?tag=fish&desk=science")) == {new.slug, other.slug}
    assert slugs(client.get("/api/articles/?tag=nothing")) == set()
    ten_days_ago = (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert slugs(client.get("/api/articles/", {"updated_since": ten_days_ago})) == {new.slug, other.slug}
    two_months_ago = (now - timedelta(days=60)).date().isoformat()
    assert slugs(client.get("/api/articles/", {"updated_since": two_months_ago})) == {old.slug, new.slug, other.slug}


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "1 OR 1=1"])
def test_api_bad_updated_since_is_a_400_with_a_message(client, value):
    make_article()
    response = client.get("/api/articles/", {"updated_since": value})
    assert response.status_code == 400
    assert "updated_since must be an ISO 8601" in response.json()["error"]


def test_api_detail_returns_the_whole_story(client):
    article = make_article(
        title="Reef Survey Finds Recovery",
        lede="Divers counted *more* coral.",
        byline="Sam Ortiz",
        desk=make_desk(name="Climate", slug="climate"),
        tags=["coral", "reefs"],
        source=make_source(name="Reef Wire", site="reef.example", credit="Credit Reef Wire."),
        original_url="https://reef.example/survey",
        published=False,
    )
    article.take.points.create(position=1, kind="limitations", text="One survey only.")
    article.take.points.create(position=2, kind="advice", text="Read the full report.")
    publish(article)
    body = client.get(f"/api/articles/{article.slug}/").json()
    assert body["title"] == "Reef Survey Finds Recovery"
    assert body["slug"] == article.slug
    assert body["url"] == f"http://testserver/articles/{article.slug}/"
    assert body["lede"] == "<p>Divers counted <em>more</em> coral.</p>"
    assert body["key_facts"] == {
        "heading": "Key Facts",
        "items": [{"label": "Vote", "text": "Seven to two in favour."}],
    }
    assert body["sections"] == [
        {
            "heading": "What Was Decided",
            "body_html": "<p>The <strong>board</strong> agreed.</p>",
            "points_heading": "",
            "points": [{"label": "Cost", "text": "Four million."}],
        }
    ]
    assert body["take"]["title"] == "The Desk's Take"
    assert [(p["kind"], p["text"]) for p in body["take"]["points"]] == [
        ("why_it_matters", "Ferries run later."),
        ("limitations", "One survey only."),
        ("advice", "Read the full report."),
    ]
    for point in body["take"]["points"]:
        assert point["kind"] in {"why_it_matters", "limitations", "advice"}
        assert point["emoji"] and point["label"]
    assert body["take"]["points"][0]["label"] == "Why This Matters"
    assert body["source"] == {
        "name": "Reef Wire",
        "site": "reef.example",
        "original_url": "https://reef.example/survey",
        "credit": "Credit Reef Wire.",
    }
    assert body["tags"] == ["coral", "reefs"]
    assert body["desk"] == {"name": "Climate", "slug": "climate"}
    assert body["byline"] == "Sam Ortiz"
    assert datetime.fromisoformat(body["published_at"]) == published(article).published_at
    assert datetime.fromisoformat(body["updated_at"]) == published(article).published_at
    assert body["image"] is None


def test_api_list_and_detail_are_json_for_get_only(client):
    article = make_article()
    assert client.get("/api/articles/")["Content-Type"] == "application/json"
    assert client.post("/api/articles/").status_code == 405
    assert client.post(f"/api/articles/{article.slug}/").status_code == 405


# 8. Search


@pytest.fixture
def searchable():
    """Stories found by a word in the title, in a key fact, in a section body."""
    title = make_article(title="Tidal Turbines Approved", lede="The harbour board voted.", parts=False)
    fact = make_article(title="Harbour Budget", published=False, parts=False)
    KeyFact.objects.create(article=fact, position=0, label="Ferry", text="The ferry timetable doubles.")
    body = make_article(title="Council Meeting Notes", published=False, parts=False)
    Section.objects.create(
        article=body, position=0, heading="Other Business", body="The council also discussed the lighthouse repairs."
    )
    return {"title": publish(title), "fact": publish(fact), "body": publish(body)}


def hit_titles(client, query: str) -> list[str]:
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    page = text_of(response)
    return re.findall(r'<h2 class="card__title"><a href="[^"]+">([^<]+)</a></h2>', page)


@pytest.mark.parametrize(("query", "where"), [("turbines", "title"), ("timetable", "fact"), ("lighthouse", "body")])
def test_search_finds_a_word_wherever_it_is(client, searchable, query, where):
    assert hit_titles(client, query) == [searchable[where].title]


def test_search_stems_words_on_postgres(client, searchable):
    if not ON_POSTGRES:
        pytest.skip("stemming is PostgreSQL full-text search; SQLite matches words as typed")
    assert hit_titles(client, "turbine") == ["Tidal Turbines Approved"]
    assert hit_titles(client, "repair") == ["Council Meeting Notes"]


def test_search_ranks_title_matches_above_body_matches(client):
    if not ON_POSTGRES:
        pytest.skip("ranking is PostgreSQL full-text search; SQLite orders by date")
    in_title = make_article(title="Seagrass Meadows Spread", parts=False, published=False)
    publish(in_title)
    in_body = make_article(title="Coastal Roundup", parts=False, published=False)
    Section.objects.create(article=in_body, position=0, heading="Briefly", body="Divers also noted some seagrass.")
    publish(in_body)
    set_published_at(in_title, timezone.now() - timedelta(days=5))  # older: date alone would put it last
    assert hit_titles(client, "seagrass") == ["Seagrass Meadows Spread", "Coastal Roundup"]


def test_search_excerpt_marks_the_word(client, searchable):
    page = text_of(client.get("/search/", {"q": "timetable"}))
    assert "<mark>timetable</mark>" in page


def test_search_excerpt_shows_where_a_body_word_matched(client, searchable):
    page = text_of(client.get("/search/", {"q": "lighthouse"}))
    assert "Council Meeting Notes" in page
    assert "<mark>lighthouse</mark>" in page


def test_search_excerpt_marks_the_whole_word_of_a_longer_form(client, searchable):
    page = text_of(client.get("/search/", {"q": "repair"}))
    assert "<mark>repairs</mark>" in page


def test_search_excerpt_marks_what_postgres_matched_by_its_stem(client):
    if not ON_POSTGRES:
        pytest.skip("stemming is PostgreSQL full-text search; SQLite matches words as typed")
    article = make_article(title="Grid Report", parts=False, published=False)
    Section.objects.create(article=article, position=0, heading="Supply", body="Both renewable energies grew.")
    publish(article)
    response = client.get("/search/", {"q": "energy"})
    assert "Grid Report" in text_of(response)
    assert "<mark>energies</mark>" in text_of(response)


def test_search_finds_a_word_deep_in_a_long_body(client):
    """The excerpt reads the body's opening only (see search.EXCERPT_BODY_CHARS); search reads it all."""
    article = make_article(title="Long Council Report", parts=False, published=False)
    filler = " ".join(["The committee reviewed routine matters."] * 120)  # about 4,800 characters
    Section.objects.create(article=article, position=0, heading="Minutes", body=f"{filler} Finally, the cormorants.")
    publish(article)
    assert hit_titles(client, "cormorants") == ["Long Council Report"]


@pytest.fixture
def five_echidna_stories():
    """Five live stories with "echidna" in their titles, a day apart, newest first."""
    made = [make_article(title=f"Echidna Count {n}", parts=False) for n in range(5)]
    for days, article in enumerate(made):
        set_published_at(article, timezone.now() - timedelta(days=days))
    return [article.title for article in made]


def test_search_pages_follow_one_another(client, five_echidna_stories, monkeypatch):
    from articles import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    pages = [text_of(client.get("/search/", {"q": "echidna", "page": n})) for n in (1, 2, 3, 4)]
    shown = [re.findall(r'<h2 class="card__title"><a href="[^"]+">([^<]+)</a></h2>', page) for page in pages]
    assert [len(titles) for titles in shown] == [2, 2, 1, 0]
    assert sorted(sum(shown, [])) == sorted(five_echidna_stories)  # each story once, none lost between pages
    assert ['rel="next"' in page for page in pages[:3]] == [True, True, False]


def test_search_ranks_the_newest_matches_only(client, five_echidna_stories, monkeypatch):
    """A common word is ranked among its most recent matches (search.CANDIDATES), so it costs
    the same however many stories there are."""
    from articles import search

    monkeypatch.setattr(search, "CANDIDATES", 3)
    assert sorted(hit_titles(client, "echidna")) == sorted(five_echidna_stories[:3])
    assert client.get("/search/", {"q": "echidna", "page": 2}).status_code == 404  # past the ranked three


def test_search_documents_are_kept_in_their_rows_on_postgres():
    """Search reads each candidate's document twice; kept in the row (STORAGE MAIN, migration
    0017), not out of line in the TOAST table, each read costs no extra lookups."""
    if not ON_POSTGRES:
        pytest.skip("the stored search document is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'search_document'",
            [Publication._meta.db_table],
        )
        assert cursor.fetchone() == ("m",)


def test_search_for_nothing_shows_no_results(client, searchable):
    for query in ("", "   ", "!!!"):
        response = client.get("/search/", {"q": query})
        assert response.status_code == 200
        assert 'class="search-results"' not in text_of(response)


HOSTILE = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "a & | ! :*",
    '"><img src=x onerror=alert(1)>',
    "turbines\x00lighthouse",
    "x" * 10_000,
    "turbine " * 2_000,
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: q[:20].replace("\x00", "NUL"))
def test_hostile_queries_are_answered_harmlessly(client, searchable, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    if "<" in query:
        assert query not in text_of(response), "the raw payload is in the page as markup"
    doc = tags_of(response)
    assert doc.all("script") == [] and doc.all("img") == []
    assert not [name for _, attrs in doc.tags for name in attrs if name.startswith("on")]
    box = next(attrs for attrs in doc.all("input") if attrs.get("id") == "search-q")
    assert box["value"] == query  # given back as text in the search box, nothing more


# 9. Query counts do not grow with the number of stories


def wallaby_reports(n: int, desk, source) -> list[Article]:
    return [
        make_article(title=f"Wallaby report {i}", desk=desk, source=source, tags=["wallabies", f"mob-{i}"])
        for i in range(n)
    ]


# The fewest queries a cold read of each door needs (no margin), the same for 3 stories as
# for 33: one reads the publication generation and the next window boundary (the page
# cache), the rest are the view's own (a story page reads its revision only when its
# rendered parts are not kept yet). No door reads more than its page of publications.
QUERIES = {
    "front page": ("/", 3),
    "desk page": ("/desks/outback/", 4),
    "tag page": ("/tags/wallabies/", 4),
    "archive month": ("{archive}", 3),
    "archive index": ("/archive/", 3),  # one look-up per month, and one to find there is no older month
    "search": ("/search/?q=wallaby", 3),
    "RSS": ("/feeds/rss/", 2),
    "Atom": ("/feeds/atom/", 2),
    "tag RSS": ("/feeds/tags/wallabies/rss/", 3),
    "desk Atom": ("/feeds/desks/outback/atom/", 3),
    "sitemap index": ("/sitemap.xml", 2),
    "sitemap": ("/sitemap-stories.xml", 2),
    "news sitemap": ("/sitemap-news.xml", 3),
    "API list": ("/api/articles/", 2),
    "API detail": ("/api/articles/{slug}/", 2),
    "story page": ("/articles/{slug}/", 3),
}


@pytest.mark.parametrize("door", QUERIES)
def test_query_count_does_not_grow_with_stories(client, django_assert_max_num_queries, door):
    desk, source = make_desk(name="Outback", slug="outback"), make_source()
    first = wallaby_reports(3, desk, source)[0]
    template, most = QUERIES[door]
    month = published(first).published_at
    url = template.format(slug=first.slug, archive=f"/archive/{month.year}/{month.month}/")
    for more in (0, 30):
        wallaby_reports(more, desk, source)
        for kept in caches.all():
            kept.clear()  # a cold read: nothing cached, no rendered piece kept
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200


def test_archive_and_sitemap_indexes_do_not_grow_with_stories(client, django_assert_max_num_queries):
    """The archive index costs a look-up per month (not a read of every story) and the
    sitemap index one look-up (the highest story id): 3 stories or 30 over the same three
    months, the same queries. The archive index lists the months newest first, no counts."""
    months = [datetime(2026, m, 12, 9, 0, tzinfo=UTC) for m in (1, 3, 4)]
    later = datetime(2026, 5, 1, tzinfo=UTC)
    for many in (1, 10):
        for month in months:
            for _ in range(many):
                with time_machine.travel(month, tick=False):
                    make_article(parts=False)
        with time_machine.travel(later, tick=False):
            for kept in caches.all():
                kept.clear()
            with django_assert_max_num_queries(1 + len(months) + 1):
                archive = client.get("/archive/")
            with django_assert_max_num_queries(2):
                assert client.get("/sitemap.xml").status_code == 200
        listed = re.findall(r'href="/archive/(\d+)/(\d+)/"', text_of(archive))
        assert listed == [("2026", "4"), ("2026", "3"), ("2026", "1")]
        assert "stories)" not in text_of(archive) and "story)" not in text_of(archive)


def test_archive_index_lists_months_of_current_publications_only(client):
    """A month whose only stories are scheduled, ended, unpublished or drafts is not listed."""
    with time_machine.travel(datetime(2026, 1, 5, tzinfo=UTC), tick=False):
        make_article(title="January, live")
        make_article(title="January, ends", expires_at=datetime(2026, 1, 6, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 2, 5, tzinfo=UTC), tick=False):
        ended = make_article(title="February, ended")
        make_article(title="February, expired", expires_at=datetime(2026, 2, 6, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 2, 6, tzinfo=UTC), tick=False):
        workflow.article_unpublish(article=ended, user=make_user("Moderators"), reason="Withdrawn.")
    with time_machine.travel(datetime(2026, 3, 5, tzinfo=UTC), tick=False):
        make_article(title="March, draft", published=False)
        make_article(title="April, scheduled", go_live_at=datetime(2026, 4, 20, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 4, 10, tzinfo=UTC), tick=False):
        page = text_of(client.get("/archive/"))
    assert re.findall(r'href="/archive/(\d+)/(\d+)/"', page) == [("2026", "1")]


# 10. Hero images: renditions made once, upright, without metadata


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


# 11. Addresses that last


def test_old_address_redirects_and_unpublished_is_gone(client):
    article = make_article(slug="quokka-count")
    edit_working_copy(article, slug="quokka-census")
    assert client.get("/articles/quokka-count/").status_code == 200  # not approved yet: still the live address
    assert client.get("/articles/quokka-census/").status_code == 404
    publish(article)
    moved = client.get("/articles/quokka-count/")
    assert moved.status_code == 301 and moved["Location"] == "/articles/quokka-census/"
    assert client.get("/articles/quokka-census/").status_code == 200
    assert client.get("/api/articles/quokka-census/").status_code == 200
    workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="Legal asked us to.")
    assert client.get("/articles/quokka-census/").status_code == 410
    assert client.get("/articles/quokka-count/").status_code == 410
    assert client.get("/api/articles/quokka-census/").status_code == 404


def test_every_old_address_redirects_straight_to_the_newest(client):
    article = make_article(slug="first-name")
    for slug in ("second-name", "third-name"):
        edit_working_copy(article, slug=slug)
        publish(article)
    for old in ("first-name", "second-name"):
        moved = client.get(f"/articles/{old}/")
        assert moved.status_code == 301 and moved["Location"] == "/articles/third-name/", old


def test_an_old_address_taken_by_another_story_shows_that_story(client):
    first = make_article(slug="harbour-vote", title="First Harbour Vote")
    edit_working_copy(first, slug="harbour-vote-2025")
    publish(first)
    second = make_article(slug="harbour-vote", title="Second Harbour Vote")
    response = client.get("/articles/harbour-vote/")
    assert response.status_code == 200 and second.title in text_of(response)
    assert first.title in text_of(client.get("/articles/harbour-vote-2025/"))


def test_search_excerpts_start_and_end_on_word_boundaries():
    from articles import search

    words = [f"word{n:03d}" for n in range(120)]
    words[60] = "platypus"
    html = str(search.excerpt({"passage": " ".join(words), "stems": ""}, "platypus"))
    inner = html.strip("…")
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>platypus</mark>" in inner
    shown = re.sub(r"</?mark>", "", inner).split(" ")
    assert all(word in words for word in shown), shown  # no word cut in half at either end


def test_a_search_excerpt_of_a_short_passage_is_whole():
    from articles import search

    html = str(search.excerpt({"passage": "A platypus swam past the harbour wall.", "stems": ""}, "platypus"))
    assert html == "A <mark>platypus</mark> swam past the harbour wall."

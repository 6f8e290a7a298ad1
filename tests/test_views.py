"""The readers' pages (articles/views.py): every door to the stories shows current
publications only (Publication.objects.current()), as their approved revision, with their
attribution; lasting addresses, and query counts that do not grow with the number of stories.
Shared helpers and fixtures: tests/readers_fixtures.py."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.utils import timezone

from articles import workflow
from articles.models import Article
from tests.factories import make_article, make_desk, make_source, make_user, publish
from tests.readers_fixtures import (  # noqa: F401 - fixtures
    NOT_LIVE,
    START,
    WORD,
    credited,
    edit_working_copy,
    json_ld,
    newsroom,
    parsed_feed,
    published,
    text_of,
)

pytestmark = pytest.mark.django_db


# Every door shows live stories only


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
def test_story_page_answers_for_current_publications_only(client, newsroom, state):
    """Never live: 404. Live once and no longer (taken down, or its end time passed): 410."""
    article = newsroom["live"] if state == "live" else newsroom["others"][state]
    response = client.get(f"/articles/{article.slug}/")
    expected = {"live": 200, "archived": 410, "expired": 410}.get(state, 404)
    assert response.status_code == expected
    assert (article.title in text_of(response)) == (state == "live")


# Readers see the approved revision, not later edits


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


# Attribution travels with the story everywhere


def test_story_page_has_the_attribution_footer(client, credited):
    page = text_of(client.get(credited.get_absolute_url()))
    foot = page[page.index('<footer class="attribution">') :]
    foot = foot[: foot.index("</footer>")]
    assert "Source: Outback Wire (outback.example)" in foot
    assert 'href="https://outback.example/news/quokkas-return"' in foot
    assert "Please credit Outback Wire when republishing." in foot


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


# Query counts do not grow with the number of stories


def wallaby_reports(n: int, desk, source) -> list[Article]:
    return [
        make_article(title=f"Wallaby report {i}", desk=desk, source=source, tags=["wallabies", f"mob-{i}"])
        for i in range(n)
    ]


# The fewest queries a cold read of each door needs (no margin), the same for 3 stories as
# for 33: one reads the publication generation and the next window boundary (the page
# cache), an HTML page one for the desks in its header (views.header_desks), the rest are the
# view's own (a story page reads its revision only when its
# rendered parts are not kept yet). No door reads more than its page of publications.
QUERIES = {
    "front page": ("/", 4),
    "desk page": ("/desks/outback/", 5),
    "tag page": ("/tags/wallabies/", 5),
    "archive month": ("{archive}", 4),
    "archive index": ("/archive/", 4),  # one look-up per month, and one to find there is no older month
    "search": ("/search/?q=wallaby", 4),
    "RSS": ("/feeds/rss/", 3),  # a feed not kept yet: its ids, then its items (articles/feeds.py)
    "Atom": ("/feeds/atom/", 3),
    "tag RSS": ("/feeds/tags/wallabies/rss/", 4),
    "desk Atom": ("/feeds/desks/outback/atom/", 4),
    "sitemap index": ("/sitemap.xml", 2),
    "sitemap": ("/sitemap-stories.xml", 2),
    "news sitemap": ("/sitemap-news.xml", 3),
    "API list": ("/api/articles/", 2),
    "API detail": ("/api/articles/{slug}/", 2),
    "story page": ("/articles/{slug}/", 4),
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
            with django_assert_max_num_queries(1 + len(months) + 1 + 1):  # and the header's desks
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


# Addresses that last


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

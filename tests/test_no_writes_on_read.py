"""Reading the public site writes nothing (issue 14): with a go-live, a scheduled update and an
expiry all due, a GET to every public door issues no INSERT, UPDATE, DELETE, row lock or
transaction, with the page cache on and off, and still shows what is due.

Every SQL statement of each request is recorded with connection.execute_wrapper. On the
design before publications, the first read after a scheduled moment promoted the update
(row locks, UPDATEs and Transition inserts inside a GET): this test names those requests.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from articles import workflow
from tests.factories import make_article, make_desk, make_user, publish

pytestmark = pytest.mark.django_db

WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|CREATE|DROP|ALTER|TRUNCATE|SAVEPOINT|BEGIN)\b"
    r"|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bFOR\s+(NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(KEY\s+)?SHARE\b",
    re.IGNORECASE,
)


class Recorder:
    """Collects every statement the connection runs (an execute wrapper)."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def writes(self) -> list[str]:
        return [sql for sql in self.statements if WRITE.search(sql)]


@pytest.fixture
def due_site():
    """At `start`: live stories, one approved to go live at start + 10 min, one expiring at
    start + 5 min, a live story with an update approved for start + 10 min, a renamed story and
    an unpublished one. Returns (the moment after all of it is due, the doors and what they answer)."""
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        desk = make_desk(name="Harbour", slug="harbour")
        make_article(title="Ferry Timetable", slug="ferry-timetable", desk=desk, tags=["ferries"])
        make_article(
            title="Wombat Crossing Due",
            slug="wombat-due",
            lede="A wombat crossing opens.",
            desk=desk,
            tags=["ferries"],
            go_live_at=start + timedelta(minutes=10),
        )
        make_article(title="Quokka Expired", slug="quokka-expired", expires_at=start + timedelta(minutes=5))
        updated = make_article(title="Bilby Count Begins", slug="bilby-count", desk=desk)
        updated.title = "Bilby Count Finished"
        updated.save()
        publish(updated, go_live_at=start + timedelta(minutes=10))
        renamed = make_article(title="Pelican Story", slug="pelican-old")
        traveller.shift(timedelta(seconds=1))  # a version approved at the same instant replaces the first
        renamed.slug = "pelican-new"
        renamed.save()
        publish(renamed)
        pulled = make_article(title="Pulled Story", slug="pulled-story")
        traveller.shift(timedelta(seconds=1))  # a window may not be empty
        workflow.article_unpublish(article=pulled, user=make_user("Moderators"), reason="Legal hold.")
    later = start + timedelta(minutes=20)
    doors = {
        "front page": ("/", 200),
        "story page (due)": ("/articles/wombat-due/", 200),
        "story page (updated)": ("/articles/bilby-count/", 200),
        "story page (expired)": ("/articles/quokka-expired/", 410),
        "old slug redirect": ("/articles/pelican-old/", 301),
        "unpublished": ("/articles/pulled-story/", 410),
        "desk page": ("/desks/harbour/", 200),
        "tag page": ("/tags/ferries/", 200),
        "archive index": ("/archive/", 200),
        "archive month": (f"/archive/{later:%Y}/{later.month}/", 200),
        "search": ("/search/?q=wombat", 200),
        "RSS": ("/feeds/rss/", 200),
        "Atom": ("/feeds/atom/", 200),
        "desk RSS": ("/feeds/desks/harbour/rss/", 200),
        "desk Atom": ("/feeds/desks/harbour/atom/", 200),
        "tag RSS": ("/feeds/tags/ferries/rss/", 200),
        "tag Atom": ("/feeds/tags/ferries/atom/", 200),
        "API list": ("/api/articles/", 200),
        "API detail": ("/api/articles/wombat-due/", 200),
        "sitemap index": ("/sitemap.xml", 200),
        "sitemap": ("/sitemap-stories.xml", 200),
        "news sitemap": ("/sitemap-news.xml", 200),
        "robots.txt": ("/robots.txt", 200),
    }
    return later, doors


@pytest.mark.parametrize("page_cache", [300, 0], ids=["page cache on", "page cache off"])
def test_no_public_door_writes_with_a_schedule_due(client, settings, due_site, page_cache):
    settings.NEWSROOM_PAGE_CACHE_SECONDS = page_cache
    later, doors = due_site
    recorder = Recorder()
    writes, wrong = {}, {}
    with time_machine.travel(later, tick=False), connection.execute_wrapper(recorder):
        for attempt in ("first read", "second read"):  # a miss, then (cache on) a hit
            for door, (url, status) in doors.items():
                recorder.statements.clear()
                response = client.get(url)
                if response.status_code != status:
                    wrong[f"{door} ({attempt})"] = response.status_code
                if recorder.writes():
                    writes[f"{door} ({attempt})"] = recorder.writes()
    assert writes == {}, "a reader's request wrote to the database"
    assert wrong == {}, "a door answered with the wrong status"


@pytest.mark.parametrize("page_cache", [300, 0], ids=["page cache on", "page cache off"])
def test_what_is_due_is_shown_and_what_ended_is_not(client, settings, due_site, page_cache):
    settings.NEWSROOM_PAGE_CACHE_SECONDS = page_cache
    later, doors = due_site
    with time_machine.travel(later - timedelta(minutes=19), tick=False):
        front = client.get("/").content.decode()  # cached (page cache on) before anything was due
        assert "Wombat Crossing Due" not in front and "Quokka Expired" in front
    with time_machine.travel(later, tick=False):
        for url in ("/", "/feeds/rss/", "/api/articles/", "/desks/harbour/", "/tags/ferries/"):
            page = client.get(url).content.decode()
            assert "Wombat Crossing Due" in page, url
            assert "Quokka Expired" not in page, url
        assert "Bilby Count Finished" in client.get("/articles/bilby-count/").content.decode()
        assert "wombat-due" in client.get("/sitemap-stories.xml").content.decode()
        assert "Wombat Crossing Due" in client.get("/search/?q=wombat").content.decode()
        assert client.get("/articles/pelican-old/")["Location"].endswith("/articles/pelican-new/")

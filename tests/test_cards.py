"""Story cards: kept on the Publication when a version is approved, read by every list."""

import re
import zoneinfo
from datetime import datetime

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import workflow
from articles.cards import card_data, card_view
from articles.models import Article, Publication
from tests.factories import make_article, make_desk, make_user, publish

pytestmark = pytest.mark.django_db

LIST_DOORS = [
    "/",
    "/desks/cards/",
    "/tags/numbats/",
    "/feeds/rss/",
    "/feeds/tags/numbats/atom/",
    "/api/articles/",
    "/search/?q=numbat",
]


def card_of(article: Article) -> dict | None:
    """The card of the story's current publication (None: nothing current)."""
    return Publication.objects.current().filter(article=article).values_list("card", flat=True).first()


def test_the_card_follows_the_current_publication_only():
    article = make_article(title="Numbat Count Rises", tags=["numbats"])
    publication = Publication.objects.current().get(article=article)
    data = {**publication.revision.data, "published_at": publication.published_at.isoformat(), "updated_at": None}
    assert card_of(article) == card_data(data)
    assert card_of(article)["title"] == "Numbat Count Rises"

    article.title = "Numbat Count Falls"
    article.save()
    workflow.article_saved(article=article, user=make_user("Editors"))
    assert card_of(article)["title"] == "Numbat Count Rises", "an unapproved edit reached the card"

    publish(article)
    assert card_of(article)["title"] == "Numbat Count Falls"

    workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="Legal hold.")
    assert card_of(article) is None


def test_lists_read_cards_not_revisions(client):
    desk = make_desk(name="Cards", slug="cards")
    for n in range(3):
        make_article(title=f"Numbat Survey {n}", desk=desk, tags=["numbats"], lede="A numbat survey began.")
    for url in LIST_DOORS:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        assert "Numbat Survey 2" in response.content.decode(), url
        revision_reads = [q["sql"] for q in queries if "articles_revision" in q["sql"]]
        assert revision_reads == [], f"{url} read whole revisions: {revision_reads}"


def test_the_teaser_is_the_first_35_words_and_the_feed_has_the_whole_lede(client):
    words = [f"word{n}" for n in range(50)]
    make_article(title="A Long Lede", lede=" ".join(words) + ".")
    page = client.get("/").content.decode()
    teaser = re.search(r'<p class="card__lede">(.*?)</p>', page).group(1)
    assert teaser == " ".join(words[:35]) + "…"
    assert "word49." in client.get("/feeds/rss/").content.decode()


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/St_Johns"])
def test_card_dates_read_as_the_date_filter_would_in_the_site_time_zone(zone):
    article = make_article()
    published = datetime(2026, 3, 31, 22, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    card = {**card_of(article), "published_at": published.isoformat()}
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        view = card_view(card)
        as_templates_did = Template(r'{{ at|date:"Y-m-d\TH:i:sO" }} {{ at|date:"j F Y" }}')
        assert f"{view.published_iso} {view.published_day}" == as_templates_did.render(Context({"at": published}))
    if zone == "Pacific/Auckland":
        assert view.published_day == "1 April 2026"


@pytest.mark.parametrize("url", ["/", "/feeds/rss/", "/feeds/atom/"])
def test_a_new_version_replaces_its_remembered_card_at_once(client, url):
    article = make_article(title="Bilby Census", lede="Rangers counted forty bilbies.")
    assert "forty bilbies" in client.get(url).content.decode()  # rendered, and remembered
    article.lede = "Rangers counted sixty bilbies."
    article.save()
    publish(article)
    page = client.get(url).content.decode()
    assert "sixty bilbies" in page and "forty bilbies" not in page


@pytest.mark.parametrize("url", ["/feeds/rss/", "/feeds/atom/", "/feeds/tags/numbats/rss/"])
def test_a_feed_is_sent_in_one_piece(client, url):
    """The feed generator writes many small pieces; the server must not send each one."""
    for n in range(5):
        make_article(title=f"Numbat Sighting {n}", tags=["numbats"])
    response = client.get(url)
    assert response.status_code == 200
    assert len([piece for piece in response if piece]) == 1


def test_story_addresses_match_reversing():
    from django.urls import reverse

    from articles import links

    for slug in ["a", "harbour-story-12", "Mixed_Case-slug-9"]:
        assert links.story_path(slug) == reverse("articles:detail", kwargs={"slug": slug})


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland"])
def test_an_archive_month_holds_its_own_stories_in_the_site_time_zone(client, settings, zone):
    settings.TIME_ZONE = zone
    local = zoneinfo.ZoneInfo(zone)
    december = make_article(title="Late December Story")
    january = make_article(title="Early January Story")
    Publication.objects.filter(article=december).update(published_at=datetime(2025, 12, 31, 23, 30, tzinfo=local))
    Publication.objects.filter(article=january).update(published_at=datetime(2026, 1, 1, 0, 30, tzinfo=local))
    page = client.get("/archive/2025/12/").content.decode()
    assert "Late December Story" in page and "Early January Story" not in page
    page = client.get("/archive/2026/1/").content.decode()
    assert "Early January Story" in page and "Late December Story" not in page
    assert client.get("/archive/2026/13/").status_code == 404
    assert client.get("/archive/9999/12/").status_code == 404

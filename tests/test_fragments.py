"""Rendered pieces kept per publication (articles/fragments.py): cards, story pages and
feed item descriptions are rendered once, shown as HTML, and replaced at once by a new version."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import workflow
from tests.factories import make_article, make_desk, make_user, publish

pytestmark = pytest.mark.django_db

CARD, STORY = "articles/_story_card.html", "body"  # a partial is named by its own name


def rendered(response) -> list[str]:
    return [t.name for t in response.templates]


def forget_pages():
    """Empty the page cache as if its pages had expired (the generation is in the database,
    the rendered pieces in the "fragments" cache): the next read builds its page again,
    from the kept pieces."""
    cache.clear()


def test_a_list_renders_each_card_once_and_shows_kept_cards_as_html(client):
    desk = make_desk(name="Cards", slug="cards")
    for n in range(3):
        make_article(title=f"Quokka Count {n}", desk=desk)
    first = client.get("/desks/cards/")
    assert rendered(first).count(CARD) == 3
    forget_pages()
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/desks/cards/")
    assert CARD not in rendered(again)
    assert not [q["sql"] for q in queries if '"card"' in q["sql"]], "kept cards were read again"
    page = again.content.decode()
    assert page.count('<article class="card">') == 3 and "&lt;article" not in page
    assert page.split('<ol class="story-list">')[1] == first.content.decode().split('<ol class="story-list">')[1]


def test_a_story_page_is_rendered_once_per_revision_and_read_from_the_revision_once(client):
    article = make_article(title="Bilby Census", lede="Rangers counted forty bilbies.")
    url = article.get_absolute_url()
    first = client.get(url)
    assert STORY in rendered(first)
    cache.clear()  # the page cache (as after any publish), not the kept pieces
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert STORY not in rendered(again)
    assert not [q["sql"] for q in queries if "articles_revision" in q["sql"]]
    assert again.content == first.content
    page = again.content.decode()
    assert '<article class="story">' in page and '<script type="application/ld+json">' in page
    assert "&lt;article" not in page and "&lt;script" not in page


def test_a_new_version_of_a_story_is_shown_at_once(client):
    article = make_article(title="Bilby Census", lede="Rangers counted forty bilbies.")
    assert "forty bilbies" in client.get(article.get_absolute_url()).content.decode()
    article.lede = "Rangers counted sixty bilbies."
    article.save()
    publish(article)
    page = client.get(article.get_absolute_url()).content.decode()
    assert "sixty bilbies" in page and "forty bilbies" not in page


def test_an_unpublished_story_is_gone_even_with_its_page_kept(client):
    article = make_article(title="Bilby Census")
    assert client.get(article.get_absolute_url()).status_code == 200
    workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="Legal hold.")
    assert client.get(article.get_absolute_url()).status_code == 410


def test_each_host_gets_its_own_canonical_address(client, settings):
    settings.ALLOWED_HOSTS = ["news.example", "mirror.example"]
    article = make_article(title="Bilby Census")
    for host in ("news.example", "mirror.example"):
        page = client.get(article.get_absolute_url(), HTTP_HOST=host).content.decode()
        assert f'<link rel="canonical" href="http://{host}{article.get_absolute_url()}">' in page
        assert f'"url": "http://{host}{article.get_absolute_url()}"' in page


def test_a_preview_shows_the_working_copy_not_the_kept_live_page(client):
    article = make_article(title="Bilby Census", lede="Rangers counted forty bilbies.")
    client.get(article.get_absolute_url())  # the live version's pieces are kept
    article.lede = "Draft: rangers counted sixty bilbies."
    article.save()
    client.force_login(make_user("Editors", is_staff=True))
    preview = client.get(f"/admin/articles/article/{article.pk}/preview/")
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "sixty bilbies" in page and "forty bilbies" not in page
    assert '<meta name="robots" content="noindex, nofollow">' in page


ITEM = "articles/feed_item.html"


@pytest.mark.parametrize("url", ["/feeds/rss/", "/feeds/atom/"])
def test_a_feed_renders_each_item_description_once(client, url):
    for n in range(3):
        make_article(title=f"Quokka Count {n}")
    first = client.get(url)
    assert rendered(first).count(ITEM) == 3
    make_article(title="Quokka Count 3")  # a new feed: one new item and three kept descriptions
    again = client.get(url)  # the publication made the cached feed stale
    assert rendered(again).count(ITEM) == 1, "a kept description was rendered again"
    tag = "<item>" if "rss" in url else "<entry>"
    assert again.content.decode().count(tag) == 4
    assert again.content.decode().split(tag, 2)[2] in first.content.decode(), "the kept items changed"


def test_a_feed_costs_one_query_of_its_own_and_follows_every_publication(client):
    make_article(title="Numbat Count A")
    make_article(title="Numbat Count B")
    first = client.get("/feeds/rss/")
    forget_pages()
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/feeds/rss/")
    assert again.content == first.content and ITEM not in rendered(again)
    # Kept whole under the publications it lists: one query of its own (their ids), no card read.
    own = [q["sql"] for q in queries if "publicationgeneration" not in q["sql"].lower()]
    assert len(own) == 1 and '"card"' not in own[0] and len(queries) <= 2, [q["sql"] for q in queries]
    latest = make_article(title="Numbat Count C")
    assert "Numbat Count C" in client.get("/feeds/rss/").content.decode()
    workflow.article_unpublish(article=latest, user=make_user("Moderators"), reason="Legal hold.")
    after = client.get("/feeds/rss/")
    assert "Numbat Count C" not in after.content.decode()
    assert after.content == first.content  # the first feed again: the same publications


def test_a_kept_desk_feed_shows_its_desk_renamed(client):
    from articles.models import Desk

    desk = make_desk(name="Outback", slug="outback")
    make_article(title="Numbat Count", desk=desk)
    assert "<title>Newsroom: Outback</title>" in client.get("/feeds/desks/outback/rss/").content.decode()
    Desk.objects.filter(pk=desk.pk).update(name="Red Centre")
    forget_pages()  # renaming a desk does not clear cached pages; they expire
    assert "<title>Newsroom: Red Centre</title>" in client.get("/feeds/desks/outback/rss/").content.decode()


def test_a_feed_item_is_kept_per_address(client, settings):
    settings.ALLOWED_HOSTS = ["news.example", "mirror.example"]
    article = make_article(title="Bilby Census")
    for host in ("news.example", "mirror.example"):
        feed = client.get("/feeds/rss/", HTTP_HOST=host).content.decode()
        assert f"<link>http://{host}{article.get_absolute_url()}</link>" in feed


def test_a_card_whose_story_was_deleted_meanwhile_is_left_out(client):
    from articles import fragments
    from articles.models import Publication

    make_article(title="Quokka Count")
    gone = make_article(title="Withdrawn Count")
    publications = list(Publication.objects.current().order_by("-id").values_list("pk", flat=True))
    gone.delete()  # the list was read before the story was deleted
    html = fragments.cards(publications)
    assert len(html) == 1 and "Quokka Count" in html[0]

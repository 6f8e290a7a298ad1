"""seed_stories: realistic stories in bulk, put live through the one go-live path
(articles.publications.go_live_many) and readable through every public door."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from articles.models import Article, KeyFact, Point, Publication, PublicationTag, Revision, Section, TakePoint
from articles.publications import AddressTaken, go_live_many
from tests.factories import make_article

pytestmark = pytest.mark.django_db


def seed(count: int, *options: str) -> str:
    err = StringIO()
    call_command("seed_stories", "--count", str(count), *options, stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_seeded_stories_have_every_part_and_a_mix_of_states(client):
    assert "60/60" in seed(60)  # the progress bar reached the end
    assert Article.objects.count() == 60
    assert KeyFact.objects.count() == 240 and Section.objects.count() == 180
    assert Point.objects.count() == 540 and TakePoint.objects.count() == 180
    current = Publication.objects.current()
    assert 30 < current.count() < 60
    assert Article.objects.filter(status__in=["draft", "in_review"]).exists()
    publication = current.select_related("article", "revision").first()
    story = publication.article
    assert story.tags.count() == 3 and story.revisions.get().kind == "approval"
    page = client.get(f"/articles/{publication.slug}/")
    assert page.status_code == 200 and story.title in page.content.decode()
    listed = client.get("/api/articles/?page_size=100").json()["results"]
    assert len(listed) == current.count()


def test_seeded_publications_carry_what_go_live_writes():
    seed(40, "--live-share", "0.6")
    for publication in Publication.objects.select_related("article", "revision", "desk", "source"):
        data = publication.revision.data
        assert publication.slug == data["slug"] == publication.article.slug
        assert publication.desk.slug == data["desk"]["slug"] and publication.source.name == data["source"]["name"]
        assert publication.published_at == publication.live_from and publication.live_until is None
        assert publication.card["title"] == data["title"] and publication.card["teaser"]
        assert publication.card["published_at"] == publication.published_at.isoformat()
        assert publication.search_title == data["title"] and publication.search_body
        assert publication.changes == [] and publication.updated_at is None
        assert sorted(publication.tags.values_list("slug", flat=True)) == sorted(t["slug"] for t in data["tags"])


def test_seeded_live_stories_are_exactly_the_current_publications():
    """Live stories are current, scheduled ones are not (yet), drafts and stories in review
    have no publication, and no address is held twice."""
    seed(120, "--live-share", "0.5")
    now = timezone.now()
    approved = Revision.objects.filter(kind=Revision.Kind.APPROVAL)
    assert set(Publication.objects.values_list("revision_id", flat=True)) == set(approved.values_list("pk", flat=True))
    live = set(Publication.objects.filter(live_from__lte=now).values_list("article_id", flat=True))
    scheduled = set(Publication.objects.filter(live_from__gt=now).values_list("article_id", flat=True))
    assert live and scheduled  # the mix has both
    assert set(Publication.objects.current(now).values_list("article_id", flat=True)) == live
    assert set(Publication.objects.scheduled(now).values_list("article_id", flat=True)) == scheduled
    assert set(Article.objects.live().values_list("pk", flat=True)) == live
    unapproved = Article.objects.filter(status__in=["draft", "in_review"])
    assert unapproved.exists() and not Publication.objects.filter(article__in=unapproved).exists()
    assert not Publication.objects.current(now).values("slug").annotate(n=Count("pk")).filter(n__gt=1).exists()


def test_tag_rows_keep_the_first_publication_time():
    """Tag pages walk PublicationTag newest first: each seeded tag row carries its
    publication's time, and the API's tag list follows it."""
    seed(60)
    tag_rows = PublicationTag.objects.select_related("publication", "tag")
    assert tag_rows.count() == 3 * Publication.objects.count()
    assert all(row.published_at == row.publication.published_at for row in tag_rows)


def test_seeding_twice_adds_more_without_clashes():
    seed(10)
    seed(10, "--seed", "2")
    assert Article.objects.count() == 20
    assert Publication.objects.count() == Revision.objects.filter(kind=Revision.Kind.APPROVAL).count()


def test_go_live_many_refuses_an_address_another_story_holds():
    seed(20, "--live-share", "1")
    holder = Publication.objects.current().select_related("article").first()
    newcomer = make_article(title="Newcomer", slug="newcomer", published=False)
    revision = Revision.objects.create(
        article=newcomer, number=1, kind=Revision.Kind.APPROVAL, data={**holder.revision.data, "title": "Newcomer"}
    )
    with pytest.raises(AddressTaken, match=holder.article.title):
        go_live_many([{"article": newcomer, "revision": revision, "start": timezone.now()}])
    assert not Publication.objects.filter(article=newcomer).exists()


def test_go_live_many_refuses_one_address_twice_in_a_batch():
    first = make_article(title="First", slug="first", published=False)
    second = make_article(title="Second", slug="second", published=False)
    seed(1, "--live-share", "1")
    data = Publication.objects.get().revision.data
    items = [
        {
            "article": article,
            "revision": Revision.objects.create(
                article=article, number=1, kind=Revision.Kind.APPROVAL, data={**data, "slug": "shared"}
            ),
            "start": timezone.now(),
        }
        for article in (first, second)
    ]
    with pytest.raises(AddressTaken, match="“First” and “Second”"):
        go_live_many(items)
    assert not Publication.objects.filter(slug="shared").exists()

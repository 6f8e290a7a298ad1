"""The publication record (articles.publications): one row per approved version with its
window, written only by approve and unpublish; time passing changes what is current without
anything being written; an address is held by one story at a time (issue 14, parts 1-3)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import publications, workflow
from articles.models import Publication, PublicationGeneration, PublicationTag, Revision, Transition
from tests.factories import make_article, make_desk, make_user, publish

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def start():
    """A whole second in the past few minutes: the clock every test starts from."""
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def moderator():
    return make_user("Moderators")


def rows(article) -> list[Publication]:
    return list(Publication.objects.filter(article=article).order_by("live_from"))


def current(article, at=None) -> list[Publication]:
    return list(Publication.objects.current(at).filter(article=article))


def generation() -> int:
    return PublicationGeneration.objects.filter(pk=1).values_list("value", flat=True).first() or 0


def edit(article, **fields):
    """Change the working copy (not yet approved)."""
    for name, value in fields.items():
        setattr(article, name, value)
    article.save()
    return article


def rename_working_copy(article, slug: str):
    """An editor gives the story another slug and saves, without approving: the working copy
    moves on, the approved versions keep theirs (and an Article's own slug is unique)."""
    edit(article, slug=slug)
    workflow.article_saved(article=article, user=make_user("Editors"))


def record_counts() -> tuple[int, ...]:
    """What a reader must never change: publications, their tags, transitions, revisions, the generation."""
    return (
        Publication.objects.count(),
        PublicationTag.objects.count(),
        Transition.objects.count(),
        Revision.objects.count(),
        generation(),
    )


def written(queries) -> list[str]:
    """The statements among `queries` that write or lock rows."""
    return [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES) or "FOR UPDATE" in q["sql"].upper()
    ]


# Part 1: the window, through the workflow


def test_approving_for_later_writes_a_new_row_and_ends_the_current_one_at_that_moment(start):
    with time_machine.travel(start, tick=False):
        article = make_article(title="Ferry Timetable")
        (first,) = rows(article)
        assert (first.live_from, first.live_until, first.slug) == (start, None, article.slug)
        moved = generation()
        publish(edit(article, title="Ferry Timetable, Revised"), go_live_at=start + HOUR)
        assert generation() > moved
        first, second = rows(article)
        assert first.live_until == second.live_from == start + HOUR
        assert second.live_until is None and second.revision.data["title"] == "Ferry Timetable, Revised"
        assert current(article) == [first]
        assert publications.upcoming(article.pk) == second
        assert article.status_label() == "Published, update scheduled"


def test_time_passing_makes_the_scheduled_version_current_with_nothing_written(start):
    with time_machine.travel(start, tick=False):
        article = make_article(title="Bridge Closure")
        publish(edit(article, title="Bridge Closure Extended"), go_live_at=start + HOUR)
        first, second = rows(article)
    with time_machine.travel(start + HOUR, tick=False):
        before = record_counts()
        with CaptureQueriesContext(connection) as queries:
            assert current(article) == [second]
            assert publications.live_now(article.pk) == second
            assert publications.approved(article.pk) == second
            assert publications.upcoming(article.pk) is None
            assert article.is_live and not article.is_scheduled
            assert article.status_label() == "Published"
            assert article.live_revision.data["title"] == "Bridge Closure Extended"
        assert written(queries) == []
        assert record_counts() == before
        assert rows(article) == [first, second]  # nothing promoted: the rows are as approved
        assert rows(article)[0].live_until == start + HOUR


def test_public_reads_after_a_scheduled_moment_write_nothing(client, start):
    with time_machine.travel(start, tick=False):
        article = make_article(title="Lighthouse Reopens")
        publish(edit(article, title="Lighthouse Reopens Early"), go_live_at=start + HOUR)
    with time_machine.travel(start + HOUR + TICK, tick=False):
        before = record_counts()
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/articles/{article.slug}/")
            front = client.get("/")
        assert written(queries) == []
        assert record_counts() == before
        assert page.status_code == 200 and "Lighthouse Reopens Early" in page.content.decode()
        assert "Lighthouse Reopens Early" in front.content.decode()


def test_unpublish_ends_the_window_now_and_drops_scheduled_versions(start, moderator):
    with time_machine.travel(start, tick=False):
        article = make_article()
        publish(edit(article, title="Embargoed Follow-up"), go_live_at=start + HOUR)
    later = start + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        moved = generation()
        workflow.article_unpublish(article=article, user=moderator, reason="Source withdrew it.")
        (only,) = rows(article)
        assert only.live_until == later
        assert current(article) == [] and publications.approved(article.pk) is None
        assert generation() > moved
    with time_machine.travel(start + 2 * HOUR, tick=False):
        assert current(article) == []  # the dropped update never comes


def test_unpublishing_in_the_instant_a_version_went_live_leaves_nothing_current(start, moderator):
    """A window cannot be empty (publication_window_not_empty): a version that starts at the
    moment of the takedown is dropped, like a scheduled one, not ended at its own start."""
    with time_machine.travel(start, tick=False):
        article = make_article()
        workflow.article_unpublish(article=article, user=moderator, reason="Wrong story.")
        assert current(article) == [] and publications.approved(article.pk) is None
        article.refresh_from_db()
        assert article.status == "archived"


def test_expiry_ends_the_window_at_its_time(start):
    expires = start + 2 * HOUR
    with time_machine.travel(start, tick=False):
        article = make_article(expires_at=expires)
        (publication,) = rows(article)
        assert publication.live_until == expires
    with time_machine.travel(expires - TICK, tick=False):
        assert current(article) == [publication]
    with time_machine.travel(expires, tick=False):
        before = record_counts()
        assert current(article) == [] and not article.is_live
        assert record_counts() == before


def test_deleting_a_story_deletes_its_publications_and_moves_the_generation(start):
    with time_machine.travel(start, tick=False):
        tag_story = make_article(tags=["harbour"])
        publish(edit(tag_story, title="Scheduled Sequel"), go_live_at=start + HOUR)
        other = make_article()
    assert len(rows(tag_story)) == 2 and PublicationTag.objects.filter(publication__article=tag_story).exists()
    moved = generation()
    tag_story.delete()
    assert not Publication.objects.filter(article_id=tag_story.pk).exists()
    assert not PublicationTag.objects.filter(publication__article_id=tag_story.pk).exists()
    assert len(rows(other)) == 1
    assert generation() > moved


def test_at_any_instant_a_story_has_at_most_one_current_publication(start):
    """Now, an update at +1h that expires at +3h, then another at +2h that ends the first
    early: three back-to-back windows, checked on and either side of every boundary."""
    with time_machine.travel(start, tick=False):
        article = make_article()
        publish(edit(article, title="Second Version"), go_live_at=start + HOUR, expires_at=start + 3 * HOUR)
        publish(edit(article, title="Third Version"), go_live_at=start + 2 * HOUR)
        first, second, third = rows(article)
    assert [(p.live_from, p.live_until) for p in (first, second, third)] == [
        (start, start + HOUR),
        (start + HOUR, start + 2 * HOUR),
        (start + 2 * HOUR, None),
    ]
    expected = {start - TICK: None, start: first, start + HOUR - TICK: first, start + HOUR: second}
    expected |= {start + 2 * HOUR - TICK: second, start + 2 * HOUR: third, start + 3 * HOUR: third}
    expected |= {start + 365 * 24 * HOUR: third}
    for at, version in expected.items():
        assert current(article, at) == ([version] if version else []), at
        with time_machine.travel(at, tick=False):
            assert current(article) == ([version] if version else []), at


def test_approving_earlier_than_a_scheduled_version_replaces_it(start):
    with time_machine.travel(start, tick=False):
        article = make_article()
        publish(edit(article, title="Late Version"), go_live_at=start + 2 * HOUR)
        publish(edit(article, title="Early Version"), go_live_at=start + HOUR)
        first, second = rows(article)
    assert second.revision.data["title"] == "Early Version"
    assert first.live_until == second.live_from == start + HOUR and second.live_until is None
    for at in (start, start + HOUR, start + 2 * HOUR, start + 3 * HOUR):
        assert len(current(article, at)) == 1, at


def test_first_publication_date_survives_updates_and_unpublish_and_republish(start, moderator):
    with time_machine.travel(start, tick=False):
        article = make_article(tags=["ferries"])
    with time_machine.travel(start + HOUR, tick=False):
        publish(edit(article, title="Updated Once"))
        publish(edit(article, title="Updated Twice"), go_live_at=start + 2 * HOUR)
    with time_machine.travel(start + 3 * HOUR, tick=False):
        workflow.article_unpublish(article=article, user=moderator, reason="Checking a fact.")
    with time_machine.travel(start + 4 * HOUR, tick=False):
        workflow.article_reopen(article=article, user=moderator)
        publish(edit(article, title="Back Again"))
        versions = rows(article)
        assert len(versions) == 4 and current(article) == [versions[-1]]
    for publication in versions:
        assert publication.published_at == start, publication
        assert publication.card["published_at"] == start.isoformat(), publication
        assert set(publication.taggings.values_list("published_at", flat=True)) == {start}, publication


# Part 2: the outage sequence of the issue is a refused approval


PUBLIC_URLS = (
    "/",
    "/?page=1",
    "/archive/",
    "/search/?q=harbour",
    "/api/articles/",
    "/feeds/rss/",
    "/feeds/atom/",
    "/sitemap.xml",
    "/sitemap-news.xml",
    "/robots.txt",
)


def story_urls(slug: str) -> list[str]:
    return [f"/articles/{slug}/", f"/api/articles/{slug}/"]


def test_the_outage_sequence_is_a_refused_approval_and_every_page_answers(client, start, moderator):
    desk = make_desk()
    with time_machine.travel(start, tick=False):
        a = make_article(title="Story A", slug="story-a", desk=desk, tags=["harbour"])
        publish(edit(a, slug="story-a-renamed"), go_live_at=start + HOUR)
        # An editor renames A again in its working copy: the scheduled version keeps "story-a-renamed".
        rename_working_copy(a, "story-a-final")
        b = make_article(published=False, title="Story B", slug="story-a-renamed", desk=desk, tags=["harbour"])
        with pytest.raises(workflow.TransitionNotAllowed) as refused:
            publish(b, by=moderator)
        assert "Story A" in refused.value.message and "story-a-renamed" in refused.value.message
        assert rows(b) == []
        b.refresh_from_db()
        assert b.status != "published"
    with time_machine.travel(start + HOUR + TICK, tick=False):
        before = record_counts()
        urls = [*PUBLIC_URLS, f"/desks/{desk.slug}/", "/tags/harbour/", f"/feeds/desks/{desk.slug}/rss/"]
        urls += ["/feeds/tags/harbour/rss/", f"/archive/{start:%Y}/{start:%m}/", "/sitemap-articles.xml"]
        urls += story_urls("story-a-renamed") + story_urls("story-a") + story_urls("story-a-final")
        answers = {url: client.get(url).status_code for url in urls}
        assert {url: code for url, code in answers.items() if code >= 500} == {}
        assert answers["/articles/story-a-renamed/"] == 200
        assert answers["/api/articles/story-a-renamed/"] == 200
        assert record_counts() == before


def test_a_window_after_the_other_storys_scheduled_version_ends_is_accepted(start, moderator):
    with time_machine.travel(start, tick=False):
        a = make_article(title="Story A", slug="tide-a")
        publish(edit(a, slug="tide-a-new"), go_live_at=start + HOUR, expires_at=start + 3 * HOUR)
        rename_working_copy(a, "tide-a-later")
        b = make_article(published=False, title="Story B", slug="tide-a-new")
        with pytest.raises(workflow.TransitionNotAllowed, match="Story A"):
            publish(b, by=moderator, go_live_at=start + 2 * HOUR)  # inside A's window
        with pytest.raises(workflow.TransitionNotAllowed, match="Story A"):
            publish(b, by=moderator, go_live_at=start + HOUR / 2)  # open-ended: runs into A's window
        assert rows(b) == []
        publish(b, by=moderator, go_live_at=start + 3 * HOUR)  # starts as A's ends
        (accepted,) = rows(b)
        assert (accepted.slug, accepted.live_from) == ("tide-a-new", start + 3 * HOUR)


def test_a_window_that_ends_as_the_other_storys_begins_is_accepted(start, moderator):
    with time_machine.travel(start, tick=False):
        a = make_article(title="Story A", slug="quay-a")
        publish(edit(a, slug="quay-a-new"), go_live_at=start + 2 * HOUR)
        rename_working_copy(a, "quay-a-later")
        b = make_article(published=False, title="Story B", slug="quay-a-new")
        publish(b, by=moderator, go_live_at=start + HOUR, expires_at=start + 2 * HOUR)
        (accepted,) = rows(b)
        assert accepted.live_until == start + 2 * HOUR


def test_the_same_clash_with_an_address_live_now_is_refused(start, moderator):
    with time_machine.travel(start, tick=False):
        rename_working_copy(make_article(title="Story A", slug="pier-a"), "pier-a-later")
        b = make_article(published=False, title="Story B", slug="pier-a")
        with pytest.raises(workflow.TransitionNotAllowed) as refused:
            publish(b, by=moderator)
        assert "Story A" in refused.value.message and "now" in refused.value.message
        with pytest.raises(workflow.TransitionNotAllowed, match="Story A"):
            publish(b, by=moderator, go_live_at=start + 5 * HOUR)
        assert rows(b) == []


def test_an_address_given_up_by_unpublishing_may_be_taken(start, moderator):
    with time_machine.travel(start, tick=False):
        a = make_article(title="Story A", slug="jetty-a")
    with time_machine.travel(start + HOUR, tick=False):
        workflow.article_unpublish(article=a, user=moderator, reason="Duplicate.")
        rename_working_copy(a, "jetty-a-old")
        b = make_article(title="Story B", slug="jetty-a")
        assert len(current(b)) == 1


def test_a_live_story_may_keep_its_own_address_in_a_new_version(start):
    with time_machine.travel(start, tick=False):
        article = make_article(slug="own-address")
        publish(edit(article, title="Same Address"), go_live_at=start + HOUR)
    with time_machine.travel(start + HOUR / 2, tick=False):
        publish(edit(article, title="Same Address Now"))
        assert [p.slug for p in rows(article)] == ["own-address", "own-address"]


# Part 3: the database keeps it true (PostgreSQL's exclusion constraints)


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("exclusion constraints are PostgreSQL's (SQLite checks the same in code, tested above)")


def raw_publication(article, *, slug: str, live_from, live_until=None) -> Publication:
    """A publication written straight to the table, past the workflow and its checks."""
    number = Revision.objects.filter(article=article).count() + 1
    revision = Revision.objects.create(
        article=article, number=number, kind=Revision.Kind.APPROVAL, data={"slug": slug, "title": article.title}
    )
    return Publication.objects.create(
        article=article,
        revision=revision,
        slug=slug,
        card={"slug": slug},
        published_at=live_from,
        live_from=live_from,
        live_until=live_until,
    )


def refused_by_database(constraint: str, **fields):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        raw_publication(**fields)


@pytest.mark.postgres
def test_two_overlapping_windows_of_one_story_are_refused_by_the_database(on_postgres, start):
    article = make_article(published=False)
    raw_publication(article, slug="one", live_from=start, live_until=start + 2 * HOUR)
    for live_from, live_until in ((start + HOUR, None), (start - HOUR, start + TICK), (start, start + HOUR)):
        refused_by_database(
            "publication_one_window_per_story", article=article, slug="two", live_from=live_from, live_until=live_until
        )
    raw_publication(article, slug="two", live_from=start + 2 * HOUR)  # back to back is allowed
    assert len(rows(article)) == 2


@pytest.mark.postgres
def test_one_address_in_two_stories_at_once_is_refused_by_the_database(on_postgres, start):
    a, b = make_article(published=False), make_article(published=False)
    raw_publication(a, slug="shared", live_from=start, live_until=start + HOUR)
    for live_from, live_until in ((start + HOUR - TICK, None), (start - HOUR, start + TICK)):
        refused_by_database(
            "publication_one_story_per_address", article=b, slug="shared", live_from=live_from, live_until=live_until
        )
    raw_publication(b, slug="shared", live_from=start + HOUR)
    raw_publication(b, slug="elsewhere", live_from=start - HOUR, live_until=start)


@pytest.mark.postgres
def test_a_clash_that_slips_past_the_check_comes_back_as_the_refusal(on_postgres, start, moderator, monkeypatch):
    """Two approvals racing: the code check saw the address free, the constraint did not."""
    real = publications.address_refusal
    skipped = []

    def blind_once(*args, **kwargs):
        if not skipped:
            skipped.append(args)
            return None
        return real(*args, **kwargs)

    a = make_article(title="Story A", slug="slipway")
    rename_working_copy(a, "slipway-later")
    b = make_article(published=False, title="Story B", slug="slipway")
    monkeypatch.setattr(publications, "address_refusal", blind_once)
    with pytest.raises(workflow.TransitionNotAllowed) as refused:
        publish(b, by=moderator)
    assert skipped, "the code check was not skipped: the database did not decide"
    assert "Story A" in refused.value.message
    assert rows(b) == [] and len(current(a)) == 1
    b.refresh_from_db()
    assert b.status != "published"
    assert Publication.objects.count() == 1  # the transaction is still usable

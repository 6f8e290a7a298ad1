"""Migrations that move data: what was there before is there after."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE, AFTER = [("articles", "0017_search_document_inline")], [("articles", "0018_live_tag")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


# serialized_rollback: the database is left as the migrations made it for the tests after this
# one (without it, a later test that restores its serialized rows finds them there twice).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_live_tags_move_to_their_own_table_with_the_publication_time():
    apps = migrate(BEFORE)
    try:
        Article, Tag = apps.get_model("articles", "Article"), apps.get_model("taggit", "Tag")
        first = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
        live = Article.objects.create(title="Live Gannet Story", slug="live-gannet", published_at=first)
        never = Article.objects.create(title="Draft Gannet Story", slug="draft-gannet")
        birds, coast = Tag.objects.create(name="birds", slug="birds"), Tag.objects.create(name="coast", slug="coast")
        live.live_tags.add(birds, coast)
        never.live_tags.add(birds)  # cannot happen through the workflow: never published, so not copied

        apps = migrate(AFTER)
        LiveTag = apps.get_model("articles", "LiveTag")
        assert set(LiveTag.objects.values_list("article_id", "tag_id", "published_at")) == {
            (live.pk, birds.pk, first),
            (live.pk, coast.pk, first),
        }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # back to the latest, for the other tests


# Issue 14: the live columns on Article become Publication rows (0020-0022) and come back.

OLD_COLUMNS, PUBLICATIONS = (
    [("articles", "0019_field_checks_share_links")],
    [("articles", "0022_article_working_copy_only")],
)


def approved_data(article, *, published_at, **changed) -> dict:
    """A revision's data as the old approve wrote it: the snapshot with the public dates."""
    from articles.snapshots import article_snapshot

    data = {**article_snapshot(article), **changed}
    return {**data, "changes": [], "published_at": published_at.isoformat(), "updated_at": None}


def old_columns(apps, article_id, data, *, live_from, live_until=None, tags=(), published_at=None, **extra):
    """Write a live (or scheduled, or expired) story as the old approve did: the columns and LiveTag."""
    from articles.cards import card_data
    from articles.search import search_texts

    Article, Revision, LiveTag = (apps.get_model("articles", name) for name in ("Article", "Revision", "LiveTag"))
    Desk, Source = apps.get_model("articles", "Desk"), apps.get_model("articles", "Source")
    revision = Revision.objects.create(article_id=article_id, number=1, kind="approval", data=data)
    published_at = published_at or live_from
    Article.objects.filter(pk=article_id).update(
        status="published",
        live_revision=revision,
        live_from=live_from,
        live_until=live_until,
        live_slug=data["slug"],
        live_desk=Desk.objects.filter(slug=(data["desk"] or {}).get("slug")).first(),
        live_source=Source.objects.filter(name=data["source"]["name"]).first(),
        live_card=card_data(data),
        published_at=published_at,
        **search_texts(data),
        **extra,
    )
    LiveTag.objects.bulk_create(LiveTag(article_id=article_id, tag=tag, published_at=published_at) for tag in tags)
    if connection.vendor == "postgresql":
        from articles.search import search_vector

        Article.objects.filter(pk=article_id).update(search_document=search_vector())
    return revision


def scheduled_update(apps, article_id, data, *, next_from, next_until=None):
    Article, Revision = apps.get_model("articles", "Article"), apps.get_model("articles", "Revision")
    revision = Revision.objects.create(article_id=article_id, number=2, kind="approval", data=data)
    Article.objects.filter(pk=article_id).update(next_revision=revision, next_from=next_from, next_until=next_until)
    return revision


def old_newsroom(now):
    """Stories at 0019 in every live state of the old columns; returns what was written, by name."""
    from taggit.models import Tag

    from tests.factories import make_article, make_desk

    desk = make_desk(slug="coast")
    birds, coast = Tag.objects.create(name="birds", slug="birds"), Tag.objects.create(name="coast", slug="coast")
    stories = {
        name: make_article(published=False, title=f"Migrated {name.title()}", slug=f"migrated-{name}", desk=desk)
        for name in ("live", "scheduled", "update", "expired", "clash", "unpublished", "draft")
    }
    for story in stories.values():
        story.tags.add(birds, coast)
    past = now - timedelta(days=3)
    data = {name: approved_data(story, published_at=past) for name, story in stories.items()}
    data["scheduled"] = approved_data(stories["scheduled"], published_at=now + timedelta(days=1))
    data["update_next"] = approved_data(
        stories["update"], published_at=past, title="Migrated Update, Later", slug="migrated-update-later"
    )
    data["clash_next"] = approved_data(stories["clash"], published_at=past, slug="migrated-live")
    ids = {name: story.pk for name, story in stories.items()}

    apps = migrate(OLD_COLUMNS)
    Tag = apps.get_model("taggit", "Tag")
    tags = list(Tag.objects.filter(slug__in=["birds", "coast"]))
    revisions = {
        name: old_columns(apps, ids[name], data[name], live_from=past, tags=tags)
        for name in ("live", "update", "clash")
    }
    revisions["scheduled"] = old_columns(apps, ids["scheduled"], data["scheduled"], live_from=now + timedelta(days=1))
    revisions["expired"] = old_columns(
        apps, ids["expired"], data["expired"], live_from=past, live_until=now - timedelta(days=1), tags=tags
    )
    revisions["update_next"] = scheduled_update(
        apps, ids["update"], data["update_next"], next_from=now + timedelta(hours=1), next_until=now + timedelta(days=5)
    )
    revisions["clash_next"] = scheduled_update(
        apps, ids["clash"], data["clash_next"], next_from=now + timedelta(hours=1)
    )
    # Unpublished the old way: the live columns cleared, the moment kept in unpublished_at.
    Article, Revision = apps.get_model("articles", "Article"), apps.get_model("articles", "Revision")
    revisions["unpublished"] = Revision.objects.create(
        article_id=ids["unpublished"], number=1, kind="approval", data=data["unpublished"]
    )
    Article.objects.filter(pk=ids["unpublished"]).update(
        status="archived", published_at=past, unpublished_at=now - timedelta(days=1)
    )
    return {"ids": ids, "data": data, "revisions": {k: v.pk for k, v in revisions.items()}, "past": past}


def windows(Publication, article_id) -> list[tuple]:
    return list(
        Publication.objects.filter(article_id=article_id)
        .order_by("live_from")
        .values_list("revision_id", "slug", "live_from", "live_until")
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_live_columns_become_publications_with_their_windows():
    from articles.cards import card_data
    from articles.search import search_texts

    now = timezone.now()
    try:
        old = old_newsroom(now)
        ids, revisions, past, data = old["ids"], old["revisions"], old["past"], old["data"]
        apps = migrate(PUBLICATIONS)
        Publication, PublicationTag = (
            apps.get_model("articles", "Publication"),
            apps.get_model("articles", "PublicationTag"),
        )
        Transition, Generation = (
            apps.get_model("articles", "Transition"),
            apps.get_model("articles", "PublicationGeneration"),
        )
        hour, day = timedelta(hours=1), timedelta(days=1)

        assert windows(Publication, ids["live"]) == [(revisions["live"], "migrated-live", past, None)]
        assert windows(Publication, ids["scheduled"]) == [
            (revisions["scheduled"], "migrated-scheduled", now + day, None)
        ]
        assert windows(Publication, ids["update"]) == [
            (revisions["update"], "migrated-update", past, now + hour),
            (revisions["update_next"], "migrated-update-later", now + hour, now + 5 * day),
        ]
        assert windows(Publication, ids["expired"]) == [(revisions["expired"], "migrated-expired", past, now - day)]
        assert windows(Publication, ids["draft"]) == []

        # The update whose address another story holds then is not carried over, and the story says so.
        assert windows(Publication, ids["clash"]) == [(revisions["clash"], "migrated-clash", past, None)]
        (dropped,) = Transition.objects.filter(article_id=ids["clash"], action="schedule-dropped")
        assert dropped.revision_id == revisions["clash_next"]
        assert "migrated-live" in dropped.comment and "Migrated Live" in dropped.comment

        live = Publication.objects.get(article_id=ids["live"])
        assert live.desk.slug == "coast" and live.source.name == data["live"]["source"]["name"]
        assert live.card == card_data(data["live"]) and live.published_at == past and live.updated_at is None
        assert (live.search_title, live.search_summary, live.search_body) == tuple(search_texts(data["live"]).values())
        for name in ("live", "update", "expired"):
            first = Publication.objects.filter(article_id=ids[name]).order_by("live_from").first()
            assert set(PublicationTag.objects.filter(publication=first).values_list("tag__slug", "published_at")) == {
                ("birds", past),
                ("coast", past),
            }, name

        later = Publication.objects.get(revision_id=revisions["update_next"])
        assert later.card == card_data(data["update_next"]) and later.published_at == past
        assert later.search_title == "Migrated Update, Later" and later.desk.slug == "coast"
        assert set(PublicationTag.objects.filter(publication=later).values_list("tag__slug", flat=True)) == {
            "birds",
            "coast",
        }
        assert Generation.objects.filter(pk=1).exists()
        if connection.vendor == "postgresql":
            assert not Publication.objects.filter(search_document__isnull=True).exists()
            with connection.cursor() as cursor:
                cursor.execute("SELECT conname FROM pg_constraint WHERE conname LIKE 'publication_one_%%'")
                assert {row[0] for row in cursor.fetchall()} == {
                    "publication_one_window_per_story",
                    "publication_one_story_per_address",
                }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_story_unpublished_before_the_migration_is_still_gone(client):
    """410 for unpublished stories must hold across the migration: the old columns knew it
    from unpublished_at; afterwards only publication history can say so."""
    now = timezone.now()
    try:
        old = old_newsroom(now)
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        assert client.get("/articles/migrated-expired/").status_code == 410
        assert client.get("/articles/migrated-unpublished/").status_code == 410
        assert client.get("/articles/migrated-live/").status_code == 200
        assert old["ids"]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publications_go_back_into_the_live_columns():
    now = timezone.now()
    try:
        old = old_newsroom(now)
        ids, revisions, past, data = old["ids"], old["revisions"], old["past"], old["data"]
        apps = migrate(OLD_COLUMNS)
        before = {
            pk: row for pk, *row in apps.get_model("articles", "Article").objects.order_by().values_list(*OLD_FIELDS)
        }
        migrate(PUBLICATIONS)
        apps = migrate(OLD_COLUMNS)
        Article, LiveTag = apps.get_model("articles", "Article"), apps.get_model("articles", "LiveTag")
        after = {pk: row for pk, *row in Article.objects.order_by().values_list(*OLD_FIELDS)}
        lost = {}
        for name, pk in ids.items():
            expected = dict(zip(OLD_FIELDS[1:], before[pk], strict=True))
            if name == "clash":  # its update was dropped on the way (it would have broken every page)
                expected.update(next_revision_id=None, next_from=None, next_until=None)
            got = dict(zip(OLD_FIELDS[1:], after[pk], strict=True))
            lost |= {f"{name}.{field}": (value, got[field]) for field, value in expected.items() if got[field] != value}
        assert lost == {}  # {story.column: (before, after the round trip)}
        update = Article.objects.get(pk=ids["update"])
        assert (update.live_revision_id, update.next_revision_id) == (revisions["update"], revisions["update_next"])
        assert (update.live_from, update.live_until) == (past, None)
        assert (update.next_from, update.next_until) == (now + timedelta(hours=1), now + timedelta(days=5))
        live = Article.objects.get(pk=ids["live"])
        assert (
            live.live_slug == "migrated-live"
            and live.live_card == before[ids["live"]][OLD_FIELDS.index("live_card") - 1]
        )
        assert data["live"]["slug"] == live.live_slug
        assert set(LiveTag.objects.values_list("article_id", "tag__slug", "published_at")) == {
            (ids[name], tag, past) for name in ("live", "update", "clash", "expired") for tag in ("birds", "coast")
        }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


OLD_FIELDS = (
    "pk",
    "live_revision_id",
    "live_from",
    "live_until",
    "next_revision_id",
    "next_from",
    "next_until",
    "live_slug",
    "live_desk_id",
    "live_source_id",
    "live_card",
    "published_at",
    "public_updated_at",
    "unpublished_at",
    "search_title",
    "search_summary",
    "search_body",
)

"""Migrations that move data: what was there before is there after."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

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

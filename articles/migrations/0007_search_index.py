"""A GIN index over the weighted search document, on PostgreSQL only (SQLite has no tsvector)."""

from django.db import migrations

INDEX_NAME = "article_search_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.contrib.postgres.indexes import GinIndex

    from articles.search import search_vector

    Article = apps.get_model("articles", "Article")
    schema_editor.add_index(Article, GinIndex(search_vector(), name=INDEX_NAME))


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    dependencies = [("articles", "0006_live_address_and_search")]
    operations = [migrations.RunPython(create_index, drop_index)]

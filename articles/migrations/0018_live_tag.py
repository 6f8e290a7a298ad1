import django.db.models.deletion
from django.db import migrations, models


def copy_live_tags(apps, schema_editor):
    """Each live tag of the old link table, with its story's first-publication time."""
    Article = apps.get_model("articles", "Article")
    LiveTag = apps.get_model("articles", "LiveTag")
    old, new, articles = (schema_editor.quote_name(model._meta.db_table)
                          for model in (Article.live_tags.through, LiveTag, Article))
    schema_editor.execute(
        f"INSERT INTO {new} (article_id, tag_id, published_at) "
        f"SELECT link.article_id, link.tag_id, story.published_at FROM {old} link "
        f"JOIN {articles} story ON story.id = link.article_id WHERE story.published_at IS NOT NULL"
    )


def copy_back(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    LiveTag = apps.get_model("articles", "LiveTag")
    old, new = (schema_editor.quote_name(model._meta.db_table) for model in (Article.live_tags.through, LiveTag))
    schema_editor.execute(f"INSERT INTO {old} (article_id, tag_id) SELECT article_id, tag_id FROM {new}")


class Migration(migrations.Migration):
    """The live tags move to a link table of our own that keeps the story's publication
    time, so that a tag's stories are found newest first through one index. (Django cannot
    turn a plain many-to-many link into one with its own model in place: the new table is
    made, filled from the old one, and the field is made again on it.)"""

    dependencies = [
        ('articles', '0017_search_document_inline'),
        ('taggit', '0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx'),
    ]

    operations = [
        migrations.CreateModel(
            name='LiveTag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('published_at', models.DateTimeField()),
                ('article', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='live_taggings', to='articles.article')),
                ('tag', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='taggit.tag')),
            ],
        ),
        migrations.RunPython(copy_live_tags, copy_back),
        migrations.AddIndex(
            model_name='livetag',
            index=models.Index(fields=['tag', '-published_at', '-article'], name='livetag_tag_published_idx'),
        ),
        migrations.AddConstraint(
            model_name='livetag',
            constraint=models.UniqueConstraint(fields=('article', 'tag'), name='livetag_article_tag_unique'),
        ),
        migrations.RemoveField(model_name='article', name='live_tags'),
        migrations.AddField(
            model_name='article',
            name='live_tags',
            field=models.ManyToManyField(blank=True, editable=False, related_name='+', through='articles.LiveTag', to='taggit.tag'),
        ),
    ]

"""Article.live_card: the live revision's card, kept for lists, feeds and the API's list.

Fills it in for the stories already live, a thousand at a time.
"""

from django.db import migrations, models

BATCH = 1000


def fill_cards(apps, schema_editor):
    from articles.cards import card_data

    Article = apps.get_model("articles", "Article")
    live = Article.objects.filter(live_revision__isnull=False).order_by("pk")
    batch = []
    for pk, data in live.values_list("pk", "live_revision__data").iterator(chunk_size=BATCH):
        batch.append(Article(pk=pk, live_card=card_data(data)))
        if len(batch) == BATCH:
            Article.objects.bulk_update(batch, ["live_card"])
            batch = []
    Article.objects.bulk_update(batch, ["live_card"])


class Migration(migrations.Migration):
    dependencies = [("articles", "0013_list_indexes")]

    operations = [
        migrations.AddField(
            model_name="article", name="live_card", field=models.JSONField(blank=True, editable=False, null=True)
        ),
        migrations.RunPython(fill_cards, migrations.RunPython.noop, elidable=True),
    ]

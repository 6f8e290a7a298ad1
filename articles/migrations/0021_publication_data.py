"""Move the live state from Article's columns into Publication rows, and let PostgreSQL keep
the windows true.

Forward, per story that has a live (or scheduled) revision: one publication with its
window; a scheduled update of a live story becomes a second publication starting at its
time, and the first one ends then. A scheduled update whose address another story holds
by then would have broken every public page when it went live: it is not carried over, and
a Transition on the story says so (the moderator approves it again under another address).
Tags come from LiveTag, search documents are copied, not computed again.

On PostgreSQL: btree_gist, two exclusion constraints (no two overlapping windows of one
story, none of one address), the GIN index of the search documents, kept in the row.

Backward: each story's current publication (else its scheduled one) goes back into the
columns, a later one into next_*; the publications are then dropped by the schema step.
"""

from datetime import datetime

from django.db import migrations
from django.db.models import F, Q
from django.utils import timezone

BATCH = 2000
LISTING_FIELDS = (
    "pk",
    "live_revision_id",
    "live_slug",
    "live_desk_id",
    "live_source_id",
    "live_card",
    "published_at",
    "public_updated_at",
    "live_from",
    "live_until",
    "search_title",
    "search_summary",
    "search_body",
    "next_revision_id",
    "next_from",
    "next_until",
    "status",
)


def forward(apps, schema_editor):
    from articles.cards import card_data
    from articles.search import search_texts

    Article = apps.get_model("articles", "Article")
    Publication = apps.get_model("articles", "Publication")
    PublicationTag = apps.get_model("articles", "PublicationTag")
    LiveTag = apps.get_model("articles", "LiveTag")
    Revision = apps.get_model("articles", "Revision")
    Transition = apps.get_model("articles", "Transition")
    Desk = apps.get_model("articles", "Desk")
    Source = apps.get_model("articles", "Source")
    Tag = apps.get_model("taggit", "Tag")
    Generation = apps.get_model("articles", "PublicationGeneration")
    Generation.objects.get_or_create(pk=1, defaults={"value": 1})
    if schema_editor.connection.vendor == "postgresql":
        # Search documents are kept in the row, not out of line (see 0017: ranking reads each
        # candidate's document twice); set before they are written, as it applies to new values.
        table = schema_editor.quote_name(Publication._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN search_document SET STORAGE MAIN")

    rows = (
        Article.objects.filter(live_revision__isnull=False)
        .order_by("pk")
        .values(
            *LISTING_FIELDS,
            renditions=F("live_revision__data__image__renditions"),
            changes=F("live_revision__data__changes"),
        )
    )
    scheduled = []  # stories with an approved update waiting
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        until = row["live_until"]
        if row["next_revision_id"] and row["next_from"] and (until is None or until > row["next_from"]):
            until = row["next_from"]
        if until is not None and until <= row["live_from"]:
            until = None if row["next_revision_id"] is None else row["next_from"]
        card = row["live_card"]
        if card is None:
            card = card_data(Revision.objects.get(pk=row["live_revision_id"]).data)
        batch.append(
            Publication(
                article_id=row["pk"],
                revision_id=row["live_revision_id"],
                slug=row["live_slug"] or card["slug"],
                desk_id=row["live_desk_id"],
                source_id=row["live_source_id"],
                card=card,
                renditions=row["renditions"] or [],
                changes=row["changes"] or [],
                published_at=row["published_at"] or row["live_from"],
                updated_at=row["public_updated_at"],
                live_from=row["live_from"],
                live_until=until,
                search_title=row["search_title"],
                search_summary=row["search_summary"],
                search_body=row["search_body"],
            )
        )
        if row["next_revision_id"] and row["next_from"]:
            scheduled.append(row)
        if len(batch) >= BATCH:
            Publication.objects.bulk_create(batch)
            batch = []
    Publication.objects.bulk_create(batch)

    _copy_unpublished(apps, card_data, search_texts)
    live_of = dict(Publication.objects.values_list("article_id", "pk"))  # one row per story so far
    tags = []
    for article_id, tag_id, published_at in (
        LiveTag.objects.order_by().values_list("article_id", "tag_id", "published_at").iterator(chunk_size=BATCH * 5)
    ):
        if article_id in live_of:
            tags.append(PublicationTag(publication_id=live_of[article_id], tag_id=tag_id, published_at=published_at))
        if len(tags) >= BATCH * 5:
            PublicationTag.objects.bulk_create(tags)
            tags = []
    PublicationTag.objects.bulk_create(tags)

    if schema_editor.connection.vendor == "postgresql":
        publication = schema_editor.quote_name(Publication._meta.db_table)
        article = schema_editor.quote_name(Article._meta.db_table)
        schema_editor.execute(
            f"UPDATE {publication} p SET search_document = a.search_document FROM {article} a "
            "WHERE p.revision_id = a.live_revision_id"
        )

    for row in scheduled:
        revision = Revision.objects.get(pk=row["next_revision_id"])
        data = revision.data
        start, end = row["next_from"], row["next_until"]
        clash = (
            Publication.objects.filter(slug=data["slug"])
            .exclude(article_id=row["pk"])
            .filter(Q(live_until__isnull=True) | Q(live_until__gt=start))
        )
        if end is not None:
            clash = clash.filter(live_from__lt=end)
        other = clash.select_related("article").first()
        if other is not None:
            Transition.objects.create(
                article_id=row["pk"],
                action="schedule-dropped",
                from_status=row["status"],
                to_status=row["status"],
                comment=(
                    f"The update scheduled for {timezone.localtime(start):%Y-%m-%d %H:%M %Z} (revision "
                    f"#{revision.number}) was dropped: its address “{data['slug']}” is held by “{other.article.title}” "
                    "then. Approve it again under another address."
                ),
                revision=revision,
            )
            Publication.objects.filter(article_id=row["pk"], revision_id=row["live_revision_id"]).update(
                live_until=row["live_until"]
            )
            continue
        desk = Desk.objects.filter(slug=data["desk"]["slug"]).first() if data.get("desk") else None
        source = Source.objects.filter(name=data["source"]["name"]).first() if data.get("source") else None
        updated_at = data.get("updated_at")
        created = Publication.objects.create(
            article_id=row["pk"],
            revision=revision,
            slug=data["slug"],
            desk=desk,
            source=source,
            card=card_data(data),
            renditions=(data.get("image") or {}).get("renditions", []),
            changes=data.get("changes", []),
            published_at=row["published_at"] or start,
            updated_at=datetime.fromisoformat(updated_at) if updated_at else row["public_updated_at"],
            live_from=start,
            live_until=end,
            **search_texts(data),
        )
        PublicationTag.objects.bulk_create(
            PublicationTag(publication=created, tag=tag, published_at=created.published_at)
            for tag in Tag.objects.filter(slug__in=[t["slug"] for t in data["tags"]])
        )
    _documents_for_the_rest(Publication, schema_editor)


def _documents_for_the_rest(Publication, schema_editor):
    """Search documents for the rows that had none to copy (scheduled updates, stories
    unpublished before): computed, on PostgreSQL."""
    if schema_editor.connection.vendor == "postgresql":
        from articles.search import search_vector

        Publication.objects.filter(search_document__isnull=True).update(search_document=search_vector())


def _copy_unpublished(apps, card_data, search_texts):
    """Stories unpublished before publications kept no live columns, only `unpublished_at`:
    their last approved version becomes an ended publication, so their address still answers
    410 Gone (readers tell "gone" from the publication history)."""
    Article = apps.get_model("articles", "Article")
    Publication = apps.get_model("articles", "Publication")
    Revision = apps.get_model("articles", "Revision")
    gone = Article.objects.filter(live_revision__isnull=True, unpublished_at__isnull=False).values(
        "pk", "published_at", "unpublished_at", "public_updated_at"
    )
    for row in gone.iterator(chunk_size=BATCH):
        revision = Revision.objects.filter(article_id=row["pk"], kind="approval").order_by("-number").first()
        start = row["published_at"] or (revision.created_at if revision else None)
        if revision is None or start is None or start >= row["unpublished_at"]:
            continue
        data = revision.data
        Publication.objects.create(
            article_id=row["pk"],
            revision=revision,
            slug=data["slug"],
            card=card_data(data),
            renditions=(data.get("image") or {}).get("renditions", []),
            changes=data.get("changes", []),
            published_at=start,
            updated_at=row["public_updated_at"],
            live_from=start,
            live_until=row["unpublished_at"],
            **search_texts(data),
        )


def backward(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    Publication = apps.get_model("articles", "Publication")
    PublicationTag = apps.get_model("articles", "PublicationTag")
    LiveTag = apps.get_model("articles", "LiveTag")
    now = timezone.now()
    by_article = {}
    for publication in Publication.objects.order_by("article_id", "live_from").iterator(chunk_size=BATCH):
        by_article.setdefault(publication.article_id, []).append(publication)
    archived = set(Article.objects.filter(status="archived").values_list("pk", flat=True))
    for article_id, every in by_article.items():
        windows = [p for p in every if p.live_until is None or p.live_until > now]
        if not windows and article_id in archived:
            # Unpublished: the old columns kept only the dates.
            Article.objects.filter(pk=article_id).update(
                published_at=every[0].published_at, unpublished_at=every[-1].live_until
            )
            continue
        # Live or scheduled (and a later update), or else expired: its last window.
        live, later = (windows[0], windows[1] if len(windows) > 1 else None) if windows else (every[-1], None)
        fields = dict(
            live_revision_id=live.revision_id,
            live_from=live.live_from,
            live_until=None if later is not None else live.live_until,
            live_slug=live.slug,
            live_desk_id=live.desk_id,
            live_source_id=live.source_id,
            live_card=live.card,
            published_at=live.published_at,
            public_updated_at=live.updated_at,
            search_title=live.search_title,
            search_summary=live.search_summary,
            search_body=live.search_body,
            next_revision_id=later.revision_id if later else None,
            next_from=later.live_from if later else None,
            next_until=later.live_until if later else None,
        )
        Article.objects.filter(pk=article_id).update(**fields)
        LiveTag.objects.bulk_create(
            LiveTag(article_id=article_id, tag_id=tag_id, published_at=published_at)
            for tag_id, published_at in PublicationTag.objects.filter(publication=live).values_list(
                "tag_id", "published_at"
            )
        )
    if schema_editor.connection.vendor == "postgresql":
        publication = schema_editor.quote_name(Publication._meta.db_table)
        article = schema_editor.quote_name(Article._meta.db_table)
        schema_editor.execute(
            f"UPDATE {article} a SET search_document = p.search_document FROM {publication} p "
            "WHERE p.revision_id = a.live_revision_id"
        )


def constrain(apps, schema_editor):
    """PostgreSQL keeps the windows true: the exclusion constraints and the search index."""
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("articles", "Publication")._meta.db_table)
    # The rows just copied leave deferred foreign-key checks pending, and PostgreSQL alters no
    # table with pending trigger events: run the checks now.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    window = "tstzrange(live_from, live_until, '[)')"
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT publication_one_window_per_story "
        f"EXCLUDE USING gist (article_id WITH =, {window} WITH &&)"
    )
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT publication_one_story_per_address "
        f"EXCLUDE USING gist (slug WITH =, {window} WITH &&)"
    )
    schema_editor.execute(f"CREATE INDEX publication_search_gin ON {table} USING gin (search_document)")
    # Fresh statistics for the rows just copied: without them the planner guesses, and public
    # lists and search can take a plan ten times slower until autovacuum gets round to it.
    tags = schema_editor.quote_name(apps.get_model("articles", "PublicationTag")._meta.db_table)
    schema_editor.execute(f"ANALYZE {table}")
    schema_editor.execute(f"ANALYZE {tags}")


def unconstrain(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("articles", "Publication")._meta.db_table)
    schema_editor.execute("DROP INDEX IF EXISTS publication_search_gin")
    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS publication_one_story_per_address")
    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS publication_one_window_per_story")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0020_publication"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
        migrations.RunPython(constrain, unconstrain, elidable=False),
    ]

"""Saving parsed stories: one transaction per story, creating or updating by original URL."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from articles import workflow
from articles.models import Article, Revision, SlugRedirect, Source, Take
from articles.snapshots import parts_replace, snapshot_data
from articles.storyformat import StoryData
from articles.text import paragraphs_to_markdown

SLUG_MAX = Article._meta.get_field("slug").max_length


@dataclass
class ImportResult:
    article: Article
    created: bool


def unique_slug(title: str, *, exclude_pk: int | None = None) -> str:
    """A slug for the title that no other story has, adding -2, -3, ... when taken."""
    base = slugify(title, allow_unicode=False)[: SLUG_MAX - 8].strip("-") or "story"
    taken = set(_slugs_starting_with(base, exclude_pk=exclude_pk))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _slugs_starting_with(base: str, *, exclude_pk: int | None):
    """Every address in use that starts with `base` (slugs, live slugs, old slugs), in one query."""
    slugs = Article.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True)
    live_slugs = Article.objects.filter(live_slug__startswith=base).values_list("live_slug", flat=True)
    old_slugs = SlugRedirect.objects.filter(old_slug__startswith=base).values_list("old_slug", flat=True)
    # No ordering (not even Article's default) in or around the UNION: SQL allows none there.
    return slugs.order_by().union(live_slugs.order_by(), old_slugs.order_by()).order_by()


def _source_for(story: StoryData) -> Source:
    source, created = Source.objects.get_or_create(
        name=story.source_name, defaults={"site": story.source_site, "credit": story.credit}
    )
    changed = False
    for field, value in (("site", story.source_site), ("credit", story.credit)):
        if value and getattr(source, field) != value:
            setattr(source, field, value)
            changed = True
    if changed and not created:
        source.save(update_fields=["site", "credit"])
    return source


def story_parts(story: StoryData) -> dict:
    """A parsed story's parts in the snapshot layout that `parts_replace` writes."""
    return {
        "key_facts": [{"label": f.label, "text": f.text} for f in story.key_facts],
        "sections": [
            {
                "heading": s.heading,
                "body": paragraphs_to_markdown(s.paragraphs),
                "points_heading": s.points_heading,
                "points": [{"label": p.label, "text": p.text} for p in s.points],
            }
            for s in story.sections
        ],
        "take": (
            {
                "title": story.take_title or Take._meta.get_field("title").default,
                "points": [{"kind": p.kind, "text": p.text} for p in story.take_points],
            }
            if story.take_title or story.take_points
            else None
        ),
    }


def _already_imported(original_url: str) -> Article | None:
    """The story already imported from this address, its row locked until the end of the
    transaction; None for a new story."""
    # The lock is taken asking for the id alone: compiling a read of every column costs more
    # than the query itself, and most imports are new stories.
    pk = Article.objects.select_for_update().filter(original_url=original_url).values_list("pk", flat=True).first()
    return None if pk is None else Article.objects.get(pk=pk)


@transaction.atomic
def story_save(*, story: StoryData, user, publish: bool = False) -> ImportResult:
    """Write a parsed story into an article's working copy, as `user`.

    A story whose original URL is already known updates that article's working copy (its
    slug, status and editorial fields such as desk, tags and image stay; its parts are
    replaced); readers keep the live version until a moderator approves the new one.
    `publish` approves it at once, through the workflow's approve step.
    """
    article = _already_imported(story.original_url) if story.original_url else None
    created = article is None
    if created:
        if not user.has_perm("articles.add_article"):
            raise workflow.TransitionPermissionError(f"{user.get_username()} may not create stories.")
        # Written with the row (the save record below sets it too), so that record's update
        # changes no indexed column and PostgreSQL can make it in place.
        article = Article(
            slug=unique_slug(story.title), original_url=story.original_url, created_by=user, updated_by=user
        )
    elif not workflow.can_edit(article, user):
        raise workflow.TransitionPermissionError(workflow.edit_refusal(article, user))
    article.title = story.title
    article.lede = paragraphs_to_markdown(story.lede)
    article.key_facts_heading = story.key_facts_heading
    article.source = _source_for(story)
    article.save()
    parts = parts_replace(article, story_parts(story), fresh=created)
    # The snapshot from what was just written, rather than read back part by part.
    data = snapshot_data(article, **parts, tags=[] if created else list(article.tags.all()))
    # This transaction holds the row (locked above, or created here): no second read.
    workflow.article_saved(article=article, user=user, kind=Revision.Kind.IMPORT, data=data, locked=True)
    if publish:
        workflow.article_approve(article=article, user=user, direct=True)
    return ImportResult(article=article, created=created)

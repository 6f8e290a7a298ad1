"""Saving parsed stories: one transaction per story, creating or updating by original URL."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from articles import attribution, workflow
from articles.models import Article, Publication, Revision, SlugRedirect, Source, Take
from articles.snapshots import article_snapshot, parts_replace, snapshot_data
from articles.storyformat import StoryData
from articles.text import paragraphs_to_markdown
from articles.validators import host_name_error

SLUG_MAX = Article._meta.get_field("slug").max_length


@dataclass
class ImportResult:
    article: Article
    created: bool
    source_note: str = ""  # how --update-source changed the stored source, if it did


def unique_slug(title: str, *, exclude_pk: int | None = None) -> str:
    """A slug for the title that no other story has, adding -2, -3, ... when taken."""
    base = slugify(title, allow_unicode=False)[: SLUG_MAX - 8].strip("-") or "story"
    taken = set(_slugs_starting_with(base, exclude_pk=exclude_pk))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _slugs_starting_with(base: str, *, exclude_pk: int | None):
    """Every address in use that starts with `base` (slugs, addresses held now or later, old slugs), in one query."""
    slugs = Article.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True)
    live_slugs = Publication.objects.current_or_scheduled().filter(slug__startswith=base).values_list("slug", flat=True)
    old_slugs = SlugRedirect.objects.filter(old_slug__startswith=base).values_list("old_slug", flat=True)
    # No ordering (not even Article's default) in or around the UNION: SQL allows none there.
    return slugs.order_by().union(live_slugs.order_by(), old_slugs.order_by()).order_by()


class ImportRefused(Exception):
    """A story file that is not imported as it stands; `message` says why and what to do."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _source_for(story: StoryData, *, user, update_source: bool, story_pk: int | None) -> tuple[Source, str]:
    """The stored source the story names, created from the file if new, and a note when the
    file's site or credit replaced the stored one (only with `update_source`).

    A stored source is shared by every story from that publication, so the file never
    rewrites its site or credit silently; a file without a credit line takes the stored one.
    """
    name, site, credit = story.source_name, story.source_site, story.credit
    if problem := host_name_error(site):  # a story built in code did not pass the parser's check
        raise ImportRefused(problem)
    source = Source.objects.filter(name=name).first()
    if source is None:
        if not credit:
            raise ImportRefused(
                f"the file has no '⚠️ Please credit …' line, and there is no stored source “{name}” to take the "
                "credit condition from; add the credit line"
            )
        return Source.objects.create(name=name, site=site, credit=credit), ""
    if not credit and not source.credit:
        raise ImportRefused(
            f"the file has no '⚠️ Please credit …' line, and the stored source “{name}” has no credit condition; "
            "add the credit line (and --update-source) or give the source its credit in the admin"
        )
    wanted = {
        field: value
        for field, value in (("credit", credit), ("site", site))
        if value and value != getattr(source, field)
    }
    if not wanted:
        return source, ""
    if not update_source:
        differs = [
            f"{'the credit line' if field == 'credit' else 'the site'} differs from the stored source “{name}” "
            f"(stored: {getattr(source, field) or 'none'}; file: {value})"
            for field, value in wanted.items()
        ]
        raise ImportRefused(
            "; ".join(differs) + "; use --update-source to replace " + ("them" if len(differs) > 1 else "it")
        )
    if not user.has_perm("articles.change_source"):
        raise workflow.TransitionPermissionError(
            f"{user.get_username()} may not change sources, so cannot use --update-source."
        )
    source = Source.objects.select_for_update().get(pk=source.pk)  # two imports cannot both rewrite it
    before = {field: getattr(source, field) for field in attribution.SOURCE_FIELDS}
    for field, value in wanted.items():
        setattr(source, field, value)
    source.save(update_fields=list(wanted))
    workflow.source_changed(source=source, before=before, user=user, exclude_pk=story_pk)
    return source, attribution.source_change_note(before, source)


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


def _imported_parts(data: dict) -> dict:
    """What of a snapshot an import replaces (the newsroom's desk, tags, byline and image stay)."""
    return {
        "title": data.get("title"),
        "lede": data.get("lede"),
        "key_facts_heading": data.get("key_facts_heading"),
        "key_facts": data.get("key_facts"),
        "sections": [
            {k: s.get(k) for k in ("heading", "body", "points_heading", "points")} for s in data.get("sections", [])
        ],
        "take": data.get("take"),
        "source": (data.get("source") or {}).get("name"),
        "original_url": data.get("original_url"),
    }


def _moment(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S %Z")


def edits_since_import(article: Article) -> str | None:
    """Who changed the story's imported parts since its last import, and when, as a sentence
    (None when re-importing would lose nothing). A story never imported counts as changed."""
    current = _imported_parts(article_snapshot(article))
    since, last_import = [], None  # the content revisions after the last import, newest first
    for revision in article.revisions.filter(kind__in=workflow.CONTENT_KINDS).select_related("created_by"):
        if revision.kind == Revision.Kind.IMPORT:
            last_import = revision
            break
        since.append(revision)
    baseline = _imported_parts(last_import.data) if last_import else None
    if baseline == current:
        return None
    changers = []  # each revision that changed the imported parts
    for revision in reversed(since):
        parts = _imported_parts(revision.data)
        if parts != baseline:
            changers.append(revision)
        baseline = parts
    names = list(dict.fromkeys(r.created_by.get_username() if r.created_by else "someone" for r in changers))
    if not names:  # changed without a revision: the story's own record is all there is
        names = [article.updated_by.get_username() if article.updated_by else "someone"]
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    when = _moment(changers[-1].created_at if changers else article.updated_at)
    if last_import is None:
        return (
            f"“{article.title}” was not imported from a file but written in the newsroom (last changed by {who} "
            f"at {when})"
        )
    importer = last_import.created_by.get_username() if last_import.created_by else "someone"
    return (
        f"“{article.title}” was changed by {who} at {when}, after its last import ({importer} at "
        f"{_moment(last_import.created_at)})"
    )


def _already_imported(original_url: str) -> Article | None:
    """The story already imported from this address, its row locked until the end of the
    transaction; None for a new story."""
    # The lock is taken asking for the id alone: compiling a read of every column costs more
    # than the query itself, and most imports are new stories.
    pk = Article.objects.select_for_update().filter(original_url=original_url).values_list("pk", flat=True).first()
    return None if pk is None else Article.objects.get(pk=pk)


@transaction.atomic
def story_save(
    *, story: StoryData, user, publish: bool = False, update_source: bool = False, overwrite: bool = False
) -> ImportResult:
    """Write a parsed story into an article's working copy, as `user`.

    A story whose original URL is already known updates that article's working copy (its
    slug, status and editorial fields such as desk, tags and image stay; its parts are
    replaced); readers keep the live version until a moderator approves the new one.
    `publish` approves it at once, through the workflow's approve step. A file whose site or
    credit line differs from the stored source's is refused (ImportRefused) unless
    `update_source`, which replaces them and records that in every story using the source.
    A known story whose imported parts someone changed since its last import is refused
    (ImportRefused, naming who and when) unless `overwrite`.
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
    notes = []
    if not created and (edits := edits_since_import(article)):
        if not overwrite:
            raise ImportRefused(
                f"{edits}; importing this file would replace those changes. Use --overwrite to replace them anyway."
            )
        notes.append(f"Replaced newsroom changes: {edits}")
    article.title = story.title
    article.lede = paragraphs_to_markdown(story.lede)
    article.key_facts_heading = story.key_facts_heading
    article.source, source_note = _source_for(story, user=user, update_source=update_source, story_pk=article.pk)
    article.save()
    parts = parts_replace(article, story_parts(story), fresh=created)
    # The snapshot from what was just written, rather than read back part by part.
    data = snapshot_data(article, **parts, tags=[] if created else list(article.tags.all()))
    # This transaction holds the row (locked above, or created here): no second read.
    note = "; ".join([*notes, source_note] if source_note else notes)
    workflow.article_saved(
        article=article, user=user, kind=Revision.Kind.IMPORT, data=data, locked=True, new=created, note=note
    )
    if publish:
        workflow.article_approve(article=article, user=user, direct=True)
    return ImportResult(article=article, created=created, source_note=source_note)

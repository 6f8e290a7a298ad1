"""Saving parsed stories: one transaction per story, creating or updating by original URL."""

from dataclasses import dataclass, field

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


# How a refusal names the options that lift it: the command line's flags by default; the
# admin names its check boxes.
CLI_OPTIONS = {"overwrite": "--overwrite", "update_source": "--update-source"}


@dataclass
class NewStoryFields:
    """What the newsroom adds to a story created by an import (an update keeps the story's own)."""

    desk: object = None  # a Desk, or None
    byline: str = ""
    tags: list[str] = field(default_factory=list)


def source_refusal(story: StoryData, source: Source | None, *, user, update_source: bool, options=CLI_OPTIONS):
    """Why the file's source lines cannot be saved against the stored source (`source`, None
    when new), as the exception to raise; None when they can.

    A stored source is shared by every story from that publication, so the file never
    rewrites its site or credit silently; a file without a credit line takes the stored one.
    """
    name = story.source_name
    if problem := host_name_error(story.source_site):  # a story built in code did not pass the parser's check
        return ImportRefused(problem)
    if source is None:
        if not story.credit:
            return ImportRefused(
                f"the file has no '⚠️ Please credit …' line, and there is no stored source “{name}” to take the "
                "credit condition from; add the credit line"
            )
        return None
    if not story.credit and not source.credit:
        return ImportRefused(
            f"the file has no '⚠️ Please credit …' line, and the stored source “{name}” has no credit condition; "
            f"add the credit line (and {options['update_source']}) or give the source its credit in the admin"
        )
    wanted = source_changes(story, source)
    if wanted and not update_source:
        differs = [
            f"{'the credit line' if column == 'credit' else 'the site'} differs from the stored source “{name}” "
            f"(stored: {getattr(source, column) or 'none'}; file: {value})"
            for column, value in wanted.items()
        ]
        return ImportRefused(
            "; ".join(differs)
            + f"; use {options['update_source']} to replace "
            + ("them" if len(differs) > 1 else "it")
        )
    if wanted and not user.has_perm("articles.change_source"):
        return workflow.TransitionPermissionError(
            f"{user.get_username()} may not change sources, so cannot use {options['update_source']}."
        )
    return None


def source_changes(story: StoryData, source: Source) -> dict:
    """The stored source's fields that the file's site or credit line would replace."""
    return {
        column: value
        for column, value in (("credit", story.credit), ("site", story.source_site))
        if value and value != getattr(source, column)
    }


def _source_for(
    story: StoryData, *, user, update_source: bool, story_pk: int | None, options=CLI_OPTIONS
) -> tuple[Source, str]:
    """The stored source the story names, created from the file if new, and a note when the
    file's site or credit replaced the stored one (only with `update_source`)."""
    source = Source.objects.filter(name=story.source_name).first()
    if refusal := source_refusal(story, source, user=user, update_source=update_source, options=options):
        raise refusal
    if source is None:
        return Source.objects.create(name=story.source_name, site=story.source_site, credit=story.credit), ""
    wanted = source_changes(story, source)
    if not wanted:
        return source, ""
    source = Source.objects.select_for_update().get(pk=source.pk)  # two imports cannot both rewrite it
    before = {name: getattr(source, name) for name in attribution.SOURCE_FIELDS}
    for name, value in wanted.items():
        setattr(source, name, value)
    source.save(update_fields=list(wanted))
    workflow.source_changed(source=source, before=before, user=user, exclude_pk=story_pk)
    return source, attribution.source_change_note(before, source)


def update_refusal(article: Article, *, user, overwrite: bool, options=CLI_OPTIONS):
    """Why importing over this known story is refused, as the exception to raise (None when it
    is not), and who changed it since its last import (what `overwrite` replaces), or None."""
    if not workflow.can_edit(article, user):
        return workflow.TransitionPermissionError(workflow.edit_refusal(article, user)), None
    edits = edits_since_import(article)
    if edits and not overwrite:
        return ImportRefused(
            f"{edits}; importing this file would replace those changes. "
            f"Use {options['overwrite']} to replace them anyway."
        ), edits
    return None, edits


@dataclass
class ImportPlan:
    """What importing a story would do now (a preview: nothing locked, nothing written)."""

    article: Article | None  # the known story it updates, or None for a new draft
    refusal: Exception | None
    replaces_edits: str | None = None  # who changed the known story since its import (overwrite)
    source_changes: dict = field(default_factory=dict)  # stored source fields the file replaces

    @property
    def created(self) -> bool:
        return self.article is None


def import_plans(
    *, stories: list[StoryData], user, update_source: bool = False, overwrite: bool = False, options=CLI_OPTIONS
) -> list[ImportPlan]:
    """The checks `story_save` makes, without writing, for each story: for the admin's preview.
    The known stories and stored sources are read in one query each; the save checks again,
    under its locks."""
    urls = {story.original_url for story in stories if story.original_url}
    known = {article.original_url: article for article in Article.objects.filter(original_url__in=urls)}
    sources = Source.objects.in_bulk({story.source_name for story in stories}, field_name="name")
    may_add = user.has_perm("articles.add_article")
    plans = []
    for story in stories:
        article = known.get(story.original_url)
        refusal, edits = None, None
        if article is None and not may_add:
            refusal = workflow.TransitionPermissionError(f"{user.get_username()} may not create stories.")
        elif article is not None:
            refusal, edits = update_refusal(article, user=user, overwrite=overwrite, options=options)
        source = sources.get(story.source_name)
        if refusal is None:
            refusal = source_refusal(story, source, user=user, update_source=update_source, options=options)
        changes = source_changes(story, source) if source is not None else {}
        plans.append(ImportPlan(article=article, refusal=refusal, replaces_edits=edits, source_changes=changes))
    return plans


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
    *,
    story: StoryData,
    user,
    publish: bool = False,
    update_source: bool = False,
    overwrite: bool = False,
    new_story: NewStoryFields | None = None,
    options: dict = CLI_OPTIONS,
) -> ImportResult:
    """Write a parsed story into an article's working copy, as `user`.

    A story whose original URL is already known updates that article's working copy (its
    slug, status and editorial fields such as desk, tags and image stay; its parts are
    replaced); readers keep the live version until a moderator approves the new one.
    `publish` approves it at once, through the workflow's approve step. A file whose site or
    credit line differs from the stored source's is refused (ImportRefused) unless
    `update_source`, which replaces them and records that in every story using the source.
    A known story whose imported parts someone changed since its last import is refused
    (ImportRefused, naming who and when) unless `overwrite`. `new_story` gives a created
    story its desk, byline and tags; `options` names the options in refusals.
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
    notes = []
    if not created:
        refusal, edits = update_refusal(article, user=user, overwrite=overwrite, options=options)
        if refusal:
            raise refusal
        if edits:
            notes.append(f"Replaced newsroom changes: {edits}")
    elif new_story:
        article.desk, article.byline = new_story.desk, new_story.byline
    article.title = story.title
    article.lede = paragraphs_to_markdown(story.lede)
    article.key_facts_heading = story.key_facts_heading
    article.source, source_note = _source_for(
        story, user=user, update_source=update_source, story_pk=article.pk, options=options
    )
    article.save()
    parts = parts_replace(article, story_parts(story), fresh=created)
    tags = []
    if not created:
        tags = list(article.tags.all())
    elif new_story and new_story.tags:
        article.tags.set(new_story.tags)
        tags = list(article.tags.all())
    # The snapshot from what was just written, rather than read back part by part.
    data = snapshot_data(article, **parts, tags=tags)
    # This transaction holds the row (locked above, or created here): no second read.
    note = "; ".join([*notes, source_note] if source_note else notes)
    workflow.article_saved(
        article=article, user=user, kind=Revision.Kind.IMPORT, data=data, locked=True, new=created, note=note
    )
    if publish:
        workflow.article_approve(article=article, user=user, direct=True)
    return ImportResult(article=article, created=created, source_note=source_note)

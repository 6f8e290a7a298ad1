"""Going live and coming down: the one place that writes what readers see.

A story is in front of readers through its Publication rows (articles.models), each an
approved revision with a window [live_from, live_until). `go_live` puts a version live now
or later: it replaces the story's versions that had not started by then, ends the one that
is live at that moment, and writes the new row. `take_down` ends the window now. Expiry is
an end time. Both move the publication generation in the same transaction, so cached pages
everywhere stop being served the moment the change is committed (articles.caching).

The caller (articles.workflow) holds the story's row lock inside a transaction. An address
can be held by one story at a time: a version whose address another story holds during any
part of its window is refused (AddressTaken, naming the other story). PostgreSQL enforces
the same with exclusion constraints (migration 0021); a clash that slips past the check in
a race comes back from the database as the same refusal.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery
from django.utils import timezone
from taggit.models import Tag

from articles.cards import card_data
from articles.media import release_on_commit, shown_images
from articles.models import Article, Desk, Publication, PublicationGeneration, PublicationTag, Revision, Source
from articles.search import refresh_documents, search_texts


class AddressTaken(Exception):
    """Another story holds this address during the window asked for."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime | None = None

    def meets(self, other: "Window") -> bool:
        """Whether the two windows share an instant (each is [start, end))."""
        return (other.end is None or self.start < other.end) and (self.end is None or other.start < self.end)

    def overlapping(self, queryset):
        """The rows of `queryset` whose window meets this one."""
        queryset = queryset.filter(Q(live_until__isnull=True) | Q(live_until__gt=self.start))
        return queryset if self.end is None else queryset.filter(live_from__lt=self.end)


def _card(data: dict, *, renditions: list, published_at: datetime, updated_at: datetime | None) -> dict:
    """A version's card (articles.cards), with what it gets when it goes live: renditions and dates."""
    image = {**data["image"], "renditions": renditions} if data.get("image") else None
    return card_data(
        {
            **data,
            "image": image,
            "published_at": published_at.isoformat(),
            "updated_at": updated_at.isoformat() if updated_at else None,
        }
    )


def _address_clash(error: IntegrityError) -> bool:
    """Whether PostgreSQL refused a write by an exclusion constraint (two windows met)."""
    return getattr(getattr(error, "__cause__", None), "sqlstate", None) == "23P01"


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"


def address_holder(slug: str, window: Window, *, exclude_article: int | None = None) -> Publication | None:
    """Another story's publication holding `slug` during any part of `window`, if any."""
    others = window.overlapping(Publication.objects.filter(slug=slug)).exclude(article_id=exclude_article)
    return others.select_related("article").order_by("live_from").first()


def address_refusal(slug: str, window: Window, *, exclude_article: int | None = None) -> str | None:
    """Why `slug` cannot be this story's address during `window`, or None if it can."""
    other = address_holder(slug, window, exclude_article=exclude_article)
    if other is None:
        return None
    held = "now" if other.live_from <= timezone.now() else f"from {_when(other.live_from)}"
    until = f" until {_when(other.live_until)}" if other.live_until else ""
    return (
        f"The address “{slug}” is held by another story, “{other.article.title}”, {held}{until}; "
        "give this story another slug, or take the other story down first."
    )


def go_live(
    article: Article,
    revision: Revision,
    *,
    start: datetime,
    end: datetime | None = None,
    changes: list | None = None,
    updated_at: datetime | None = None,
    renditions: list | None = None,
) -> Publication:
    """Put `revision` (an approved snapshot of `article`) in front of readers from `start`
    until `end` (None: no end). Returns the new publication; raises AddressTaken."""
    data = revision.data
    window = Window(start, end)
    if refusal := address_refusal(data["slug"], window, exclude_article=article.pk):
        raise AddressTaken(refusal)
    mine = Publication.objects.filter(article=article)
    release_on_commit(*shown_images(mine.current_or_scheduled()))  # kept if still shown (articles.media)
    # Versions approved for later that had not started by `start` are replaced by this one.
    mine.filter(live_from__gte=start).delete()
    # The version live at `start` ends there.
    window.overlapping(mine).update(live_until=start)
    first = mine.order_by("live_from").values_list("published_at", flat=True).first()
    desk = Desk.objects.filter(slug=data["desk"]["slug"]).first() if data.get("desk") else None
    source = Source.objects.filter(name=data["source"]["name"]).first() if data.get("source") else None
    published_at = first or start
    card = _card(data, renditions=renditions or [], published_at=published_at, updated_at=updated_at)
    try:
        with transaction.atomic():  # on PostgreSQL a constraint violation must not end the caller's transaction
            publication = Publication.objects.create(
                article=article,
                revision=revision,
                slug=data["slug"],
                desk=desk,
                source=source,
                card=card,
                renditions=renditions or [],
                changes=list(changes or []),
                published_at=published_at,
                updated_at=updated_at,
                live_from=start,
                live_until=end,
                **search_texts(data),
            )
    except IntegrityError as error:
        if _address_clash(error):
            raise AddressTaken(
                address_refusal(data["slug"], window, exclude_article=article.pk)
                or f"The address “{data['slug']}” was taken by another story a moment ago; try again."
            ) from error
        raise
    tags = Tag.objects.filter(slug__in=[t["slug"] for t in data["tags"]]).values_list("pk", flat=True)
    PublicationTag.objects.bulk_create(
        PublicationTag(publication=publication, tag_id=pk, published_at=published_at) for pk in tags
    )
    if connection.vendor == "postgresql":
        refresh_documents(Publication.objects.filter(pk=publication.pk))
    generation_move()
    return publication


def take_down(article: Article) -> bool:
    """End the story's publication now and drop versions approved for later. Returns whether
    anything was live or scheduled."""
    now = timezone.now()
    mine = Publication.objects.filter(article=article)
    release_on_commit(*shown_images(mine.current_or_scheduled(now)))  # kept if still shown (articles.media)
    dropped, _ = mine.filter(live_from__gte=now).delete()  # not seen yet (or only this instant)
    ended = mine.current(now).update(live_until=now)
    if dropped or ended:
        generation_move()
    return bool(dropped or ended)


def generation_move() -> None:
    """Move the publication generation on, inside the caller's transaction: pages cached
    before are not served once it commits, in any process (articles.caching)."""
    from articles.caching import generation_changed

    if not PublicationGeneration.objects.filter(pk=1).update(value=F("value") + 1):
        PublicationGeneration.objects.update_or_create(pk=1, defaults={"value": int(timezone.now().timestamp() * 1000)})
    transaction.on_commit(generation_changed)  # a shared cache carries it to every process


# What the editors' side shows of a story's publications.


def live_now(article_id: int) -> Publication | None:
    """The story's publication readers see now, if any."""
    return Publication.objects.current().filter(article_id=article_id).select_related("revision").first()


def approved(article_id: int) -> Publication | None:
    """The version readers see now, or else the next one they will see (a scheduled story)."""
    rows = Publication.objects.current_or_scheduled().filter(article_id=article_id)
    return rows.select_related("revision").order_by("live_from").first()


def upcoming(article_id: int) -> Publication | None:
    """A version approved to replace the live one later (a scheduled update), if any."""
    now = timezone.now()
    if not Publication.objects.current(now).filter(article_id=article_id).exists():
        return None
    return Publication.objects.scheduled(now).filter(article_id=article_id).order_by("live_from").first()


def latest_before(article_id: int, moment: datetime) -> Publication | None:
    """The story's newest publication that started before `moment` (live then, or ended)."""
    return Publication.objects.filter(article_id=article_id, live_from__lt=moment).order_by("-live_from").first()


# A story's publications as the editors' side shows them (status label, "on the site"), read
# for a whole admin list in the list's own query.

STATE_FIELDS = ("open_from", "open_until", "open_count", "open_last_from", "ever_started")


@dataclass(frozen=True)
class State:
    """Where a story stands with readers, at `now`."""

    now: datetime
    open_from: datetime | None  # the start of the earliest window not closed yet
    open_until: datetime | None  # and its end
    open_count: int  # windows not closed yet (two: live, and an update approved for later)
    open_last_from: datetime | None  # the start of the last of them
    ever_started: bool  # some window has opened (the story was on the site at some time)

    @property
    def is_live(self) -> bool:
        return self.open_from is not None and self.open_from <= self.now

    @property
    def is_scheduled(self) -> bool:
        return self.open_from is not None and self.open_from > self.now

    @property
    def update_from(self) -> datetime | None:
        """When an approved update of the live version goes live, if one waits."""
        return self.open_last_from if self.is_live and self.open_count > 1 else None


def state_annotations(now: datetime | None = None) -> dict:
    """Annotations for an Article queryset carrying each story's State (see `state_of`)."""
    now = now or timezone.now()
    windows = Publication.objects.filter(article=OuterRef("pk")).order_by()
    open_windows = windows.current_or_scheduled(now)
    first = open_windows.order_by("live_from")
    return {
        "open_from": Subquery(first.values("live_from")[:1]),
        "open_until": Subquery(first.values("live_until")[:1]),
        "open_count": Subquery(
            open_windows.values("article").annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()
        ),
        "open_last_from": Subquery(open_windows.order_by("-live_from").values("live_from")[:1]),
        "ever_started": Exists(windows.started(now)),
    }


def state_of(article: Article) -> State:
    """The story's State: from the annotations of `state_annotations` when the queryset had
    them (an admin list), else read with one query."""
    if all(hasattr(article, name) for name in STATE_FIELDS):
        values = {name: getattr(article, name) for name in STATE_FIELDS}
        now = getattr(article, "state_now", None) or timezone.now()
    else:
        now = timezone.now()
        values = Article.objects.filter(pk=article.pk).annotate(**state_annotations(now)).values(*STATE_FIELDS).first()
        values = values or dict.fromkeys(STATE_FIELDS)
    return State(
        now=now, **{**values, "open_count": values["open_count"] or 0, "ever_started": bool(values["ever_started"])}
    )


def go_live_many(items) -> list[Publication]:
    """The bulk form of `go_live`, for putting many new stories live at once (seed_stories):
    the same rows and fields as `go_live` writes, in a few statements per batch rather than
    a dozen per story, and the generation moved once at the end.

    `items`: dicts of go_live's arguments by name: "article", "revision", "start", and
    optionally "end", "changes", "updated_at", "renditions". Each story appears once and has
    no publication yet, so there is no earlier version to end or replace and its first
    publication time is its start (anything else goes through `go_live`). The address rule is
    go_live's, checked for the whole batch before anything is written: a slug held by another
    story during any part of the window, in the database or earlier in `items`, is refused
    with AddressTaken. Returns the new publications, in the order of `items`.
    """
    items = list(items)
    if not items:
        return []
    article_ids = [item["article"].pk for item in items]
    if len(set(article_ids)) < len(items) or Publication.objects.filter(article_id__in=article_ids).exists():
        raise ValueError("go_live_many puts stories with no publication yet live, each once; use go_live.")
    datas = [item["revision"].data for item in items]
    windows = [Window(item["start"], item.get("end")) for item in items]
    # The address rule in bulk: every window that could meet one of the batch's (by slug,
    # not closed before the batch's earliest start), then each new window in turn.
    earliest = Window(min(window.start for window in windows))
    held: dict[str, list[tuple[Window, Article | None]]] = {}
    for row in earliest.overlapping(Publication.objects.filter(slug__in={data["slug"] for data in datas})):
        held.setdefault(row.slug, []).append((Window(row.live_from, row.live_until), None))

    for item, data, window in zip(items, datas, windows, strict=True):
        for other_window, other in held.get(data["slug"], []):
            if not window.meets(other_window):
                continue
            if other is None:  # a story in the database: go_live's own refusal, naming it
                raise AddressTaken(address_refusal(data["slug"], window, exclude_article=item["article"].pk))
            raise AddressTaken(
                f"The address “{data['slug']}” is given to two stories of one batch, “{other.title}” and "
                f"“{item['article'].title}”, at overlapping times; give one of them another slug."
            )
        held.setdefault(data["slug"], []).append((window, item["article"]))
    desk_slugs = {data["desk"]["slug"] for data in datas if data.get("desk")}
    source_names = {data["source"]["name"] for data in datas if data.get("source")}
    desks = {desk.slug: desk for desk in Desk.objects.filter(slug__in=desk_slugs)}
    sources = {source.name: source for source in Source.objects.filter(name__in=source_names)}
    rows = []
    for item, data in zip(items, datas, strict=True):
        start, updated_at, renditions = item["start"], item.get("updated_at"), item.get("renditions") or []
        card = _card(data, renditions=renditions, published_at=start, updated_at=updated_at)
        rows.append(
            Publication(
                article=item["article"],
                revision=item["revision"],
                slug=data["slug"],
                desk=desks.get(data["desk"]["slug"]) if data.get("desk") else None,
                source=sources.get(data["source"]["name"]) if data.get("source") else None,
                card=card,
                renditions=renditions,
                changes=list(item.get("changes") or []),
                published_at=start,
                updated_at=updated_at,
                live_from=start,
                live_until=item.get("end"),
                **search_texts(data),
            )
        )
    try:
        with transaction.atomic():  # as in go_live: a constraint violation must not end the caller's transaction
            Publication.objects.bulk_create(rows)
    except IntegrityError as error:
        if _address_clash(error):
            raise AddressTaken("An address in this batch was taken by another story just now; try again.") from error
        raise
    tags = dict(Tag.objects.filter(slug__in={t["slug"] for d in datas for t in d["tags"]}).values_list("slug", "pk"))
    PublicationTag.objects.bulk_create(
        PublicationTag(publication=row, tag_id=tags[t["slug"]], published_at=row.published_at)
        for row, data in zip(rows, datas, strict=True)
        for t in data["tags"]
        if t["slug"] in tags
    )
    if connection.vendor == "postgresql":
        refresh_documents(Publication.objects.filter(pk__in=[row.pk for row in rows]))
    generation_move()
    return rows

"""The desk's dashboard: what each person's admin start page shows, read in a fixed number of
queries however many stories there are, and nothing written.

A story is *mine* when I wrote it, was the last to change it, or submitted it
(`mine`); the story list's "My stories" filter is the same condition. The review turnaround
(submission to publication, per day) is worked out by the pure functions at the end, which
know nothing of the database.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from articles.models import Article, ArticleStatus, Publication, Transition

BOX_SIZE = 10  # items per box; one more is read to know whether there are more
RECENT_DAYS = 7
CHART_DAYS = 30
_STORY_FIELDS = ("id", "title", "status", "updated_at", "review_comment", "submitted_at")


def mine(user) -> Q:
    """The stories that are this person's: written, last changed or submitted by them."""
    return Q(created_by=user) | Q(updated_by=user) | Q(submitted_by=user)


def changes_requested() -> Q:
    """Drafts sent back by a moderator with a comment (submitting again clears it)."""
    return Q(status=ArticleStatus.DRAFT) & ~Q(review_comment="")


def can_see_stories(user) -> bool:
    """Whether the person may see stories at all (the admin's view permission)."""
    return user.has_perm("articles.view_article") or user.has_perm("articles.change_article")


def is_moderator(user) -> bool:
    return user.has_perm("articles.approve_article")


@dataclass
class Box:
    """A list of at most BOX_SIZE items, and whether more were left out."""

    items: list
    more: bool = False

    @classmethod
    def of(cls, queryset, size: int = BOX_SIZE) -> "Box":
        rows = list(queryset[: size + 1])
        return cls(rows[:size], len(rows) > size)


@dataclass(frozen=True)
class ScheduleItem:
    """A moment a story's window opens or closes: "live", "update" or "expiry"."""

    at: datetime
    kind: str
    article_id: int
    title: str


@dataclass
class Dashboard:
    moderator: bool
    drafts: Box
    sent_back: Box
    review: Box
    review_count: int
    schedule: list[ScheduleItem]
    published: Box
    unpublished: Box
    turnaround: list["DayFigures"] = field(default_factory=list)
    first_day: date | None = None


def dashboard_for(user, now: datetime | None = None) -> Dashboard:
    """Everything the start page shows this person, at `now`."""
    now = now or timezone.now()
    moderator = is_moderator(user)
    stories = Article.objects.only(*_STORY_FIELDS)
    own = stories.filter(mine(user))
    requested_by = Transition.objects.filter(article=OuterRef("pk"), action="request-changes").order_by("-at", "-pk")
    in_review = (stories if moderator else own).filter(status=ArticleStatus.IN_REVIEW)
    today = timezone.localdate(now)
    first_day = today - timedelta(days=CHART_DAYS - 1)
    return Dashboard(
        moderator=moderator,
        drafts=Box.of(own.filter(status=ArticleStatus.DRAFT).order_by("-updated_at", "-pk")),
        sent_back=Box.of(
            own.filter(changes_requested())
            .annotate(
                requested_at=Subquery(requested_by.values("at")[:1]),
                requested_by=Subquery(requested_by.values("user__username")[:1]),
            )
            .order_by("-updated_at", "-pk")
        ),
        review=Box.of(
            in_review.select_related("submitted_by")
            .only(*_STORY_FIELDS, "submitted_by__username")
            .order_by(F("submitted_at").asc(nulls_first=True), "pk")
        ),
        review_count=in_review.count(),
        schedule=schedule(now),
        published=Box.of(recent_transitions("approve", now).annotate(live_from=F("revision__publication__live_from"))),
        unpublished=Box.of(recent_transitions("unpublish", now)),
        turnaround=daily_figures(review_turnarounds(since=_day_start(first_day)), first_day=first_day, days=CHART_DAYS),
        first_day=first_day,
    )


def schedule(now: datetime, size: int = BOX_SIZE) -> list[ScheduleItem]:
    """The next moments stories go live (new, or an update) or come down (expiry), soonest first.

    The end of a window that another version of the same story opens at is a replacement,
    not an expiry, and is left out.
    """
    live_now = Publication.objects.current(now).filter(article=OuterRef("article"))
    openings = (
        Publication.objects.scheduled(now)
        .annotate(replaces=Exists(live_now), title=F("article__title"))
        .order_by("live_from", "pk")
        .values_list("live_from", "replaces", "article_id", "title")[:size]
    )
    replaced = Publication.objects.filter(article=OuterRef("article"), live_from=OuterRef("live_until"))
    expiries = (
        Publication.objects.filter(live_until__gt=now)
        .exclude(Exists(replaced))
        .annotate(title=F("article__title"))
        .order_by("live_until", "pk")
        .values_list("live_until", "article_id", "title")[:size]
    )
    items = [ScheduleItem(at, "update" if replaces else "live", pk, title) for at, replaces, pk, title in openings]
    items += [ScheduleItem(at, "expiry", pk, title) for at, pk, title in expiries]
    return sorted(items, key=lambda item: (item.at, item.article_id))[:size]


def recent_transitions(action: str, now: datetime):
    """The workflow steps of one kind in the last RECENT_DAYS days, newest first."""
    return (
        Transition.objects.filter(action=action, at__gt=now - timedelta(days=RECENT_DAYS), at__lte=now)
        .select_related("article", "user")
        .only("at", "action", "article__id", "article__title", "user__username")
        .order_by("-at", "-pk")
    )


def review_turnarounds(*, since: datetime) -> list[tuple[datetime, datetime]]:
    """(submitted, approved) for each approval out of review since `since`: each approval paired
    with the latest submission of the same story before it. Direct approvals (never in review)
    have no submission and are left out."""
    submitted = Transition.objects.filter(
        article=OuterRef("article"), action="submit", at__lte=OuterRef("at")
    ).order_by("-at", "-pk")
    rows = (
        Transition.objects.filter(action="approve", from_status=ArticleStatus.IN_REVIEW, at__gte=since)
        .annotate(submitted_at=Subquery(submitted.values("at")[:1]))
        .filter(submitted_at__isnull=False)
        .values_list("submitted_at", "at")
    )
    return list(rows)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


# The statistics: pure functions of numbers and dates.


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie, interpolating linearly between the
    two nearest ranks (so the median of [1, 2, 3, 4] is 2.5 and its 90th percentile 3.7)."""
    if not values:
        raise ValueError("percentile() of no values")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class DayFigures:
    """One day's review turnaround in hours; `count` 0 (and no figures) on a day without any."""

    day: date
    count: int = 0
    median: float | None = None
    p90: float | None = None


def daily_figures(pairs, *, first_day: date, days: int) -> list[DayFigures]:
    """Per day from `first_day` on (by the approval's local date), the number of publications
    out of review and the median and 90th percentile of their hours from submission."""
    hours: dict[date, list[float]] = {}
    for submitted, approved in pairs:
        day = timezone.localdate(approved)
        hours.setdefault(day, []).append((approved - submitted).total_seconds() / 3600)
    figures = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        values = hours.get(day)
        if values:
            figures.append(DayFigures(day, len(values), percentile(values, 0.5), percentile(values, 0.9)))
        else:
            figures.append(DayFigures(day))
    return figures

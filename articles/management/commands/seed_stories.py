"""Create many realistic stories quickly, for load tests and benchmarks.

Stories have every part, tags, desks and sources; most are live, with a share of drafts,
stories in review and scheduled ones. Rows are written in bulk, in batches, each batch in
one transaction; a progress bar shows how far it has gone.

A bench tool, not an editorial one: it writes rows and approval revisions directly (no
user, no Transition record, no notification) and so bypasses the workflow and its rules,
the four-eyes rule included; every seeded story still carries a source with a credit
condition and an original URL. What readers see goes through the one go-live path all the
same (articles.publications.go_live_many, the bulk form of go_live): live and scheduled
stories get their Publication rows, address rule included. Never run it on a newsroom's
real database.
"""

import random
import time
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag, TaggedItem

from articles.models import Article, Desk, KeyFact, Point, Revision, Section, Source, Take, TakePoint
from articles.publications import go_live_many
from articles.snapshots import snapshot_data
from articles.text import markdown_to_html

WORDS = tuple(
    dict.fromkeys(
        (
            "harbour council tidal energy grid transit budget school river housing market port climate data "
            "policy court election rail bridge hospital festival drought storm vaccine startup factory museum "
            "coast farm water ferry library union tariff satellite research battery solar wind carbon plastic "
            "robot chip network privacy reform heat flood wildfire orchard vineyard bakery airport"
        ).split()
    )
)
DESKS = ["Politics", "Business", "Technology", "Science", "Climate", "Cities", "Health", "Culture"]
TAKE_KINDS = ["why_it_matters", "limitations", "advice"]
BATCH = 500


def sentence(rng: random.Random, words: int = 14) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, stream, width: int = 30):
        self.total, self.stream, self.width, self.start = total, stream, width, time.monotonic()

    def update(self, done: int) -> None:
        filled = int(self.width * done / max(self.total, 1))
        rate = done / max(time.monotonic() - self.start, 1e-6)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} ({rate:,.0f}/s)", ending=""
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("")


class Command(BaseCommand):
    help = "Create N realistic stories (all parts, tags, desks, sources; mostly live) in bulk."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1, help="Random seed, for repeatable data.")
        parser.add_argument(
            "--live-share",
            type=float,
            default=0.85,
            help="Share of stories that are live (the rest: drafts, in review, scheduled).",
        )

    def handle(self, *args, count, seed, live_share, **options):
        if count < 1:
            raise CommandError("--count must be at least 1")
        rng = random.Random(seed)
        desks = [Desk.objects.get_or_create(slug=slugify(n), defaults={"name": n})[0] for n in DESKS]
        sources = [
            Source.objects.get_or_create(
                name=f"Seed Wire {i}", defaults={"site": f"wire{i}.example", "credit": f"Please credit Seed Wire {i}."}
            )[0]
            for i in range(20)
        ]
        tags = [Tag.objects.get_or_create(slug=f"topic-{w}", defaults={"name": f"topic {w}"})[0] for w in WORDS]
        # Bodies and ledes come from a pool rendered once: realistic text, without paying for
        # Markdown rendering a million times.
        self.ledes = [(text, markdown_to_html(text)) for text in (sentence(rng, 30) for _ in range(300))]
        self.bodies = [
            (body, markdown_to_html(body))
            for body in ("\n\n".join(sentence(rng, 40) for _ in range(3)) for _ in range(600))
        ]
        offset = Article.objects.count()
        progress = Progress(count, self.stderr)
        started = time.monotonic()
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            with transaction.atomic():
                self._batch(rng, offset + start, size, desks, sources, tags, live_share)
            progress.update(start + size)
        progress.close()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # fresh statistics, or the planner guesses badly
                cursor.execute("ANALYZE")
        elapsed = time.monotonic() - started
        self.stdout.write(f"Created {count} stories in {elapsed:.1f} s ({count / elapsed:,.0f} stories/s).")

    def _batch(self, rng, first, size, desks, sources, tags, live_share):
        now = timezone.now()
        articles, parts = [], []
        for n in range(first, first + size):
            title = f"{sentence(rng, 8)[:-1]} {n}"
            lede, lede_html = rng.choice(self.ledes)
            article = Article(
                title=title,
                slug=f"{slugify(title)[:150]}-{n}",
                lede=lede,
                lede_html=lede_html,
                byline=f"Reporter {rng.randint(1, 60)}",
                desk=rng.choice(desks),
                source=rng.choice(sources),
                original_url=f"https://wire.example/seed/{n}",
                key_facts_heading="Key Facts",
            )
            key_facts = [KeyFact(position=i, label=rng.choice(WORDS).title(), text=sentence(rng)) for i in range(4)]
            sections = []
            for i in range(3):
                body, body_html = rng.choice(self.bodies)
                section = Section(
                    position=i,
                    heading=sentence(rng, 5)[:-1].title(),
                    body=body,
                    body_html=body_html,
                    points_heading="Key Points" if i == 1 else "",
                )
                points = [Point(position=j, label=rng.choice(WORDS).title(), text=sentence(rng)) for j in range(3)]
                sections.append((section, points))
            take = Take(title="The Desk's Take")
            take_points = [
                TakePoint(position=i, kind=kind, text=sentence(rng, 20)) for i, kind in enumerate(TAKE_KINDS)
            ]
            story_tags = rng.sample(tags, 3)
            roll = rng.random()
            state = "live" if roll < live_share else rng.choice(["draft", "in_review", "scheduled"])
            articles.append(article)
            parts.append((state, key_facts, sections, take, take_points, story_tags))

        revisions, starts = [], []
        for article, (state, key_facts, sections, take, take_points, story_tags) in zip(articles, parts, strict=True):
            article.status = {"draft": "draft", "in_review": "in_review"}.get(state, "published")
            data = snapshot_data(
                article, key_facts=key_facts, sections=sections, take=(take, take_points), tags=story_tags
            )
            start = _go_live_time(rng, state, now)
            kind = Revision.Kind.SAVE if start is None else Revision.Kind.APPROVAL
            revisions.append(Revision(article=article, number=1, kind=kind, created_at=now, data=data))
            starts.append(start)
        Article.objects.bulk_create(articles)

        key_fact_rows, section_rows, takes = [], [], []
        for article, (_state, key_facts, sections, take, _take_points, _story_tags) in zip(
            articles, parts, strict=True
        ):
            for fact in key_facts:
                fact.article = article
            key_fact_rows += key_facts
            for section, _points in sections:
                section.article = article
                section_rows.append(section)
            take.article = article
            takes.append(take)
        KeyFact.objects.bulk_create(key_fact_rows)
        Section.objects.bulk_create(section_rows)
        Point.objects.bulk_create(
            point for section, points in (s for p in parts for s in p[2]) for point in _attach(section, points)
        )
        Take.objects.bulk_create(takes)
        TakePoint.objects.bulk_create(
            point for take, p in zip(takes, parts, strict=True) for point in _attach_take(take, p[4])
        )
        Revision.objects.bulk_create(revisions)
        go_live_many(
            {"article": article, "revision": revision, "start": start}
            for article, revision, start in zip(articles, revisions, starts, strict=True)
            if start is not None
        )
        article_type = ContentType.objects.get_for_model(Article)
        TaggedItem.objects.bulk_create(
            TaggedItem(content_type=article_type, object_id=article.pk, tag=tag)
            for article, p in zip(articles, parts, strict=True)
            for tag in p[5]
        )


def _go_live_time(rng, state: str, now):
    """When an approved story goes live: a live one some time in the past year, a scheduled
    one in the next three days; None for drafts and stories in review. (Both draw the age,
    so that a seed gives the same stories as it did before publications.)"""
    if state not in ("live", "scheduled"):
        return None
    age = timedelta(minutes=rng.randint(1, 60 * 24 * 365))
    return now - age if state == "live" else now + timedelta(hours=rng.randint(1, 72))


def _attach(section, points):
    for point in points:
        point.section = section
    return points


def _attach_take(take, points):
    for point in points:
        point.take = take
    return points

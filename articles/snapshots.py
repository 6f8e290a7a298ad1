"""Snapshots of a story: all fields and parts as JSON, and the reader's view of one.

A snapshot is what a Revision stores and what readers see of a live story. `story_view`
turns one back into attribute-style objects that the public template reads.
"""

from types import SimpleNamespace
from typing import NotRequired, TypedDict

from django.core.files.storage import default_storage
from django.utils.text import Truncator

from articles import links
from articles.cards import moment
from articles.models import Article, KeyFact, Point, Section, Source, Take, TakePoint
from articles.storyformat import TAKE_KINDS
from articles.text import html_to_text, markdown_to_html

SNAPSHOT_VERSION = 1
DESCRIPTION_WORDS = 40


# The shape of a snapshot: a story's content and nothing derived from it. What a version
# gets when it goes live (image renditions, dated notices, public dates) is kept on its
# Publication, so comparing two snapshots ("unpublished changes") compares content only.


class Named(TypedDict):
    name: str
    slug: str


class SourceCredit(TypedDict):
    name: str
    site: str
    credit: str


class ImageRef(TypedDict):
    name: str
    width: int | None
    height: int | None


class Fact(TypedDict):
    label: str
    text: str


class SectionData(TypedDict):
    heading: str
    body: str
    body_html: str
    points_heading: str
    points: list[Fact]


class TakePointData(TypedDict):
    kind: str
    text: str


class TakeData(TypedDict):
    title: str
    points: list[TakePointData]


class Snapshot(TypedDict):
    v: int
    title: str
    slug: str
    lede: str
    lede_html: str
    lede_text: NotRequired[str]  # absent from snapshots written before it was added
    byline: str
    desk: Named | None
    tags: list[Named]
    image: ImageRef | None
    image_alt: str
    image_credit: str
    source: SourceCredit | None
    original_url: str
    key_facts_heading: str
    key_facts: list[Fact]
    sections: list[SectionData]
    take: TakeData | None


def snapshot_content(data: dict) -> dict:
    """The content of a stored snapshot: the Snapshot fields only (not its format version),
    the image as an ImageRef. Approval revisions written before publications also carried
    renditions, dated notices and public dates; they are derived, and left out here."""
    content = {key: data.get(key) for key in Snapshot.__annotations__ if key != "v"}
    if content["image"]:
        content["image"] = {key: content["image"].get(key) for key in ImageRef.__annotations__}
    if content["lede_text"] is None:
        content["lede_text"] = html_to_text(data["lede_html"])
    return content


def article_snapshot(article: Article) -> Snapshot:
    """Everything readers would see of the working copy, as plain JSON-ready data."""
    take = article.take if _has_take(article) else None
    return snapshot_data(
        article,
        key_facts=list(article.key_facts.all()),
        sections=[(s, list(s.points.all())) for s in article.sections.prefetch_related("points")],
        take=(take, list(take.points.all())) if take else None,
        tags=list(article.tags.all()),
    )


def snapshot_data(article: Article, *, key_facts, sections, take, tags) -> Snapshot:
    """The snapshot of an article and its parts given in memory (no queries but desk/source)."""
    image = None
    if article.image:
        image = {"name": article.image.name, "width": article.image_width, "height": article.image_height}
    return {
        "v": SNAPSHOT_VERSION,
        "title": article.title,
        "slug": article.slug,
        "lede": article.lede,
        "lede_html": article.lede_html,
        "lede_text": html_to_text(article.lede_html),
        "byline": article.byline,
        "desk": {"name": article.desk.name, "slug": article.desk.slug} if article.desk_id else None,
        "tags": [{"name": t.name, "slug": t.slug} for t in sorted(tags, key=lambda t: t.name)],
        "image": image,
        "image_alt": article.image_alt,
        "image_credit": article.image_credit,
        "source": (
            {"name": article.source.name, "site": article.source.site, "credit": article.source.credit}
            if article.source_id
            else None
        ),
        "original_url": article.original_url,
        "key_facts_heading": article.key_facts_heading,
        "key_facts": [{"label": f.label, "text": f.text} for f in key_facts],
        "sections": [
            {
                "heading": s.heading,
                "body": s.body,
                "body_html": s.body_html,
                "points_heading": s.points_heading,
                "points": [{"label": p.label, "text": p.text} for p in points],
            }
            for s, points in sections
        ],
        "take": (
            {"title": take[0].title, "points": [{"kind": p.kind, "text": p.text} for p in take[1]]} if take else None
        ),
    }


def _has_take(article: Article) -> bool:
    try:
        return article.take is not None
    except Take.DoesNotExist:
        return False


def _image_view(image: dict, renditions: list) -> SimpleNamespace:
    renditions = [
        {"url": default_storage.url(r["name"]), "width": r["width"], "height": r["height"], "format": r["format"]}
        for r in renditions
    ]
    jpegs = [r for r in renditions if r["format"] == "image/jpeg"]
    # The fallback <img src>: the largest JPEG rendition, or the upload itself before approval.
    fallback = (
        jpegs[-1]
        if jpegs
        else {"url": default_storage.url(image["name"]), "width": image["width"], "height": image["height"]}
    )
    return SimpleNamespace(
        url=fallback["url"],
        width=fallback["width"],
        height=fallback["height"],
        renditions=renditions,
        thumb=(jpegs[0]["url"] if jpegs else fallback["url"]),
    )


def story_view(data: dict, *, published=None) -> SimpleNamespace:
    """The reader's view of a snapshot: what the public templates read.

    The snapshot is content only. What belongs to its publication (the public dates, the
    notices of updates and corrections, the hero image's renditions) comes from `published`:
    a mapping with published_at, updated_at, changes and renditions (a Publication's
    values), or None for a working copy that is not published (a preview: the upload itself
    is shown, and no dates)."""
    published = published or {}
    image = data.get("image")
    take = data.get("take")
    changes = published.get("changes") or []
    fields = dict(
        url=links.story_path(data["slug"]),
        published_at=published.get("published_at"),
        updated_at=published.get("updated_at"),
        changes=[SimpleNamespace(kind=c["kind"], note=c["note"], at=moment(c["at"])) for c in changes],
    )
    lede_text = data["lede_text"] if "lede_text" in data else html_to_text(data["lede_html"])
    return SimpleNamespace(
        title=data["title"],
        slug=data["slug"],
        lede_html=data["lede_html"],
        lede_text=lede_text,
        description=Truncator(lede_text).words(DESCRIPTION_WORDS),  # for search engines and link previews
        byline=data["byline"],
        desk=SimpleNamespace(**data["desk"], url=links.desk_path(data["desk"]["slug"])) if data.get("desk") else None,
        tags=[
            SimpleNamespace(**tag, url=links.tag_path(tag["slug"]) if tag.get("slug") else None) for tag in data["tags"]
        ],
        image=_image_view(image, published.get("renditions") or []) if image else None,
        image_alt=data["image_alt"],
        image_credit=data["image_credit"],
        source=SimpleNamespace(**data["source"]) if data.get("source") else None,
        original_url=data["original_url"],
        key_facts_heading=data["key_facts_heading"],
        key_facts=[SimpleNamespace(**fact) for fact in data["key_facts"]],
        sections=[
            SimpleNamespace(
                heading=s["heading"],
                body_html=s["body_html"],
                points_heading=s["points_heading"],
                points=[SimpleNamespace(**p) for p in s["points"]],
            )
            for s in data["sections"]
        ],
        take=(
            SimpleNamespace(
                title=take["title"],
                points=[
                    SimpleNamespace(
                        kind=p["kind"], text=p["text"], emoji=TAKE_KINDS[p["kind"]][0], label=TAKE_KINDS[p["kind"]][1]
                    )
                    for p in take["points"]
                ],
            )
            if take
            else None
        ),
        **fields,
    )


def snapshot_restore(article: Article, data: dict) -> None:
    """Write a snapshot's content into the working copy (fields and every part).

    The address (slug) and the workflow fields are not part of the content and stay.
    """
    article.title = data["title"]
    article.lede = data["lede"]
    article.byline = data["byline"]
    article.image_alt = data["image_alt"]
    article.image_credit = data["image_credit"]
    article.original_url = data["original_url"]
    article.key_facts_heading = data["key_facts_heading"]
    if data.get("image") and default_storage.exists(data["image"]["name"]):
        article.image.name = data["image"]["name"]
        article.image_width, article.image_height = data["image"]["width"], data["image"]["height"]
    else:  # none then, or deleted since nothing used it any more (articles.media)
        article.image = ""
    if data.get("source"):
        article.source, _ = Source.objects.get_or_create(
            name=data["source"]["name"], defaults={"site": data["source"]["site"], "credit": data["source"]["credit"]}
        )
    else:
        article.source = None
    if data.get("desk"):
        from articles.models import Desk

        article.desk = Desk.objects.filter(slug=data["desk"]["slug"]).first()
    else:
        article.desk = None
    article.save()
    article.tags.set([tag["name"] for tag in data["tags"]])
    parts_replace(article, data)


def parts_replace(article: Article, data: dict, *, fresh: bool = False) -> dict:
    """Replace the article's key facts, sections, points and take with those in `data`
    (`fresh`: the article was just created and has none to delete).

    Returns the parts written, as `snapshot_data` takes them (key_facts, sections, take).
    """
    if not fresh:
        article.key_facts.all().delete()
        article.sections.all().delete()
        Take.objects.filter(article=article).delete()
    key_facts = KeyFact.objects.bulk_create(
        KeyFact(article=article, position=i, label=f["label"], text=f["text"]) for i, f in enumerate(data["key_facts"])
    )
    sections = Section.objects.bulk_create(
        Section(
            article=article,
            position=i,
            heading=s["heading"],
            body=s["body"],
            body_html=markdown_to_html(s["body"]),
            points_heading=s["points_heading"],
        )
        for i, s in enumerate(data["sections"])
    )
    points = [
        [Point(section=section, position=j, label=p["label"], text=p["text"]) for j, p in enumerate(s["points"])]
        for section, s in zip(sections, data["sections"], strict=True)
    ]
    Point.objects.bulk_create(point for section_points in points for point in section_points)
    take = None
    if data.get("take"):
        take_row = Take.objects.create(article=article, title=data["take"]["title"])
        take = (
            take_row,
            TakePoint.objects.bulk_create(
                TakePoint(take=take_row, position=i, kind=p["kind"], text=p["text"])
                for i, p in enumerate(data["take"]["points"])
            ),
        )
    return {"key_facts": key_facts, "sections": list(zip(sections, points, strict=True)), "take": take}

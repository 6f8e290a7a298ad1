"""A story's card: what lists, feeds and the API's list show of a publication.

When a version is approved its card is kept on its Publication (`card`), so a list of
twenty stories reads twenty small JSON documents instead of twenty whole revisions, and
the page shows text prepared once (the teaser) rather than on every request.
"""

from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.text import Truncator
from django.utils.translation import get_language

from articles import links
from articles.text import html_to_text

TEASER_WORDS = 35
# The snapshot fields a card carries as they are.
CARD_FIELDS = (
    "title",
    "slug",
    "lede_html",
    "byline",
    "desk",
    "tags",
    "image_alt",
    "source",
    "original_url",
    "published_at",
    "updated_at",
)


def card_data(data: dict) -> dict:
    """The card of an approved snapshot (a revision's data, with the publication's dates and
    image renditions), as JSON-ready data."""
    card = {field: data.get(field) for field in CARD_FIELDS}
    lede_text = data["lede_text"] if "lede_text" in data else html_to_text(data["lede_html"])
    card.update(lede_text=lede_text, teaser=Truncator(lede_text).words(TEASER_WORDS), thumb=_thumb(data.get("image")))
    return card


def _thumb(image: dict | None) -> str | None:
    """The storage name of the smallest clean JPEG rendition (the upload itself before approval)."""
    if not image:
        return None
    jpegs = [r for r in image.get("renditions", []) if r["format"] == "image/jpeg"]
    return jpegs[0]["name"] if jpegs else image["name"]


def card_view(card: dict, **extra) -> SimpleNamespace:
    """The reader's view of a card: what the list templates, the feeds and the API read."""
    published_at = moment(card.get("published_at"))
    local = timezone.localtime(published_at) if published_at else None
    desk = card.get("desk")
    return SimpleNamespace(
        title=card["title"],
        slug=card["slug"],
        url=links.story_path(card["slug"]),
        teaser=card["teaser"],
        lede_text=card["lede_text"],
        lede_html=card["lede_html"],
        byline=card["byline"],
        desk=SimpleNamespace(name=desk["name"], slug=desk["slug"], url=links.desk_path(desk["slug"])) if desk else None,
        # A tag whose name has no letters for an address (say "<>") has no page to link to.
        tags=[
            SimpleNamespace(name=t["name"], slug=t["slug"], url=links.tag_path(t["slug"]) if t["slug"] else None)
            for t in card["tags"]
        ],
        thumb=default_storage.url(card["thumb"]) if card.get("thumb") else None,
        image_alt=card["image_alt"],
        source=SimpleNamespace(**card["source"]) if card.get("source") else None,
        original_url=card["original_url"],
        published_at=published_at,
        updated_at=moment(card.get("updated_at")),
        # The two forms the templates show, as the `date` filter would give them.
        published_iso=local.strftime("%Y-%m-%dT%H:%M:%S%z") if local else "",
        published_day=_day(local.date(), get_language()) if local else "",
        **extra,
    )


def moment(value: str | None) -> datetime | None:
    """A date and time as cards and snapshots store it (ISO 8601), or None."""
    return datetime.fromisoformat(value) if value else None


@lru_cache(maxsize=4096)
def _day(day, language: str) -> str:  # noqa: ARG001 - the language is part of the key
    return f"{day.day} {MONTHS[day.month]} {day.year}"

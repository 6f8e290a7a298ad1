"""What approving a revision sets up for readers: renditions, the live address (keeping old
addresses as redirects) and the text that search reads. Called by the workflow."""

from articles.cards import card_data
from articles.images import make_renditions
from articles.models import Article, LiveTag, SlugRedirect
from articles.storyformat import TAKE_KINDS
from articles.text import html_to_text


class ImageUnreadable(Exception):
    """The hero image file is missing or not an image."""


def prepare_snapshot(data: dict) -> dict:
    """Add the image renditions to a snapshot about to go live."""
    if data.get("image"):
        try:
            data["image"]["renditions"] = make_renditions(data["image"]["name"])
        except (OSError, ValueError) as error:
            raise ImageUnreadable(str(error)) from error
    return data


def search_texts(data: dict) -> dict:
    """The live revision as three plain-text fields, by weight: title, summary, body."""
    summary = [html_to_text(data["lede_html"]), data["key_facts_heading"]]
    summary += [f"{f['label']}: {f['text']}" for f in data["key_facts"]]
    body = []
    for section in data["sections"]:
        body += [section["heading"], html_to_text(section["body_html"]), section["points_heading"]]
        body += [f"{p['label']} {p['text']}".strip() for p in section["points"]]
    if data.get("take"):
        body.append(data["take"]["title"])
        body += [f"{TAKE_KINDS[p['kind']][1]}: {p['text']}" for p in data["take"]["points"]]
    return {
        "search_title": data["title"],
        "search_summary": "\n".join(s for s in summary if s),
        "search_body": "\n".join(s for s in body if s),
    }


def move_address(article: Article, new_slug: str) -> None:
    """Keep the story's previous live address answering with a redirect to the new one."""
    SlugRedirect.objects.filter(old_slug=new_slug).delete()
    if article.live_slug and article.live_slug != new_slug:
        SlugRedirect.objects.update_or_create(old_slug=article.live_slug, defaults={"article": article})


def live_listing(data: dict) -> dict:
    """The live revision's desk and source, as the ids public lists filter on, and its card."""
    from articles.models import Desk, Source

    desk = Desk.objects.filter(slug=data["desk"]["slug"]).first() if data.get("desk") else None
    source = Source.objects.filter(name=data["source"]["name"]).first() if data.get("source") else None
    return {"live_desk": desk, "live_source": source, "live_card": card_data(data)}


def set_live_tags(article: Article, data: dict) -> None:
    """The live revision's tags, each with the story's first-publication time (see LiveTag)."""
    from taggit.models import Tag

    tags = Tag.objects.filter(slug__in=[t["slug"] for t in data["tags"]]).values_list("pk", flat=True)
    LiveTag.objects.filter(article=article).delete()
    LiveTag.objects.bulk_create(LiveTag(article=article, tag_id=pk, published_at=article.published_at) for pk in tags)

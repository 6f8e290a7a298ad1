"""Rendered HTML of live stories, kept in each process and keyed by the live revision it shows.

A revision never changes, so HTML rendered from one is never stale: a new version is a new
revision and a new key, and nothing needs clearing when a story is published, updated or
unpublished (an unpublished story is simply not looked up). This matters most right after a
publish: it makes every cached page stale at once, and the pages readers ask for next are
rebuilt from these pieces instead of from scratch.

The pieces live in the "fragments" cache (each process's own memory, see settings.CACHES).
Their keys also name what else the HTML depends on: the language, the time zone and the
address prefix, and, for a story page's head (canonical address, link previews), the scheme
and host. Everything is rendered by the templates, autoescaped as usual.
"""

from types import SimpleNamespace

from django.core.cache import caches
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.translation import get_language

from articles.cards import card_view
from articles.snapshots import story_view

CARD_TEMPLATE = "articles/_story_card.html"
STORY_TEMPLATE = "articles/article_detail.html"


def _shown_as() -> str:
    return f"{get_language()}:{timezone.get_current_timezone_name()}:{get_script_prefix()}"


def cards(rows) -> list[str]:
    """The HTML of each (live revision id, card) row's card, in order: one lookup for the
    whole list, and only the cards not seen before are rendered."""
    shown_as = _shown_as()
    keys = [f"card:{revision_id}:{shown_as}" for revision_id, _ in rows]
    kept = caches["fragments"]
    found = kept.get_many(keys)
    rendered = {
        key: render_to_string(CARD_TEMPLATE, {"article": card_view(card)})
        for key, (_, card) in zip(keys, rows) if key not in found
    }
    if rendered:
        kept.set_many(rendered)
        found.update(rendered)
    return [found[key] for key in keys]


def story_parts(request, data: dict, **context) -> SimpleNamespace:
    """A story page's own parts, rendered from a snapshot: its title, the tags in its <head>
    and the story itself (the partials of articles/article_detail.html)."""
    article = story_view(data, **context.pop("view", {}))
    context = {"article": article, "canonical_url": request.build_absolute_uri(article.url), **context}
    return SimpleNamespace(
        title=article.title,
        head=render_to_string(f"{STORY_TEMPLATE}#head", context, request=request),
        body=render_to_string(f"{STORY_TEMPLATE}#body", context),
    )


def live_story_parts(request, revision_id: int, load_data) -> SimpleNamespace:
    """The parts of a live revision's story page: kept ones, or rendered from `load_data()`
    (the revision's snapshot) and kept."""
    key = f"story:{revision_id}:{_shown_as()}:{request.scheme}://{request.get_host()}"
    kept = caches["fragments"]
    parts = kept.get(key)
    if parts is None:
        parts = story_parts(request, load_data())
        kept.set(key, parts)
    return parts

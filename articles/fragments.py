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
from articles.models import Article
from articles.snapshots import story_view

CARD_TEMPLATE = "articles/_story_card.html"
STORY_TEMPLATE = "articles/article_detail.html"
SEARCH_HEAD_TEMPLATE = "articles/search.html#hit_head"


def _shown_as() -> str:
    return f"{get_language()}:{timezone.get_current_timezone_name()}:{get_script_prefix()}"


def cards(revision_ids) -> list[str]:
    """The HTML of the cards of these live revisions, in order (see `_kept_html`)."""
    html = _kept_html(revision_ids, "card", CARD_TEMPLATE)
    return [html[revision_id] for revision_id in revision_ids if revision_id in html]


def search_heads(revision_ids) -> dict[int, str]:
    """The head of each live revision's search result (desk, headline, date), by revision."""
    return _kept_html(revision_ids, "search-head", SEARCH_HEAD_TEMPLATE)


def _kept_html(revision_ids, name: str, template: str) -> dict[int, str]:
    """`template` rendered with each live revision's card, by revision: one lookup for them
    all, and only the cards not kept yet are read and rendered. A story that stopped being
    live in the meantime (its revision no longer live) is left out."""
    shown_as = _shown_as()
    keys = {revision_id: f"{name}:{revision_id}:{shown_as}" for revision_id in revision_ids}
    revision_of = {key: revision_id for revision_id, key in keys.items()}

    def render(missing: list[str]) -> dict[str, str]:
        cards = Article.objects.filter(live_revision_id__in=[revision_of[key] for key in missing]).order_by()
        return {
            keys[revision_id]: render_to_string(template, {"article": card_view(card)})
            for revision_id, card in cards.values_list("live_revision_id", "live_card")
        }

    found = kept_or_rendered(list(keys.values()), render)
    return {revision_id: found[key] for revision_id, key in keys.items() if key in found}


def kept_or_rendered(keys: list[str], render) -> dict[str, str]:
    """The piece kept under each key; for the keys with none, `render(missing keys)` makes
    them (a dict by key; a key it leaves out is left out) and they are kept. One lookup."""
    kept = caches["fragments"]
    found = kept.get_many(keys)
    if missing := [key for key in keys if key not in found]:
        rendered = render(missing)
        kept.set_many(rendered)
        found.update(rendered)
    return found


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

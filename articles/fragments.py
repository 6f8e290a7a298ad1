"""Rendered HTML of publications, kept in the "fragments" cache under the publication's id.

A publication never changes what it shows (a new version is a new publication, with a new
id), so HTML rendered from one is never stale, and nothing needs clearing when a story is
published, updated or unpublished: a publication that is no longer current is simply not
looked up. This matters most right after a publish: every cached page is stale at once, and
the pages readers ask for next are rebuilt from these pieces instead of from scratch.

The pieces live in the "fragments" cache (settings.CACHES, through Django's cache API).
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
from articles.models import Publication
from articles.snapshots import story_view

CARD_TEMPLATE = "articles/_story_card.html"
STORY_TEMPLATE = "articles/article_detail.html"
SEARCH_HEAD_TEMPLATE = "articles/search.html#hit_head"


def _shown_as() -> str:
    return f"{get_language()}:{timezone.get_current_timezone_name()}:{get_script_prefix()}"


def cards(publication_ids) -> list[str]:
    """The HTML of the cards of these publications, in order (see `_kept_html`)."""
    html = _kept_html(publication_ids, "card", CARD_TEMPLATE)
    return [html[pk] for pk in publication_ids if pk in html]


def search_heads(publication_ids) -> dict[int, str]:
    """The head of each publication's search result (desk, headline, date), by publication."""
    return _kept_html(publication_ids, "search-head", SEARCH_HEAD_TEMPLATE)


def _kept_html(publication_ids, name: str, template: str) -> dict[int, str]:
    """`template` rendered with each publication's card, by publication id: one lookup for
    them all, and only the cards not kept yet are read (one query) and rendered. The ids come
    from a read of current publications; a story deleted in between is left out."""
    shown_as = _shown_as()
    keys = {pk: f"{name}:{pk}:{shown_as}" for pk in publication_ids}
    publication_of = {key: pk for pk, key in keys.items()}

    def render(missing: list[str]) -> dict[str, str]:
        rows = Publication.objects.filter(pk__in=[publication_of[key] for key in missing]).order_by()
        return {
            keys[pk]: render_to_string(template, {"article": card_view(card)})
            for pk, card in rows.values_list("pk", "card")
        }

    found = kept_or_rendered(list(keys.values()), render)
    return {pk: found[key] for pk, key in keys.items() if key in found}


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


def story_parts(request, data: dict, *, published=None, **context) -> SimpleNamespace:
    """A story page's own parts, rendered from a snapshot and what its publication adds
    (`published`, see snapshots.story_view): its title, the tags in its <head> and the story
    itself (the partials of articles/article_detail.html)."""
    article = story_view(data, published=published)
    context = {"article": article, "canonical_url": request.build_absolute_uri(article.url), **context}
    return SimpleNamespace(
        title=article.title,
        head=render_to_string(f"{STORY_TEMPLATE}#head", context, request=request),
        body=render_to_string(f"{STORY_TEMPLATE}#body", context),
    )


def publication_parts(request, publication_id: int, load) -> SimpleNamespace | None:
    """The parts of a publication's story page: kept ones, or rendered from `load()` (its
    revision's snapshot and its publication fields, or None if it is gone) and kept."""
    key = f"story:{publication_id}:{_shown_as()}:{request.scheme}://{request.get_host()}"
    kept = caches["fragments"]
    parts = kept.get(key)
    if parts is None:
        loaded = load()
        if loaded is None:
            return None
        data, published = loaded
        parts = story_parts(request, data, published=published)
        kept.set(key, parts)
    return parts

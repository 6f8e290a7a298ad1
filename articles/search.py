"""Search over live stories: PostgreSQL full-text search (weighted, stemmed, ranked, with a
GIN index) when on PostgreSQL, and a plain word match on SQLite; highlighting for both."""

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Left
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

CONFIG = "english"
# Ranking looks at the most recent matches only, so a common word costs the same with a
# hundred stories or a million.
CANDIDATES = 200
# The excerpt is looked for in the summary and the body's first characters: ts_headline's
# cost grows with the text it reads (a whole 4,000-character body costs about twice as
# much). A word found only further down still finds the story; its excerpt then shows
# the story's opening lines without a mark.
HEADLINE_BODY_CHARS = 1500
MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
# Private-use characters mark matches inside ts_headline's output, so that the text itself
# can be escaped before the <mark> tags are put in.
START, STOP = "\ue000", "\ue001"
_WORD = re.compile(r"\w+", re.UNICODE)


def search_vector():
    """The weighted document: headline (A), key facts and lede (B), body (C); stored in
    Article.search_document when a story goes live."""
    from django.contrib.postgres.search import SearchVector

    return (
        SearchVector("search_title", weight="A", config=CONFIG)
        + SearchVector("search_summary", weight="B", config=CONFIG)
        + SearchVector("search_body", weight="C", config=CONFIG)
    )


def refresh_documents(queryset) -> None:
    """Store the search document of these stories (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        queryset.update(search_document=search_vector())


def clean_query(raw: str | None) -> str:
    """The words of a query, without control characters or operators, bounded in size."""
    words = _WORD.findall((raw or "")[:MAX_QUERY_LENGTH])
    return " ".join(words[:MAX_TERMS])


@dataclass
class Hit:
    article: object
    excerpt: SafeString


def search(live: QuerySet, query: str) -> QuerySet:
    """Live stories matching `query`, best first, with their cards (and what `excerpt` reads)."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank

        ts_query = SearchQuery(query, config=CONFIG, search_type="plain")
        candidates = live.filter(search_document=ts_query).order_by("-published_at").values("pk")[:CANDIDATES]
        return (
            live.filter(pk__in=candidates)
            .only("live_card")
            .annotate(
                rank=SearchRank(F("search_document"), ts_query),
                headline=SearchHeadline(
                    Concat("search_summary", Value("\n"), Left("search_body", HEADLINE_BODY_CHARS),
                           output_field=TextField()),
                    ts_query,
                    config=CONFIG, start_sel=START, stop_sel=STOP, max_words=40, min_words=20,
                ),
            )
            .order_by("-rank", "-published_at")
        )
    condition = Q()
    for word in query.split():
        condition &= Q(search_title__icontains=word) | Q(search_summary__icontains=word) | Q(
            search_body__icontains=word
        )
    return live.filter(condition).only("live_card", "search_summary", "search_body").order_by("-published_at")


def excerpt(article, query: str) -> SafeString:
    """A short passage with the query's words marked, escaped everywhere else."""
    text = getattr(article, "headline", None)
    if text is None:
        text = _mark_words(_window(f"{article.search_summary}\n{article.search_body}", query), query)
    return _to_html(text)


def _window(text: str, query: str, size: int = 240) -> str:
    lowered = text.lower()
    positions = [lowered.find(w.lower()) for w in query.split() if lowered.find(w.lower()) >= 0]
    start = max(min(positions) - 60, 0) if positions else 0
    snippet = text[start:start + size]
    return ("…" if start else "") + snippet + ("…" if start + size < len(text) else "")


def _mark_words(text: str, query: str) -> str:
    words = sorted({w for w in query.split() if w}, key=len, reverse=True)
    if not words:
        return text
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return pattern.sub(lambda m: f"{START}{m.group(0)}{STOP}", text)


def _to_html(marked: str) -> SafeString:
    # Escape first: only our own <mark> tags are HTML in the result.
    html = escape(marked).replace(START, "<mark>").replace(STOP, "</mark>")
    return mark_safe(html)  # noqa: S308 - built from escaped text and our own tags only

"""Search over live stories: PostgreSQL full-text search (weighted, stemmed, ranked, with a
GIN index) when on PostgreSQL, and a plain word match on SQLite; highlighting for both."""

import re

from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Cast, Concat, Left
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

CONFIG = "english"
# Ranking looks at the most recent matches only, so a common word costs the same with a
# hundred stories or a million.
CANDIDATES = 200
# The excerpt is looked for in the summary and the body's first characters; a word found
# only further down still finds the story, and its excerpt then shows the opening lines.
EXCERPT_BODY_CHARS = 1500
EXCERPT_CHARS = 240
MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
_WORD = re.compile(r"\w+", re.UNICODE)
_LEXEME = re.compile(r"'((?:[^']|'')+)'")


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


def search(live: QuerySet, query: str) -> QuerySet:
    """Live stories matching `query`, best first: rows of the live revision ("live_revision_id"),
    the text an excerpt is taken from ("passage") and, on PostgreSQL, the stems that matched
    ("stems")."""
    passage = Concat("search_summary", Value("\n"), Left("search_body", EXCERPT_BODY_CHARS),
                     output_field=TextField())
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        ts_query = SearchQuery(query, config=CONFIG, search_type="plain")
        candidates = live.filter(search_document=ts_query).order_by("-published_at").values("pk")[:CANDIDATES]
        # The passage is a subquery of the row itself: PostgreSQL then works it out only for
        # the rows of the page, after ranking (it reads the whole body to take its start).
        own_passage = Subquery(live.model.objects.filter(pk=OuterRef("pk")).order_by().values(passage=passage))
        return (
            live.model.objects.filter(pk__in=candidates)  # live already: they came through `live`
            .annotate(rank=SearchRank(F("search_document"), ts_query), passage=own_passage,
                      stems=Cast(ts_query, output_field=TextField()))
            .order_by("-rank", "-published_at")
            .values("live_revision_id", "passage", "stems")
        )
    condition = Q()
    for word in query.split():
        condition &= Q(search_title__icontains=word) | Q(search_summary__icontains=word) | Q(
            search_body__icontains=word
        )
    return live.filter(condition).annotate(passage=passage).order_by("-published_at").values("live_revision_id", "passage")


def excerpt(hit: dict, query: str) -> SafeString:
    """A short passage around the first match, the matching words marked, escaped everywhere
    else. A word matches when it begins with a word of the query or with a stem that
    PostgreSQL matched ("harbour" marks "harbours"; "energy", stemmed "energi", marks
    "energies")."""
    terms = {word.lower() for word in query.split()}
    terms |= {stem.replace("''", "'") for stem in _LEXEME.findall(hit.get("stems") or "")}
    text = hit["passage"]
    pattern = re.compile(r"\b(?:%s)\w*" % "|".join(map(re.escape, sorted(terms, key=len, reverse=True))),
                         re.IGNORECASE)
    first = pattern.search(text) if terms else None
    start = max(first.start() - 60, 0) if first else 0
    window = text[start:start + EXCERPT_CHARS]
    html = _marked(window, pattern) if terms else escape(window)
    return mark_safe(("…" if start else "") + html + ("…" if start + EXCERPT_CHARS < len(text) else ""))  # noqa: S308


def _marked(text: str, pattern: re.Pattern) -> str:
    """The text escaped, each match of the pattern in our own <mark> tags."""
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts += [escape(text[last:match.start()]), f"<mark>{escape(match.group(0))}</mark>"]
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)

"""Search over current publications: PostgreSQL full-text search (weighted, stemmed, ranked, with a
GIN index) when on PostgreSQL, and a plain word match on SQLite; highlighting for both."""

import re

from django.db import connection, connections, router
from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Left
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from articles.storyformat import TAKE_KINDS
from articles.text import html_to_text

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


def search_vector():
    """The weighted document: headline (A), key facts and lede (B), body (C); stored in
    Publication.search_document when a version is approved (articles.publications)."""
    from django.contrib.postgres.search import SearchVector

    return (
        SearchVector("search_title", weight="A", config=CONFIG)
        + SearchVector("search_summary", weight="B", config=CONFIG)
        + SearchVector("search_body", weight="C", config=CONFIG)
    )


def refresh_documents(queryset) -> None:
    """Store the search document of these publications (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        queryset.update(search_document=search_vector())


def clean_query(raw: str | None) -> str:
    """The words of a query, without control characters or operators, bounded in size."""
    words = _WORD.findall((raw or "")[:MAX_QUERY_LENGTH])
    return " ".join(words[:MAX_TERMS])


def results(query: str, start: int, stop: int) -> list[dict]:
    """Rows start..stop of the current publications matching `query`, best first: each with
    its id ("publication_id"), the text an excerpt is taken from ("passage") and, on
    PostgreSQL, the stems that matched ("stems"). Only the newest CANDIDATES matches are
    ranked, so there are never more rows than that."""
    stop = min(stop, CANDIDATES)
    if start >= stop:
        return []
    if connection.vendor == "postgresql":
        return _ranked(query, start, stop)
    return list(_word_matches(query)[start:stop])


def _publications():
    """The publications readers see now, newest first (articles.views.listed: the door every
    public page goes through). Imported here, when searching, as views imports this module."""
    from articles.views import listed

    return listed()


# Ranking on PostgreSQL, in one statement: the newest CANDIDATES matches among the current
# publications, ranked, and the passage read for the rows of the page only. The candidates
# are a queryset (the same door as every public page, walking the publication index), and
# its SQL, as Django generates it, is the innermost subquery: the ORM cannot order the rows
# of a subquery in FROM by rank and page them, so only this frame around it is written here.
_RANKED = """
SELECT page.id,
       (SELECT p.search_summary || E'\\n' || LEFT(p.search_body, %s)
          FROM {table} p WHERE p.id = page.id) AS passage,
       plainto_tsquery(%s::regconfig, %s)::text AS stems
  FROM (SELECT id, published_at, rank FROM ({candidates}) AS candidate
         ORDER BY rank DESC, published_at DESC, id DESC
         LIMIT %s OFFSET %s) AS page
 ORDER BY page.rank DESC, page.published_at DESC, page.id DESC
"""


def _candidates(query: str):
    """The newest CANDIDATES current publications matching `query`, with their rank."""
    from django.contrib.postgres.search import SearchQuery, SearchRank

    words = SearchQuery(query, config=CONFIG)
    matching = _publications().filter(search_document=words)
    ranked = matching.annotate(rank=SearchRank(F("search_document"), words))
    return ranked.values("id", "published_at", "rank")[:CANDIDATES]


def _ranked(query: str, start: int, stop: int) -> list[dict]:
    from articles.models import Publication

    candidates, candidate_params = _candidates(query).query.sql_with_params()
    reader = connections[router.db_for_read(Publication)]  # a replica for anonymous readers
    sql = _RANKED.format(table=reader.ops.quote_name(Publication._meta.db_table), candidates=candidates)
    params = (EXCERPT_BODY_CHARS, CONFIG, query, *candidate_params, stop - start, start)
    with reader.cursor() as cursor:
        cursor.execute(sql, params)
        return [{"publication_id": pk, "passage": passage, "stems": stems} for pk, passage, stems in cursor.fetchall()]


def _word_matches(query: str) -> QuerySet:
    """Elsewhere (SQLite, for development): current publications with every word somewhere,
    newest first."""
    condition = Q()
    for word in query.split():
        condition &= (
            Q(search_title__icontains=word) | Q(search_summary__icontains=word) | Q(search_body__icontains=word)
        )
    passage = Concat("search_summary", Value("\n"), Left("search_body", EXCERPT_BODY_CHARS), output_field=TextField())
    return _publications().filter(condition).values(publication_id=F("id"), passage=passage)


def excerpt(hit: dict, query: str) -> SafeString:
    """A short passage around the first match, the matching words marked, escaped everywhere
    else. A word matches when it begins with a word of the query or with a stem that
    PostgreSQL matched ("harbour" marks "harbours"; "energy", stemmed "energi", marks
    "energies"). The passage is cut at word boundaries only, with an ellipsis where it is cut."""
    terms = {word.lower() for word in query.split()}
    terms |= {stem.replace("''", "'") for stem in _LEXEME.findall(hit.get("stems") or "")}
    text = hit["passage"]
    pattern = _terms_pattern(terms)
    first = pattern.search(text) if terms else None
    start, stop = _word_window(text, first.start() if first else 0, first.end() if first else 0)
    window = text[start:stop].strip()
    html = _marked(window, pattern) if terms else escape(window)
    return mark_safe(("…" if start else "") + html + ("…" if stop < len(text) else ""))  # noqa: S308


# Scripts written without spaces between words (Chinese, Japanese kana and punctuation, full-width
# forms): there, a line may break between any two characters, so an excerpt may too.
_UNSPACED = re.compile(
    "[\u2e80-\u2fdf\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)
EXCERPT_LEAD = 60  # about this many characters shown before the first match


def _terms_pattern(terms: set[str]) -> re.Pattern:
    """A match of any term: a word that begins with it, or in unspaced scripts the term itself
    (there a "word" as `\\w` sees it runs to the end of the sentence)."""
    alternatives = [
        re.escape(term) if _UNSPACED.match(term) else rf"\b{re.escape(term)}\w*"
        for term in sorted(terms, key=len, reverse=True)
    ]
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _is_boundary(text: str, at: int) -> bool:
    """Whether `text` may be cut just before position `at` without cutting a word."""
    if at <= 0 or at >= len(text):
        return True
    before, after = text[at - 1], text[at]
    return before.isspace() or after.isspace() or bool(_UNSPACED.match(before) or _UNSPACED.match(after))


def _word_window(text: str, match: int, match_end: int) -> tuple[int, int]:
    """About EXCERPT_CHARS of `text` around the first match (`match`..`match_end`), starting
    about EXCERPT_LEAD characters before it, both ends on word boundaries: the start moves
    forward (never past the match), the end back (never into the match), or, when one word
    is longer than the whole window, forward to that word's end."""
    start = max(match - EXCERPT_LEAD, 0)
    while not _is_boundary(text, start) and start < match:
        start += 1
    stop = min(start + EXCERPT_CHARS, len(text))
    back = stop
    while not _is_boundary(text, back) and back > max(start, match_end):
        back -= 1
    if _is_boundary(text, back) and back > start:
        return start, back
    while not _is_boundary(text, stop):
        stop += 1
    return start, stop


def _marked(text: str, pattern: re.Pattern) -> str:
    """The text escaped, each match of the pattern in our own <mark> tags."""
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts += [escape(text[last : match.start()]), f"<mark>{escape(match.group(0))}</mark>"]
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)

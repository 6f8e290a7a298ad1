"""Search (articles/search.py and its page): where a word is found, stems and ranking on
PostgreSQL, excerpts, paging, and hostile queries. Shared helpers: tests/readers_fixtures.py."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from articles.models import KeyFact, Publication, Section
from tests.factories import make_article, publish
from tests.readers_fixtures import set_published_at, tags_of, text_of

pytestmark = pytest.mark.django_db


ON_POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def searchable():
    """Stories found by a word in the title, in a key fact, in a section body."""
    title = make_article(title="Tidal Turbines Approved", lede="The harbour board voted.", parts=False)
    fact = make_article(title="Harbour Budget", published=False, parts=False)
    KeyFact.objects.create(article=fact, position=0, label="Ferry", text="The ferry timetable doubles.")
    body = make_article(title="Council Meeting Notes", published=False, parts=False)
    Section.objects.create(
        article=body, position=0, heading="Other Business", body="The council also discussed the lighthouse repairs."
    )
    return {"title": publish(title), "fact": publish(fact), "body": publish(body)}


def hit_titles(client, query: str) -> list[str]:
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    page = text_of(response)
    return re.findall(r'<h2 class="card__title"><a href="[^"]+">([^<]+)</a></h2>', page)


@pytest.mark.parametrize(("query", "where"), [("turbines", "title"), ("timetable", "fact"), ("lighthouse", "body")])
def test_search_finds_a_word_wherever_it_is(client, searchable, query, where):
    assert hit_titles(client, query) == [searchable[where].title]


def test_search_stems_words_on_postgres(client, searchable):
    if not ON_POSTGRES:
        pytest.skip("stemming is PostgreSQL full-text search; SQLite matches words as typed")
    assert hit_titles(client, "turbine") == ["Tidal Turbines Approved"]
    assert hit_titles(client, "repair") == ["Council Meeting Notes"]


def test_search_ranks_title_matches_above_body_matches(client):
    if not ON_POSTGRES:
        pytest.skip("ranking is PostgreSQL full-text search; SQLite orders by date")
    in_title = make_article(title="Seagrass Meadows Spread", parts=False, published=False)
    publish(in_title)
    in_body = make_article(title="Coastal Roundup", parts=False, published=False)
    Section.objects.create(article=in_body, position=0, heading="Briefly", body="Divers also noted some seagrass.")
    publish(in_body)
    set_published_at(in_title, timezone.now() - timedelta(days=5))  # older: date alone would put it last
    assert hit_titles(client, "seagrass") == ["Seagrass Meadows Spread", "Coastal Roundup"]


def test_search_excerpt_marks_the_word(client, searchable):
    page = text_of(client.get("/search/", {"q": "timetable"}))
    assert "<mark>timetable</mark>" in page


def test_search_excerpt_shows_where_a_body_word_matched(client, searchable):
    page = text_of(client.get("/search/", {"q": "lighthouse"}))
    assert "Council Meeting Notes" in page
    assert "<mark>lighthouse</mark>" in page


def test_search_excerpt_marks_the_whole_word_of_a_longer_form(client, searchable):
    page = text_of(client.get("/search/", {"q": "repair"}))
    assert "<mark>repairs</mark>" in page


def test_search_excerpt_marks_what_postgres_matched_by_its_stem(client):
    if not ON_POSTGRES:
        pytest.skip("stemming is PostgreSQL full-text search; SQLite matches words as typed")
    article = make_article(title="Grid Report", parts=False, published=False)
    Section.objects.create(article=article, position=0, heading="Supply", body="Both renewable energies grew.")
    publish(article)
    response = client.get("/search/", {"q": "energy"})
    assert "Grid Report" in text_of(response)
    assert "<mark>energies</mark>" in text_of(response)


def test_search_finds_a_word_deep_in_a_long_body(client):
    """The excerpt reads the body's opening only (see search.EXCERPT_BODY_CHARS); search reads it all."""
    article = make_article(title="Long Council Report", parts=False, published=False)
    filler = " ".join(["The committee reviewed routine matters."] * 120)  # about 4,800 characters
    Section.objects.create(article=article, position=0, heading="Minutes", body=f"{filler} Finally, the cormorants.")
    publish(article)
    assert hit_titles(client, "cormorants") == ["Long Council Report"]


@pytest.fixture
def five_echidna_stories():
    """Five live stories with "echidna" in their titles, a day apart, newest first."""
    made = [make_article(title=f"Echidna Count {n}", parts=False) for n in range(5)]
    for days, article in enumerate(made):
        set_published_at(article, timezone.now() - timedelta(days=days))
    return [article.title for article in made]


def test_search_pages_follow_one_another(client, five_echidna_stories, monkeypatch):
    from articles import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    pages = [text_of(client.get("/search/", {"q": "echidna", "page": n})) for n in (1, 2, 3, 4)]
    shown = [re.findall(r'<h2 class="card__title"><a href="[^"]+">([^<]+)</a></h2>', page) for page in pages]
    assert [len(titles) for titles in shown] == [2, 2, 1, 0]
    assert sorted(sum(shown, [])) == sorted(five_echidna_stories)  # each story once, none lost between pages
    assert ['rel="next"' in page for page in pages[:3]] == [True, True, False]


def test_search_ranks_the_newest_matches_only(client, five_echidna_stories, monkeypatch):
    """A common word is ranked among its most recent matches (search.CANDIDATES), so it costs
    the same however many stories there are."""
    from articles import search

    monkeypatch.setattr(search, "CANDIDATES", 3)
    assert sorted(hit_titles(client, "echidna")) == sorted(five_echidna_stories[:3])
    assert client.get("/search/", {"q": "echidna", "page": 2}).status_code == 404  # past the ranked three


def test_search_documents_are_kept_in_their_rows_on_postgres():
    """Search reads each candidate's document twice; kept in the row (STORAGE MAIN, migration
    0017), not out of line in the TOAST table, each read costs no extra lookups."""
    if not ON_POSTGRES:
        pytest.skip("the stored search document is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'search_document'",
            [Publication._meta.db_table],
        )
        assert cursor.fetchone() == ("m",)


def test_search_for_nothing_shows_no_results(client, searchable):
    for query in ("", "   ", "!!!"):
        response = client.get("/search/", {"q": query})
        assert response.status_code == 200
        assert 'class="search-results"' not in text_of(response)


HOSTILE = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "a & | ! :*",
    '"><img src=x onerror=alert(1)>',
    "turbines\x00lighthouse",
    "x" * 10_000,
    "turbine " * 2_000,
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: q[:20].replace("\x00", "NUL"))
def test_hostile_queries_are_answered_harmlessly(client, searchable, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    if "<" in query:
        assert query not in text_of(response), "the raw payload is in the page as markup"
    doc = tags_of(response)
    assert doc.all("script") == [] and doc.all("img") == []
    assert not [name for _, attrs in doc.tags for name in attrs if name.startswith("on")]
    box = next(attrs for attrs in doc.all("input") if attrs.get("id") == "search-q")
    assert box["value"] == query  # given back as text in the search box, nothing more


# Excerpts


def test_search_excerpts_start_and_end_on_word_boundaries():
    from articles import search

    words = [f"word{n:03d}" for n in range(120)]
    words[60] = "platypus"
    html = str(search.excerpt({"passage": " ".join(words), "stems": ""}, "platypus"))
    inner = html.strip("…")
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>platypus</mark>" in inner
    shown = re.sub(r"</?mark>", "", inner).split(" ")
    assert all(word in words for word in shown), shown  # no word cut in half at either end


def test_a_search_excerpt_of_a_short_passage_is_whole():
    from articles import search

    html = str(search.excerpt({"passage": "A platypus swam past the harbour wall.", "stems": ""}, "platypus"))
    assert html == "A <mark>platypus</mark> swam past the harbour wall."

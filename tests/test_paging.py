"""Paging long story lists (articles/paging.py): no count, and deep pages read only their rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import paging
from articles.models import Publication
from articles.paging import page_of
from tests.factories import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def stories():
    """Seven live stories, an hour apart, newest first by publication time."""
    made = [make_article(title=f"Numbat Story {n}") for n in range(7)]
    now = timezone.now()
    for n, article in enumerate(made):
        Publication.objects.filter(article=article).update(published_at=now - timedelta(hours=n))
    return [a.title for a in made]


def current_titles():
    """The titles of the current publications, newest first (as the public lists read them)."""
    return Publication.objects.current().order_by("-published_at", "-id").values_list("card__title", flat=True)


def titles(number: int, size: int = 3) -> tuple[list[str], bool]:
    queryset = current_titles()
    page = page_of(queryset, number, size)
    return list(page.object_list), page.has_next


def test_pages_follow_one_another_without_counting(stories):
    assert titles(1) == (stories[0:3], True)
    assert titles(2) == (stories[3:6], True)
    assert titles(3) == (stories[6:7], False)


def test_a_page_past_the_end_is_not_found(stories):
    with pytest.raises(paging.PageNotFound, match="no page 4"):
        titles(4)


def test_the_first_page_of_an_empty_list_is_a_page():
    assert titles(1) == ([], False)


@pytest.mark.parametrize("number", [1, 2, 3])
def test_a_deep_page_found_by_its_ids_first_is_the_same_page(stories, monkeypatch, number):
    shallow = titles(number)
    monkeypatch.setattr(paging, "DEEP_ROWS", 1)
    assert titles(number) == shallow


def test_a_deep_page_skips_rows_by_their_ids_only(stories, monkeypatch):
    monkeypatch.setattr(paging, "DEEP_ROWS", 1)
    with CaptureQueriesContext(connection) as queries:
        titles(2)
    (sql,) = [q["sql"] for q in queries]
    inner = sql[sql.index("IN (SELECT") :]
    assert "OFFSET" in inner.upper() and '"card"' not in inner, "the skipped rows were read whole"


@pytest.mark.parametrize("raw", [None, ""])
def test_no_page_number_is_the_first_page(stories, raw):
    assert page_of(current_titles(), raw, 3).number == 1


@pytest.mark.parametrize("raw", ["x", "-3", "0", "1.5"])
def test_a_page_number_that_is_not_one_is_no_such_page(stories, raw):
    with pytest.raises(paging.PageNotFound, match="no page"):
        page_of(current_titles(), raw, 3)

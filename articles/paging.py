"""Paging through long story lists without counting them.

Counting every live story costs more than showing a page of them once there are many, so
a page fetches one row more than it shows to know whether there is a next one.

Far into a long list, skipping rows costs reading them (OFFSET): page 2,000 of the front
page skipped 40,000 whole rows. There the page's ids are found first, from the index alone,
and only the page's own rows are read.

A page past the end of its list is not found (404, PageNotFound), and so is a page "number"
that is not a whole number of at least 1 ("x", "0", "-3"): there is no such page, and showing
the first one under that address would say the list is something it is not. A number past
MAX_PAGE is not found without asking the database: no list here goes that deep, and the
OFFSET it asks for would overflow the database's integers (a 500 on PostgreSQL and SQLite).
No `page` at all (or an empty one, as a form sends it) is the first page.
"""

from dataclasses import dataclass, field

from django.http import Http404

DEEP_ROWS = 500  # from this many rows in, a page's ids are looked up first
# Deeper than any list goes (two million stories at twenty a page); (MAX_PAGE - 1) times the
# largest page size stays far inside a 64-bit OFFSET.
MAX_PAGE = 100_000


class PageNotFound(Http404):
    """No such page of a list: past its end, past any page a list could have, or not a page
    number at all. Its message says which, for the reader (views.no_such_page, the API)."""


@dataclass
class Page:
    number: int
    object_list: list = field(default_factory=list)
    has_next: bool = False

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def page_number(raw) -> int:
    """A page number from the address (1-based; none or empty is 1). Anything that is not a
    whole number of at least 1, or a number past MAX_PAGE, raises PageNotFound (a 404)."""
    if raw is None or raw == "":
        return 1
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise PageNotFound(f"There is no page “{str(raw)[:20]}”: pages are numbered 1, 2, 3…") from None
    if number < 1:
        raise PageNotFound(f"There is no page {number}: pages are numbered from 1.")
    if number > MAX_PAGE:
        raise PageNotFound(f"There is no page {number}: lists end before page {MAX_PAGE + 1:,}.")
    return number


def page_from(rows_between, number, size: int) -> Page:
    """Page `number` of `size` rows, given `rows_between(start, stop)`, the list of rows
    start..stop (for a query that is not a queryset, such as a search)."""
    number = page_number(number)
    start = (number - 1) * size
    rows = rows_between(start, start + size + 1)
    if number > 1 and not rows:
        raise PageNotFound(f"There is no page {number}: the list ends before it.")
    return Page(number=number, object_list=rows[:size], has_next=len(rows) > size)


def page_of(queryset, number, size: int) -> Page:
    """Page `number` (1-based, as page_number reads it) of a queryset, `size` rows."""

    def rows_between(start: int, stop: int) -> list:
        if start >= DEEP_ROWS:
            return list(queryset.filter(pk__in=queryset.values("pk")[start:stop]))
        return list(queryset[start:stop])

    return page_from(rows_between, number, size)

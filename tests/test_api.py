"""The JSON API (articles/api.py): live stories only, their attribution, paging, filters and
the whole story. Shared helpers and fixtures: tests/readers_fixtures.py."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from articles.models import Publication
from tests.factories import make_article, make_desk, make_source, publish
from tests.readers_fixtures import NOT_LIVE, credited, newsroom, published  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


# Live stories only


@pytest.mark.parametrize("state", ["live", *NOT_LIVE])
def test_api_detail_answers_for_live_stories_only(client, newsroom, state):
    article = newsroom["live"] if state == "live" else newsroom["others"][state]
    response = client.get(f"/api/articles/{article.slug}/")
    assert response.status_code == (200 if state == "live" else 404)
    if state != "live":
        assert response.json() == {"error": "No live story with this slug."}


# Attribution


def test_api_detail_names_the_source(client, credited):
    body = client.get(f"/api/articles/{credited.slug}/").json()
    assert body["source"] == {
        "name": "Outback Wire",
        "site": "outback.example",
        "original_url": "https://outback.example/news/quokkas-return",
        "credit": "Please credit Outback Wire when republishing.",
    }


# The JSON API


def test_api_list_is_paginated(client):
    for _ in range(5):
        make_article(parts=False)
    first = client.get("/api/articles/?page_size=2").json()
    assert (first["page"], first["page_size"], len(first["results"])) == (1, 2, 2)
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/articles/?page_size=2&page=2"
    seen = [story["slug"] for story in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [story["slug"] for story in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(Publication.objects.current().values_list("slug", flat=True))
    assert len(seen) == len(set(seen)) == 5
    past_the_end = client.get("/api/articles/?page_size=2&page=4")
    assert past_the_end.status_code == 404 and "past the last page" in past_the_end.json()["error"]


@pytest.mark.parametrize("query", ["page=abc", "page_size=many"])
def test_api_list_refuses_bad_paging(client, query):
    response = client.get(f"/api/articles/?{query}")
    assert response.status_code == 400 and "whole numbers" in response.json()["error"]


def slugs(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {story["slug"] for story in response.json()["results"]}


def test_api_list_filters(client):
    climate, science = make_desk(name="Climate", slug="climate"), make_desk(name="Science", slug="science")
    reef_wire = make_source(name="Reef Wire")
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=30), tick=False):
        old = make_article(desk=climate, tags=["coral"], source=reef_wire)
    new = make_article(desk=science, tags=["coral", "fish"])
    other = make_article(desk=science, tags=["fish"])
    assert slugs(client.get("/api/articles/?tag=coral")) == {old.slug, new.slug}
    assert slugs(client.get("/api/articles/?desk=science")) == {new.slug, other.slug}
    assert slugs(client.get("/api/articles/?source=Reef+Wire")) == {old.slug}
    assert slugs(client.get("/api/articles/?tag=fish&desk=science")) == {new.slug, other.slug}
    assert slugs(client.get("/api/articles/?tag=nothing")) == set()
    ten_days_ago = (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert slugs(client.get("/api/articles/", {"updated_since": ten_days_ago})) == {new.slug, other.slug}
    two_months_ago = (now - timedelta(days=60)).date().isoformat()
    assert slugs(client.get("/api/articles/", {"updated_since": two_months_ago})) == {old.slug, new.slug, other.slug}


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "1 OR 1=1"])
def test_api_bad_updated_since_is_a_400_with_a_message(client, value):
    make_article()
    response = client.get("/api/articles/", {"updated_since": value})
    assert response.status_code == 400
    assert "updated_since must be an ISO 8601" in response.json()["error"]


def test_api_detail_returns_the_whole_story(client):
    article = make_article(
        title="Reef Survey Finds Recovery",
        lede="Divers counted *more* coral.",
        byline="Sam Ortiz",
        desk=make_desk(name="Climate", slug="climate"),
        tags=["coral", "reefs"],
        source=make_source(name="Reef Wire", site="reef.example", credit="Credit Reef Wire."),
        original_url="https://reef.example/survey",
        published=False,
    )
    article.take.points.create(position=1, kind="limitations", text="One survey only.")
    article.take.points.create(position=2, kind="advice", text="Read the full report.")
    publish(article)
    body = client.get(f"/api/articles/{article.slug}/").json()
    assert body["title"] == "Reef Survey Finds Recovery"
    assert body["slug"] == article.slug
    assert body["url"] == f"http://testserver/articles/{article.slug}/"
    assert body["lede"] == "<p>Divers counted <em>more</em> coral.</p>"
    assert body["key_facts"] == {
        "heading": "Key Facts",
        "items": [{"label": "Vote", "text": "Seven to two in favour."}],
    }
    assert body["sections"] == [
        {
            "heading": "What Was Decided",
            "body_html": "<p>The <strong>board</strong> agreed.</p>",
            "points_heading": "",
            "points": [{"label": "Cost", "text": "Four million."}],
        }
    ]
    assert body["take"]["title"] == "The Desk's Take"
    assert [(p["kind"], p["text"]) for p in body["take"]["points"]] == [
        ("why_it_matters", "Ferries run later."),
        ("limitations", "One survey only."),
        ("advice", "Read the full report."),
    ]
    for point in body["take"]["points"]:
        assert point["kind"] in {"why_it_matters", "limitations", "advice"}
        assert point["emoji"] and point["label"]
    assert body["take"]["points"][0]["label"] == "Why This Matters"
    assert body["source"] == {
        "name": "Reef Wire",
        "site": "reef.example",
        "original_url": "https://reef.example/survey",
        "credit": "Credit Reef Wire.",
    }
    assert body["tags"] == ["coral", "reefs"]
    assert body["desk"] == {"name": "Climate", "slug": "climate"}
    assert body["byline"] == "Sam Ortiz"
    assert datetime.fromisoformat(body["published_at"]) == published(article).published_at
    assert datetime.fromisoformat(body["updated_at"]) == published(article).published_at
    assert body["image"] is None


def test_api_list_and_detail_are_json_for_get_only(client):
    article = make_article()
    assert client.get("/api/articles/")["Content-Type"] == "application/json"
    assert client.post("/api/articles/").status_code == 405
    assert client.post(f"/api/articles/{article.slug}/").status_code == 405

"""The editors' admin: one change page edits a story and all its parts."""

import pytest
from django.contrib.auth.models import Group, User

from articles.models import Article, Section, Source
from tests.factories import make_article, make_desk, make_source
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = User.objects.create_user("ed", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return user


def change_url(article):
    return f"/admin/articles/article/{article.pk}/change/"


def load_form(client, article):
    response = client.get(change_url(article))
    assert response.status_code == 200
    return form_fields(response.content.decode(), "article_form")


def add_row(data, prefix, **values):
    """Add a new inline row as the admin's "Add another" does."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in values.items():
        data[f"{prefix}-{index}-{name}"] = value
    return index


def two_section_article():
    article = make_article()
    second = Section.objects.create(article=article, position=1, heading="Second Section", body="Two.")
    second.points.create(position=0, label="B", text="Bee.")
    return article


def test_editor_change_page_has_every_part(client, editor):
    article = make_article()
    data = load_form(client, article)
    for name in (
        "title",
        "lede",
        "image_alt",
        "source",
        "original_url",
        "tags",
        "desk",
        "key_facts_heading",
        "key_facts-0-label",
        "sections-0-body",
        "sections-0-points-0-text",
        "take-0-title",
        "take-0-points-0-kind",
    ):
        assert name in data, name


def test_editor_edits_every_part_on_one_page(client, editor):
    article = two_section_article()
    data = load_form(client, article)
    data.update({"title": "Edited Headline", "lede": "New *lede*.", "tags": "ports, energy"})
    data["key_facts-0-text"] = "Eight to one."
    add_row(data, "key_facts", label="Turnout", text="High.", position="1")
    data["sections-0-points-0-DELETE"] = "on"
    add_row(data, "sections-1-points", label="C", text="Sea.", position="1")
    data["take-0-points-0-kind"] = "advice"
    add_row(data, "take-0-points", kind="limitations", text="Storm risk.", position="1")
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    article.refresh_from_db()
    assert article.title == "Edited Headline" and article.lede_html == "<p>New <em>lede</em>.</p>"
    assert sorted(article.tags.names()) == ["energy", "ports"]
    assert list(article.key_facts.values_list("label", "text")) == [("Vote", "Eight to one."), ("Turnout", "High.")]
    first, second = article.sections.all()
    assert first.points.count() == 0
    assert list(second.points.values_list("position", "label")) == [(0, "B"), (1, "C")]
    assert list(article.take.points.values_list("kind", "text")) == [
        ("advice", "Ferries run later."),
        ("limitations", "Storm risk."),
    ]


def test_reordering_sections_swaps_positions(client, editor):
    article = two_section_article()
    data = load_form(client, article)
    data["sections-0-position"], data["sections-1-position"] = "1", "0"
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(article.sections.values_list("heading", flat=True)) == ["Second Section", "What Was Decided"]
    assert list(article.sections.values_list("position", flat=True)) == [0, 1]


def test_deleting_first_row_and_adding_one_keeps_positions_unique(client, editor):
    article = two_section_article()
    data = load_form(client, article)
    data["sections-0-DELETE"] = "on"
    add_row(data, "sections", heading="Third Section", body="Three.", points_heading="", position="2")
    data["sections-2-points-TOTAL_FORMS"] = "0"
    data["sections-2-points-INITIAL_FORMS"] = "0"
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(article.sections.values_list("position", "heading")) == [(0, "Second Section"), (1, "Third Section")]


def test_refused_form_keeps_what_was_typed(client, editor):
    article = make_article()
    data = load_form(client, article)
    data["title"] = "A headline I typed"
    data["sections-0-heading"] = ""
    data["sections-0-body"] = "Body text I typed with care."
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "A headline I typed" in page and "Body text I typed with care." in page
    assert "This field is required." in page
    article.refresh_from_db()
    assert article.title != "A headline I typed"


def test_editor_cannot_delete_stories(client, editor):
    article = make_article()
    response = client.post(f"/admin/articles/article/{article.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Article.objects.filter(pk=article.pk).exists()


def test_anonymous_visitor_is_sent_to_login(client):
    article = make_article()
    response = client.get(change_url(article))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_list_page_search_and_filters(client, editor):
    desk, source = make_desk(name="Climate"), make_source(name="Coast Wire")
    wanted = make_article(title="Sea Wall Vote", desk=desk, source=source)
    wanted.tags.add("floods")
    make_article(title="Budget Talks", published=False)
    queries = {
        "q=sea+wall": ["Sea Wall Vote"],
        "status__exact=draft": ["Budget Talks"],
        f"desk__id__exact={desk.pk}": ["Sea Wall Vote"],
        f"source__id__exact={source.pk}": ["Sea Wall Vote"],
        f"tags__id__exact={wanted.tags.get().pk}": ["Sea Wall Vote"],
    }
    for query, titles in queries.items():
        response = client.get(f"/admin/articles/article/?{query}")
        assert response.status_code == 200, query
        assert [a.title for a in response.context["cl"].result_list] == titles, query
    page = client.get("/admin/articles/article/").content.decode()
    for column in ("Status", "Desk", "Source", "Tags", "On the site"):
        assert column in page


def test_sources_are_managed_in_the_admin(client, editor):
    response = client.post(
        "/admin/articles/source/add/",
        {"name": "Delta Daily", "site": "delta.example", "credit": "Please credit Delta Daily."},
    )
    assert response.status_code == 302
    assert Source.objects.get(name="Delta Daily").credit == "Please credit Delta Daily."


def test_admin_list_query_count_does_not_grow_with_stories(client, editor, django_assert_max_num_queries):
    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/articles/article/").status_code == 200
        return len(captured)

    for i in range(3):
        make_article(tags=[f"t{i}"])
    few = count_queries()
    for i in range(30):
        make_article(tags=[f"more{i}"], published=i % 2 == 0)
    with django_assert_max_num_queries(few):
        client.get("/admin/articles/article/")

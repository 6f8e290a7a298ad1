"""The change form edits only this story's own parts (issue 13, item 1).

Each inline form names its row by id. An id that is not one of this parent's rows (another
story's key fact, section, point, take or take point, or a point of another section of the
same story) is refused with a form error, and nothing is saved: not the other part, not
this story.
"""

from dataclasses import dataclass

import pytest
from django.test import Client

from articles import workflow
from articles.models import Article, KeyFact, Point, Section, Take, TakePoint
from tests.factories import make_article, make_user
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db


def change_url(article):
    return f"/admin/articles/article/{article.pk}/change/"


def load_form(client, article) -> dict[str, str]:
    response = client.get(change_url(article))
    assert response.status_code == 200
    return form_fields(response.content.decode(), "article_form")


def snapshot(article) -> dict:
    """Everything the change form could touch, row by row, with each row's parent."""
    article = Article.objects.get(pk=article.pk)
    return {
        "story": (article.title, article.lede, article.version, article.updated_at, article.status),
        "revisions": article.revisions.count(),
        "key facts": list(KeyFact.objects.filter(article=article).values_list("pk", "position", "label", "text")),
        "sections": list(Section.objects.filter(article=article).values_list("pk", "position", "heading", "body")),
        "points": list(
            Point.objects.filter(section__article=article)
            .values_list("pk", "section", "position", "label", "text")
            .order_by("pk")
        ),
        "take": list(Take.objects.filter(article=article).values_list("pk", "title")),
        "take points": list(
            TakePoint.objects.filter(take__article=article)
            .values_list("pk", "take", "position", "kind", "text")
            .order_by("pk")
        ),
    }


@dataclass(frozen=True)
class Level:
    """Where a part sits on the change form, and what a forged row for it posts."""

    name: str
    parent_noun: str  # the error names the parent the part does not belong to
    fk: str  # the hidden parent field the page posts with each row

    def prefix(self, article) -> str:
        return {
            "key fact": "key_facts",
            "section": "sections",
            "point": "sections-0-points",
            "take": "take",
            "take point": "take-0-points",
        }[self.name]

    def parent_pk(self, article) -> int:
        if self.name == "point":
            return article.sections.get(position=0).pk
        if self.name == "take point":
            return Take.objects.get(article=article).pk
        return article.pk

    def part_of(self, article):
        return {
            "key fact": lambda: article.key_facts.get(),
            "section": lambda: article.sections.get(),
            "point": lambda: Point.objects.get(section__article=article),
            "take": lambda: Take.objects.get(article=article),
            "take point": lambda: TakePoint.objects.get(take__article=article),
        }[self.name]()

    def values(self, index: int) -> dict[str, str]:
        """Changed text for the forged row: a move would carry it into the other part."""
        return {
            "key fact": {"label": "Forged", "text": "Moved here.", "position": str(index)},
            "section": {
                "heading": "Forged",
                "body": "Moved here.",
                "points_heading": "",
                "position": str(index),
                "points-TOTAL_FORMS": "0",
                "points-INITIAL_FORMS": "0",
                "points-MIN_NUM_FORMS": "0",
                "points-MAX_NUM_FORMS": "1000",
            },
            "point": {"label": "Forged", "text": "Moved here.", "position": str(index)},
            "take": {
                "title": "Forged",
                "points-TOTAL_FORMS": "0",
                "points-INITIAL_FORMS": "0",
                "points-MIN_NUM_FORMS": "0",
                "points-MAX_NUM_FORMS": "1000",
            },
            "take point": {"kind": "advice", "text": "Moved here.", "position": str(index)},
        }[self.name]


LEVELS = [
    Level("key fact", "story", "article"),
    Level("section", "story", "article"),
    Level("point", "section", "section"),
    Level("take", "story", "article"),
    Level("take point", "take", "take"),
]


def forge_row(data, prefix, *, pk, fk, parent_pk, values, initial, delete):
    """Append a row naming part `pk` to the formset at `prefix`.

    initial=True also counts it among the rows the page loaded (INITIAL_FORMS), the way
    nested_admin posts a row dragged in from another formset; otherwise it is an added row.
    """
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    if initial:
        assert int(data[f"{prefix}-INITIAL_FORMS"]) == index
        data[f"{prefix}-INITIAL_FORMS"] = str(index + 1)
    data[f"{prefix}-{index}-id"] = str(pk)
    data[f"{prefix}-{index}-{fk}"] = str(parent_pk)
    for name, value in values.items():
        data[f"{prefix}-{index}-{name}"] = value
    if delete:
        data[f"{prefix}-{index}-DELETE"] = "on"
    return index


# The stories.


def victim_in_review():
    article = make_article(published=False)
    workflow.article_submit(article=article, user=make_user("Editors"))
    return article


def victim_archived():
    article = make_article()
    workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="Legal hold.")
    return article


def victim_draft_of_another():
    return make_article(published=False, created_by=make_user("Editors"))


VICTIMS = {"in review": victim_in_review, "archived": victim_archived, "another's draft": victim_draft_of_another}
# Every level and actor meets a victim in review in the quick suite; the other victims' sweep
# (40 more change-form posts, about a minute) is marked slow and runs in CI's PostgreSQL pass.
VICTIM_STATES = ["in review"] + [
    pytest.param(state, marks=pytest.mark.slow) for state in ("archived", "another's draft")
]
ACTORS = ["Editors", "Moderators"]


@dataclass
class Attempt:
    level: Level
    response: object
    victim: Article
    part: object  # the victim's part the forged row named
    story: Article  # the actor's own story, whose form was posted
    before: tuple  # snapshots of (victim, story) before the post


def attack(level: Level, *, actor: str, victim_state: str, initial: bool, delete: bool) -> Attempt:
    """Post the actor's own story's change form with one forged row naming the victim's part."""
    victim = VICTIMS[victim_state]()
    story = make_article(published=False)
    if level.name == "take":
        story.take.delete()  # a story has one take: the forged one would be its only one
    client = Client()
    client.force_login(make_user(actor))
    part = level.part_of(victim)
    before = snapshot(victim), snapshot(story)
    data = load_form(client, story)
    prefix = level.prefix(story)
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    forge_row(
        data,
        prefix,
        pk=part.pk,
        fk=level.fk,
        parent_pk=level.parent_pk(story),
        values=level.values(index),
        initial=initial,
        delete=delete,
    )
    response = client.post(change_url(story), data)
    return Attempt(level, response, victim, part, story, before)


def assert_refused(attempt: Attempt):
    response, part = attempt.response, attempt.part
    assert response.status_code == 200, f"not refused: {response.status_code} {response.get('Location', '')}"
    page = response.content.decode()
    assert "Please correct the error" in page
    assert f"does not belong to this {attempt.level.parent_noun}" in page
    # The victim's part is where it was, as it was; neither story changed at all.
    assert type(part).objects.filter(pk=part.pk).exists(), "the other story's part was deleted"
    assert attempt.level.part_of(attempt.victim).pk == part.pk, "the other story's part was moved"
    assert (snapshot(attempt.victim), snapshot(attempt.story)) == attempt.before


@pytest.mark.parametrize("victim_state", VICTIM_STATES)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.name)
def test_other_storys_part_cannot_be_deleted_through_this_form(level, actor, victim_state):
    assert_refused(attack(level, actor=actor, victim_state=victim_state, initial=True, delete=True))


@pytest.mark.parametrize("victim_state", VICTIM_STATES)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.name)
def test_other_storys_part_cannot_be_moved_in_as_an_added_row(level, actor, victim_state):
    assert_refused(attack(level, actor=actor, victim_state=victim_state, initial=False, delete=False))


# The same two attacks posted the other way round (the full actor and victim matrix above
# covers each level already; one combination each keeps the suite quick).


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.name)
def test_other_storys_part_cannot_be_moved_in_as_a_loaded_row(level):
    assert_refused(attack(level, actor="Editors", victim_state="another's draft", initial=True, delete=False))


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.name)
def test_other_storys_part_cannot_be_deleted_as_an_added_row(level):
    assert_refused(attack(level, actor="Moderators", victim_state="archived", initial=False, delete=True))


# Within one story: a point belongs to its own section.


@pytest.fixture
def editor_client():
    client = Client()
    client.force_login(make_user("Editors"))
    return client


def two_section_story():
    story = make_article(published=False)
    second = Section.objects.create(article=story, position=1, heading="Second Section", body="Two.")
    second.points.create(position=0, label="B", text="Bee.")
    return story


def test_point_cannot_be_moved_to_another_section_of_the_same_story(editor_client):
    story = two_section_story()
    point = Point.objects.get(section__article=story, section__position=0)
    second = story.sections.get(position=1)
    before = snapshot(story)
    data = load_form(editor_client, story)
    # As a drag from the first section to the second posts it: gone from one, loaded in the other.
    for name in [name for name in data if name.startswith("sections-0-points-0-")]:
        del data[name]
    data["sections-0-points-TOTAL_FORMS"] = data["sections-0-points-INITIAL_FORMS"] = "0"
    forge_row(
        data,
        "sections-1-points",
        pk=point.pk,
        fk="section",
        parent_pk=second.pk,
        values={"label": point.label, "text": point.text, "position": "1"},
        initial=True,
        delete=False,
    )
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 200
    assert "does not belong to this section" in response.content.decode()
    assert snapshot(story) == before


def test_point_cannot_be_deleted_through_another_section_of_the_same_story(editor_client):
    story = two_section_story()
    point = Point.objects.get(section__article=story, section__position=0)
    second = story.sections.get(position=1)
    before = snapshot(story)
    data = load_form(editor_client, story)
    forge_row(
        data,
        "sections-1-points",
        pk=point.pk,
        fk="section",
        parent_pk=second.pk,
        values={"label": point.label, "text": point.text, "position": "1"},
        initial=True,
        delete=True,
    )
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 200
    assert "does not belong to this section" in response.content.decode()
    assert snapshot(story) == before


# Within one formset: a row is named once, by the row the page loaded for it.


def test_own_key_fact_sent_again_as_an_added_row_is_refused(editor_client):
    story = make_article(published=False)
    fact = story.key_facts.get()
    before = snapshot(story)
    data = load_form(editor_client, story)
    forge_row(
        data,
        "key_facts",
        pk=fact.pk,
        fk="article",
        parent_pk=story.pk,
        values={"label": "Overwritten", "text": "By an added row.", "position": "1"},
        initial=False,
        delete=False,
    )
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 200
    assert f"Key fact {fact.pk} was sent twice" in response.content.decode()
    assert snapshot(story) == before


def test_own_key_fact_loaded_twice_is_refused(editor_client):
    story = make_article(published=False)
    fact = story.key_facts.get()
    before = snapshot(story)
    data = load_form(editor_client, story)
    forge_row(
        data,
        "key_facts",
        pk=fact.pk,
        fk="article",
        parent_pk=story.pk,
        values={"label": fact.label, "text": fact.text, "position": "1"},
        initial=True,
        delete=True,
    )
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 200
    assert f"Key fact {fact.pk} was sent twice" in response.content.decode()
    assert snapshot(story) == before


# The story's own parts still save as before through the same formsets.


def test_editor_deletes_the_storys_own_take(editor_client):
    story = make_article(published=False)
    data = load_form(editor_client, story)
    # The Take block has no delete of its own (issue 15): removing its last point removes it.
    for index in range(int(data["take-0-points-TOTAL_FORMS"])):
        data[f"take-0-points-{index}-DELETE"] = "on"
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not Take.objects.filter(article=story).exists()
    assert not TakePoint.objects.filter(take__article=story).exists()


def test_editor_adds_a_take_to_a_story_without_one(editor_client):
    story = make_article(published=False)
    story.take.delete()
    data = load_form(editor_client, story)
    forge_row(
        data, "take", pk="", fk="article", parent_pk=story.pk, values=LEVELS[3].values(0), initial=False, delete=False
    )
    data["take-0-points-TOTAL_FORMS"] = "1"
    data.update(
        {"take-0-points-0-kind": "advice", "take-0-points-0-text": "Book early.", "take-0-points-0-position": "0"}
    )
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    take = Take.objects.get(article=story)
    assert take.title == "Forged"
    assert list(take.points.values_list("kind", "text")) == [("advice", "Book early.")]


def test_editor_deletes_and_reorders_the_storys_own_key_facts(editor_client):
    story = make_article(published=False)
    KeyFact.objects.create(article=story, position=1, label="Turnout", text="High.")
    KeyFact.objects.create(article=story, position=2, label="Cost", text="Four million.")
    data = load_form(editor_client, story)
    data["key_facts-0-DELETE"] = "on"
    data["key_facts-1-position"], data["key_facts-2-position"] = "2", "1"
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(story.key_facts.values_list("position", "label")) == [(0, "Cost"), (1, "Turnout")]

"""Export: a story's working copy as story-format text (the admin's link and action, and
`export_story`); importing what was exported gives the same story, block for block."""

import io
import random
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse

from articles.exporting import ExportRefused, article_export, story_check
from articles.importing import _imported_parts, edits_since_import, story_save
from articles.models import Article, KeyFact, Section
from articles.snapshots import article_snapshot
from articles.storyformat import TAKE_KINDS, Item, SectionData, StoryData, TakePointData, parse, write
from tests.factories import make_article, make_user

pytestmark = pytest.mark.django_db

DEMO = sorted((Path(__file__).resolve().parent.parent / "articles" / "demo" / "stories").glob("*.txt"))


@pytest.fixture
def editor():
    return make_user("Editors")


def imported(text: str, user) -> Article:
    return story_save(story=parse(text), user=user).article


def assert_round_trip(article: Article, user) -> str:
    """Export the story, import the text over it: the same story, block for block, and no
    conflict (nothing of the newsroom's is replaced)."""
    before = _imported_parts(article_snapshot(article))
    text = article_export(article).text
    result = story_save(story=parse(text), user=user)
    assert result.article.pk == article.pk and not result.created
    assert _imported_parts(article_snapshot(Article.objects.get(pk=article.pk))) == before
    return text


# Every demo story and the shared sample, imported, exported and imported again.


@pytest.mark.parametrize("path", DEMO, ids=[p.stem for p in DEMO])
def test_every_demo_story_round_trips(path, editor):
    source = path.read_text(encoding="utf-8")
    article = imported(source, editor)
    text = assert_round_trip(article, editor)
    assert parse(text) == parse(source)


def test_the_demo_stories_are_all_there():
    assert len(DEMO) >= 4  # the parametrised test above must not pass by finding none


def test_the_shared_sample_round_trips(shared_file, editor):
    source = shared_file("stories/longgang.txt").read_text(encoding="utf-8-sig")
    article = imported(source, editor)
    assert parse(assert_round_trip(article, editor)) == parse(source)


# Generated stories with every kind of block.

PARAGRAPHS = [
    "The harbour board approved three turbines on Tuesday.",
    "Officials called it “a turning point” ⚠️ for the city.",
    "Fans 🔥 without the selector ⚠ still counted.",
    "深圳市龙岗区的新政策于周一生效。",
    "Москва объявила о новых правилах.",
    "Prices rose *sharply* and # hash marks stayed text.",
    "<script>alert(1)</script> is how the product is named.",
    "1. This line looks like a list item but is a sentence.",
    "Back\\slashes, [brackets](and parens) and `ticks` are text!",
    "She asked: “Who pays for it?”",
]
HEADINGS = [
    "Why the Harbour Chose Tides",
    "Looking Ahead: The Future of Tidal Power",
    "What Does It Mean for Shippers?",
    "深圳 Pilots a New Grid",
    "The 🔥 Hot Summer Plan",
]
ITEMS = [
    Item("Capacity", "Three megawatts: enough for 2,000 homes."),
    Item("Cost", "*Four* million <b>dollars</b>."),
    Item("地点", "龙岗区 (Longgang)."),
    Item("Schedule", "Work starts in May 🔥 and ends ⚠ in June."),
    Item("Note", "Ratio is 3: 1, by volume."),
]
POINTS = [*ITEMS, Item("", "A point with no label at all."), Item("", "# Not a heading, a point.")]


def generated_story(rng: random.Random, n: int, take_kinds: list[str]) -> StoryData:
    sections = []
    for s in range(rng.randint(1, 3)):
        paragraphs = rng.sample(PARAGRAPHS, rng.randint(1, 3))
        points = rng.sample(POINTS, rng.randint(0, 3))
        sections.append(
            SectionData(
                heading=f"{rng.choice(HEADINGS)} Part {s + 1}",
                paragraphs=paragraphs,
                points_heading=rng.choice(["", "What It Brings"]) if points else "",
                points=points,
            )
        )
    has_facts = rng.random() < 0.8
    return StoryData(
        title=f"Story {n}: Tidal Power 🔥 Comes to 深圳",
        lede=rng.sample(PARAGRAPHS, rng.randint(1, 3)),
        key_facts_heading="Key Facts About the Plan" if has_facts else "",
        key_facts=rng.sample(ITEMS, rng.randint(1, 4)) if has_facts else [],
        sections=sections,
        take_title="Gogo’s Take" if take_kinds or rng.random() < 0.5 else "",
        take_points=[TakePointData(kind, rng.choice(PARAGRAPHS)) for kind in take_kinds],
        source_name="Harbour Wire",
        source_site="harbour.example",
        original_url=f"https://harbour.example/stories/{n}?ref=rss&utm=1",
        credit="Please credit Harbour Wire when republishing.",
    )


TAKE_SUBSETS = [[k for i, k in enumerate(TAKE_KINDS) if mask & (1 << i)] for mask in range(8)]


@pytest.mark.parametrize("seed", range(24))
def test_generated_stories_round_trip_through_the_text(seed):
    rng = random.Random(seed)
    kinds = TAKE_SUBSETS[seed % 8]
    rng.shuffle(kinds)
    story = generated_story(rng, seed, kinds)
    text, problems = story_check(story)
    assert problems == []
    assert parse(text) == story


@pytest.mark.parametrize("seed", range(0, 24, 3))
def test_generated_stories_round_trip_through_the_database(seed, editor):
    rng = random.Random(seed)
    story = generated_story(rng, seed, TAKE_SUBSETS[seed % 8])
    article = story_save(story=story, user=editor).article
    text = assert_round_trip(article, editor)
    assert parse(text) == story


def test_emoji_keep_or_lack_the_variation_selector_as_written(editor):
    story = generated_story(random.Random(1), 99, ["limitations"])
    story.lede = ["Warning ⚠️ with the selector.", "Warning ⚠ without it."]
    article = story_save(story=story, user=editor).article
    text = article_export(article).text
    assert "Warning ⚠️ with the selector." in text and "Warning ⚠ without it." in text
    assert "- ⚠️ Limitations & Risks: " in text


def test_text_that_looks_like_markup_is_written_as_it_reads(editor):
    story = generated_story(random.Random(2), 98, [])
    story.lede = ["<script>alert(1)</script> is a *name* and # not a heading.", "1. Not a list."]
    article = story_save(story=story, user=editor).article
    text = article_export(article).text
    assert "\n<script>alert(1)</script> is a *name* and # not a heading.\n1. Not a list.\n" in text
    assert "\\" not in text  # the Markdown escapes stay in the database


# What the format cannot hold: refused, saying what and where; formatting: a warning.


def test_a_lede_paragraph_that_would_read_as_a_heading_is_refused(editor):
    article = make_article(published=False, lede="Read On Below")
    with pytest.raises(ExportRefused) as refusal:
        article_export(article)
    assert "the lede" in refusal.value.message and "Read On Below" in refusal.value.message


def test_a_key_fact_label_holding_a_colon_space_is_refused():
    article = make_article(published=False)
    KeyFact.objects.filter(article=article).update(label="Vote: final")
    with pytest.raises(ExportRefused) as refusal:
        article_export(article)
    assert "key fact 1, label “Vote: final”" in refusal.value.message


def test_a_section_that_would_swallow_the_next_heading_is_refused():
    article = make_article(published=False, parts=False, key_facts_heading="")
    Section.objects.create(article=article, position=0, heading="First Part", body="A paragraph.")
    second = Section.objects.create(article=article, position=1, heading="Second Part", body="")
    second.points.create(position=0, label="Cost", text="Four million.")
    with pytest.raises(ExportRefused) as refusal:
        article_export(article)
    assert "section" in refusal.value.message


def test_markdown_formatting_is_written_as_plain_text_with_a_warning():
    article = make_article(published=False)  # its section body is "The **board** agreed."
    export = article_export(article)
    assert "\nThe board agreed.\n" in export.text
    assert export.warnings == [
        "section 1 “What Was Decided”, paragraph 1: its formatting (Markdown) is dropped; the text is kept"
    ]


def test_write_is_the_inverse_of_parse_for_the_sample_layout():
    text = write(parse(DEMO[0].read_text(encoding="utf-8")))
    assert parse(text) == parse(DEMO[0].read_text(encoding="utf-8"))


# The admin: the change page's link and the list's action.


def test_export_view_downloads_the_working_copy_as_a_text_file(client, editor):
    article = imported(DEMO[0].read_text(encoding="utf-8"), editor)
    article.title = "A Working-Copy Headline Not Yet Live"
    article.save()
    client.force_login(editor)
    response = client.get(reverse("admin:articles_article_export", args=[article.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{article.slug}.txt"'
    assert response.content.decode("utf-8").startswith("A Working-Copy Headline Not Yet Live\n")


def test_export_view_refuses_an_unwritable_story_back_on_its_page(client, editor):
    article = make_article(published=False, lede="Read On Below")
    client.force_login(editor)
    response = client.get(reverse("admin:articles_article_export", args=[article.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:articles_article_change", args=[article.pk])
    [message] = get_messages(response.wsgi_request)
    assert "cannot be written as a story file" in message.message and "Read On Below" in message.message


def test_anonymous_cannot_export(client):
    article = make_article(published=False)
    response = client.get(reverse("admin:articles_article_export", args=[article.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_export_of_an_unknown_story_is_404(client, editor):
    client.force_login(editor)
    assert client.get(reverse("admin:articles_article_export", args=[999999])).status_code == 404
    assert client.get("/admin/articles/article/abc/export/").status_code == 404


def test_staff_without_view_permission_cannot_export(client):
    article = make_article(published=False)
    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:articles_article_export", args=[article.pk])).status_code == 403


def test_a_viewer_may_export(client):
    article = make_article(published=False)
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    assert client.get(reverse("admin:articles_article_export", args=[article.pk])).status_code == 200


def _action(client, articles):
    return client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "export_selected", "_selected_action": [a.pk for a in articles]},
    )


def test_the_action_downloads_several_stories_as_a_zip(client, editor):
    first = imported(DEMO[0].read_text(encoding="utf-8"), editor)
    second = imported(DEMO[1].read_text(encoding="utf-8"), editor)
    client.force_login(editor)
    response = _action(client, [first, second])
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted([f"{first.slug}.txt", f"{second.slug}.txt"])
    assert parse(archive.read(f"{second.slug}.txt").decode("utf-8")) == parse(DEMO[1].read_text(encoding="utf-8"))


def test_the_action_downloads_one_story_as_its_text_file(client, editor):
    article = imported(DEMO[2].read_text(encoding="utf-8"), editor)
    client.force_login(editor)
    response = _action(client, [article])
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{article.slug}.txt"'


def test_the_action_leaves_out_an_unwritable_story_and_says_so(client, editor):
    good = imported(DEMO[0].read_text(encoding="utf-8"), editor)
    bad = make_article(published=False, lede="Read On Below")
    client.force_login(editor)
    response = _action(client, [good, bad])
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == [f"{good.slug}.txt"]
    page = client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert "Not downloaded" in page and bad.title in page


# The command.


def test_export_story_writes_to_stdout(editor):
    article = imported(DEMO[0].read_text(encoding="utf-8"), editor)
    out = io.StringIO()
    call_command("export_story", article.slug, stdout=out, stderr=io.StringIO())
    assert parse(out.getvalue()) == parse(DEMO[0].read_text(encoding="utf-8"))


def test_export_story_writes_files_into_out(tmp_path, editor):
    articles = [imported(path.read_text(encoding="utf-8"), editor) for path in DEMO[:2]]
    call_command("export_story", *[a.slug for a in articles], "--out", str(tmp_path / "out"), stdout=io.StringIO())
    for article, path in zip(articles, DEMO[:2], strict=True):
        written = (tmp_path / "out" / f"{article.slug}.txt").read_text(encoding="utf-8")
        assert parse(written) == parse(path.read_text(encoding="utf-8"))


def test_export_story_names_an_unknown_slug_and_writes_nothing(tmp_path, editor):
    article = imported(DEMO[0].read_text(encoding="utf-8"), editor)
    with pytest.raises(CommandError, match="'no-such-story'"):
        call_command("export_story", article.slug, "no-such-story", "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_an_exported_then_edited_story_is_a_conflict_on_reimport(editor):
    """The round trip carries the import record: a change after export still counts."""
    article = imported(DEMO[0].read_text(encoding="utf-8"), editor)
    text = article_export(article).text
    other = make_user("Editors")
    article.title = "Changed in the Newsroom"
    article.updated_by = other
    article.save()
    from articles import workflow

    workflow.article_saved(article=article, user=other)
    assert edits_since_import(article) is not None
    from articles.importing import ImportRefused

    with pytest.raises(ImportRefused):
        story_save(story=parse(text), user=editor)


def test_a_story_without_its_attribution_is_refused_naming_what_is_missing():
    article = make_article(published=False, original_url="")
    Article.objects.filter(pk=article.pk).update(source=None)
    article.refresh_from_db()
    with pytest.raises(ExportRefused) as refusal:
        article_export(article)
    assert "it has no source and no original URL; add them first" in refusal.value.message

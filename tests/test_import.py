"""The import_story command: one article per file, updates by original URL, atomic refusals."""

import pytest
from django.core.management import CommandError, call_command

from articles.models import Article, Desk, KeyFact, Point, Section, Source, TakePoint
from tests.factories import make_user, story_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def users():
    return {"editor": make_user("Editors", username="ed"), "moderator": make_user("Moderators", username="mo")}


def run_import(*paths, publish=False, user=None):
    from io import StringIO

    out, err = StringIO(), StringIO()
    user = user or ("mo" if publish else "ed")
    args = [str(p) for p in paths] + (["--publish"] if publish else []) + ["--user", user]
    try:
        call_command("import_story", *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_creates_article_with_all_parts_and_prints_its_path(tmp_path):
    sections = (
        (
            "Why the Harbour Chose Tides",
            ("Tides are predictable.", "Wind is not."),
            "What It Brings",
            (("Jobs", "Forty."), ("", "Cleaner air.")),
        ),
        ("Looking Ahead: Phase Two", ("More to come.",), "", ()),
    )
    out, err, error = run_import(write(tmp_path, "a.txt", story_text(sections=sections)))
    assert error is None, err
    article = Article.objects.get()
    assert out.splitlines()[0].split("\t")[0] == f"/articles/{article.slug}/"
    assert article.slug == "tidal-power-comes-to-the-harbour"
    assert article.status == Article.Status.DRAFT
    assert article.lede_html == "<p>The harbour board approved three tidal turbines on Tuesday.</p>"
    assert article.key_facts_heading == "Key Facts About the Turbines"
    assert [(f.position, f.label) for f in article.key_facts.all()] == [(0, "Capacity"), (1, "Schedule")]
    first, second = article.sections.all()
    assert first.body_html == "<p>Tides are predictable.</p>\n<p>Wind is not.</p>"
    assert first.points_heading == "What It Brings"
    assert [(p.position, p.label, p.text) for p in first.points.all()] == [
        (0, "Jobs", "Forty."),
        (1, "", "Cleaner air."),
    ]
    assert second.heading == "Looking Ahead: Phase Two"
    assert article.take.title == "The Desk's Take"
    assert [p.kind for p in article.take.points.all()] == ["why_it_matters"]
    assert article.source.name == "Harbour Wire" and article.source.site == "harbour.example"
    assert article.source.credit == "Please credit Harbour Wire when republishing."
    assert article.original_url == "https://harbour.example/stories/tidal?ref=rss&utm=1"


def test_publish_flag_makes_story_live_in_a_one_person_newsroom(tmp_path, settings):
    settings.NEWSROOM_FOUR_EYES = False  # with the rule on, a second moderator approves (test_four_eyes)
    run_import(write(tmp_path, "a.txt", story_text()), publish=True)
    assert Article.objects.live().count() == 1


def imported_and_approved(path, users):
    """Imported by the editor, approved by the moderator: two people (the four-eyes rule)."""
    from articles import workflow

    out, err, error = run_import(path)
    assert error is None, err
    article = Article.objects.get()
    workflow.article_approve(article=article, user=users["moderator"], direct=True)
    article.refresh_from_db()
    return article


def test_reimport_same_original_url_updates_instead_of_duplicating(tmp_path):
    run_import(write(tmp_path, "a.txt", story_text()))
    article = Article.objects.get()
    out, err, error = run_import(
        write(tmp_path, "b.txt", story_text(title="Tidal Power: Revised", facts=(("Capacity", "Four megawatts."),)))
    )
    assert error is None, err
    assert Article.objects.count() == 1
    article.refresh_from_db()
    assert article.title == "Tidal Power: Revised"
    assert article.slug == "tidal-power-comes-to-the-harbour"  # the address stays
    assert list(article.key_facts.values_list("text", flat=True)) == ["Four megawatts."]
    assert KeyFact.objects.count() == 1 and Section.objects.count() == 1 and TakePoint.objects.count() == 1
    assert "updated" in out


def test_same_title_different_story_gets_its_own_slug(tmp_path):
    run_import(write(tmp_path, "a.txt", story_text()))
    run_import(write(tmp_path, "b.txt", story_text(original="🔗 Original: https://harbour.example/other")))
    assert sorted(Article.objects.values_list("slug", flat=True)) == [
        "tidal-power-comes-to-the-harbour",
        "tidal-power-comes-to-the-harbour-2",
    ]


def test_malformed_file_names_file_and_line_and_writes_nothing(tmp_path):
    bad = write(
        tmp_path, "bad.txt", "Title Here\nA lede.\n- stray: bullet\n" + "\n".join(story_text().splitlines()[2:])
    )
    out, err, error = run_import(bad)
    assert error is not None
    assert f"{bad}:3: error: a bullet before any heading" in err
    assert Article.objects.count() == 0 and Source.objects.count() == 0


def test_bad_file_among_several_leaves_the_good_ones(tmp_path):
    good = write(tmp_path, "good.txt", story_text())
    bad = write(tmp_path, "bad.txt", story_text(source="", original="🔗 Original: https://x.example/2"))
    later = write(tmp_path, "later.txt", story_text(title="Later Story", original="🔗 Original: https://x.example/3"))
    out, err, error = run_import(good, bad, later)
    assert error is not None and "1 of 3" in str(error)
    assert "bad.txt" in err and "📌 Source" in err
    assert sorted(Article.objects.values_list("title", flat=True)) == [
        "Later Story",
        "Tidal Power Comes to the Harbour",
    ]
    assert len([line for line in out.splitlines() if line.startswith("/")]) == 2


def test_failure_midway_through_saving_rolls_back_that_story(tmp_path, monkeypatch):
    run_import(write(tmp_path, "a.txt", story_text()))
    before = list(Article.objects.values_list("title", "lede"))

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Point.objects, "bulk_create", explode)
    with pytest.raises(RuntimeError):
        run_import(
            write(tmp_path, "b.txt", story_text(title="Changed Title", sections=(("S", ("P.",), "", (("A", "b."),)),)))
        )
    assert list(Article.objects.values_list("title", "lede")) == before
    assert Section.objects.get().heading == "Why the Harbour Chose Tides"


def test_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Harbour News\nCaf\u00e9 opens.\n".encode("latin-1"))
    out, err, error = run_import(path)
    assert error is not None and "latin1.txt:2: error: the file is not UTF-8" in err


def test_missing_file_is_reported(tmp_path):
    out, err, error = run_import(tmp_path / "nope.txt")
    assert error is not None and "nope.txt: error: cannot read" in err


def test_sample_story_imports(shared_file, users):
    article = imported_and_approved(shared_file("stories/longgang.txt"), users)
    assert article.is_live
    assert article.sections.count() == 5
    assert Point.objects.filter(section__article=article).count() == 12
    assert article.take.points.count() == 3


def test_import_records_author_and_a_revision(tmp_path, users):
    run_import(write(tmp_path, "a.txt", story_text()))
    article = Article.objects.get()
    assert article.created_by == users["editor"]
    revision = article.revisions.get()
    assert (revision.kind, revision.created_by, revision.data["title"]) == ("import", users["editor"], article.title)


def test_editor_cannot_publish_on_import(tmp_path):
    out, err, error = run_import(write(tmp_path, "a.txt", story_text()), publish=True, user="ed")
    assert error is not None and "may not approve" in err
    assert Article.objects.count() == 0  # the refused story is not half-written


def test_unknown_user_is_refused(tmp_path):
    out, err, error = run_import(write(tmp_path, "a.txt", story_text()), user="ghost")
    assert error is not None and "ghost" in str(error)


def test_reimport_of_live_story_changes_only_the_working_copy(tmp_path, client, users):
    article = imported_and_approved(write(tmp_path, "a.txt", story_text()), users)
    run_import(write(tmp_path, "a.txt", story_text(title="A Rewritten Headline")))
    article.refresh_from_db()
    assert article.title == "A Rewritten Headline" and article.has_unpublished_changes
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Tidal Power Comes to the Harbour" in page and "A Rewritten Headline" not in page


def test_reimport_of_story_in_review_is_refused_for_editors(tmp_path, users):
    from articles import workflow

    run_import(write(tmp_path, "a.txt", story_text()))
    workflow.article_submit(article=Article.objects.get(), user=users["editor"])
    out, err, error = run_import(write(tmp_path, "a.txt", story_text(title="Sneaky Change")))
    assert error is not None and "in review and locked" in err
    assert Article.objects.get().title == "Tidal Power Comes to the Harbour"


def test_reimport_keeps_editorial_fields(tmp_path, users):
    from tests.factories import make_desk

    article = imported_and_approved(write(tmp_path, "a.txt", story_text()), users)
    desk = make_desk()
    article.desk, article.byline = desk, "Ana Reyes"
    article.save()
    article.tags.add("energy")
    run_import(write(tmp_path, "a.txt", story_text(title="New Headline")))
    article.refresh_from_db()
    assert (article.desk, article.byline, article.status) == (desk, "Ana Reyes", Article.Status.PUBLISHED)
    assert article.title == "New Headline" and article.is_live
    assert list(article.tags.names()) == ["energy"]


def test_the_import_revision_is_the_story_as_stored(tmp_path):
    """The import builds its revision from the parts it wrote; it must equal a fresh read."""
    from articles.snapshots import article_snapshot
    from tests.factories import make_desk

    sections = (
        (
            "Why the Harbour Chose Tides",
            ("Tides are *predictable*.", "Second paragraph."),
            "Key Points",
            (("Cost", "Four million."), ("", "A point with no label.")),
        ),
        ("What Happens Next", ("Work starts in May.",), "", ()),
    )
    run_import(write(tmp_path, "a.txt", story_text(sections=sections)))
    article = Article.objects.get()
    assert article.revisions.get().data == article_snapshot(Article.objects.get(pk=article.pk))

    article.desk, article.byline = make_desk(), "Ana Reyes"
    article.save()
    article.tags.add("energy", "tides")
    run_import(write(tmp_path, "b.txt", story_text(title="Tidal Power: Revised", sections=sections[:1], take=())))
    latest = article.revisions.first()
    assert latest.data == article_snapshot(Article.objects.get(pk=article.pk))
    assert latest.data["title"] == "Tidal Power: Revised" and latest.data["desk"] and len(latest.data["tags"]) == 2


def test_importing_a_story_with_every_part_stays_within_its_query_budget(users, django_assert_max_num_queries):
    """Per new story of a run: its transaction, three lookups (original URL, slug, source), the
    story and its five kinds of part, the revision and the version; nothing read back (a new
    story has no publication to compare with, so none is looked up)."""
    from articles.importing import story_save
    from articles.storyformat import parse

    sections = (
        (
            "Why the Harbour Chose Tides",
            ("Tides are predictable.",),
            "What It Brings",
            (("Jobs", "Forty."), ("", "Cleaner air.")),
        ),
        ("Looking Ahead", ("More to come.",), "", ()),
    )
    story_save(story=parse(story_text(sections=sections)), user=users["editor"])  # the run's first story
    story = parse(
        story_text(
            title="Another Harbour Story",
            sections=sections,
            original="🔗 Original: https://harbour.example/stories/another",
        )
    )
    with django_assert_max_num_queries(13):
        story_save(story=story, user=users["editor"])


# --desk, --byline and --tags: what the admin's import form offers, for new stories only


def run_import_with(path, *options):
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("import_story", str(path), "--user", "ed", *options, stdout=out, stderr=err)
    except CommandError as error:
        return err.getvalue(), error
    return err.getvalue(), None


def test_desk_byline_and_tags_are_given_to_new_stories(tmp_path):
    Desk.objects.create(name="Climate", slug="climate")
    err, error = run_import_with(
        write(tmp_path, "a.txt", story_text()), "--desk", "climate", "--byline", "Ada Reed", "--tags", "energy, tides"
    )
    assert error is None, err
    article = Article.objects.get()
    assert (article.desk.slug, article.byline) == ("climate", "Ada Reed")
    assert sorted(article.tags.names()) == ["energy", "tides"]


def test_an_updated_story_keeps_its_own_desk_byline_and_tags(tmp_path):
    Desk.objects.create(name="Climate", slug="climate")
    Desk.objects.create(name="Cities", slug="cities")
    path = write(tmp_path, "a.txt", story_text())
    run_import_with(path, "--desk", "climate", "--byline", "Ada Reed", "--tags", "energy")
    err, error = run_import_with(path, "--desk", "cities", "--byline", "Someone Else", "--tags", "other")
    assert error is None, err
    article = Article.objects.get()
    assert (article.desk.slug, article.byline, list(article.tags.names())) == ("climate", "Ada Reed", ["energy"])


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (("--desk", "nowhere"), "--desk: no desk with the slug 'nowhere' (desks: climate)"),
        (("--byline", "Ada\nReed"), "--byline: Remove the line break"),
        (("--byline", "A" * 201), "--byline: at most 200 characters (201 given)"),
    ],
)
def test_a_wrong_desk_or_byline_is_refused_and_nothing_imported(tmp_path, options, says):
    Desk.objects.create(name="Climate", slug="climate")
    err, error = run_import_with(write(tmp_path, "a.txt", story_text()), *options)
    assert error is not None and says in str(error) and "nothing was imported" in str(error)
    assert not Article.objects.exists()

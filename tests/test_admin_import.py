"""Import in the admin: upload or paste, a preview block by block with errors and warnings,
and a confirm that goes through the importer's one path (importing.story_save)."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from articles import import_forms, workflow
from articles.models import Article, Source
from tests.factories import make_desk, make_user, story_text

pytestmark = pytest.mark.django_db

URL = "/admin/articles/article/import/"
DEMO = Path(__file__).resolve().parent.parent / "articles" / "demo" / "stories" / "harbour-tidal-turbines.txt"


@pytest.fixture
def editor():
    return make_user("Editors", username="ed")


@pytest.fixture
def client_ed(client, editor):
    client.force_login(editor)
    return client


def upload(name: str, text: str | bytes) -> SimpleUploadedFile:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/plain")


def preview(client, *files, text: str = ""):
    return client.post(URL, {"step": "preview", "files": list(files), "text": text})


def carried(response) -> dict:
    """The preview's form as the browser would post it back (the stories' hidden text)."""
    stories = response.context["stories"]
    if stories.is_bound:  # shown again: the fields hold what was posted
        return {key: value for key, value in stories.data.items() if key.startswith("story-")}
    data = {f"story-{k}": v for k, v in stories.management_form.initial.items()}
    for form in stories.forms:
        for name in form.fields:
            value = form.initial.get(name)
            data[form.add_prefix(name)] = "" if value is None else value
    return data


def confirm(client, response, **choices):
    return client.post(URL, {**carried(response), "step": "import", **choices})


def page(response) -> str:
    return response.content.decode()


# Who may import.


def test_the_story_list_offers_import_to_editors(client_ed):
    assert URL in page(client_ed.get(reverse("admin:articles_article_changelist")))


def test_the_story_list_hides_import_from_who_may_not_add(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    assert URL not in page(client.get(reverse("admin:articles_article_changelist")))
    assert client.get(URL).status_code == 403
    assert preview(client, upload("a.txt", story_text())).status_code == 403
    assert not Article.objects.exists()


def test_anonymous_goes_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post(URL, {"step": "import", "story-TOTAL_FORMS": "1", "story-INITIAL_FORMS": "1"})
    assert response.status_code == 302 and not Article.objects.exists()


def test_the_upload_page_extends_the_admin(client_ed):
    html = page(client_ed.get(URL))
    assert 'class="breadcrumbs"' in html and 'type="file"' in html and "multiple" in html
    assert "css/import.css" in html


# The preview.


def test_preview_shows_each_block_and_saves_nothing(client_ed):
    response = preview(client_ed, upload("harbour.txt", DEMO.read_text(encoding="utf-8")))
    html = page(response)
    assert response.status_code == 200
    for text in (
        "Marrow Bay Switches On Harbour Tidal Turbines",  # title
        "Six tidal turbines anchored",  # lede
        "Key Facts About the Marrow Bay Tidal Array",
        "Expected Output:",  # a key fact's label
        "How the Turbines Work Beneath the Harbour",  # a section
        "What the Array Means for Residents",  # a points heading
        "The Newsroom&#x27;s Take",
        "🔥 Why This Matters:",
        "Newsroom Demo Wire",
        "demo.newsroom.example",
        "https://demo.newsroom.example/stories/harbour-tidal-turbines?ref=demo",
        "Please credit Newsroom Demo Wire when republishing.",
        "new draft",
        "No desk",
        "No byline",
        "No tags",
    ):
        assert text in html, text
    assert not Article.objects.exists() and not Source.objects.exists()


def test_preview_shows_text_that_looks_like_html_as_text(client_ed):
    text = story_text(lede=("The <script>alert(1)</script> phone ships <b>today</b>.",))
    html = page(preview(client_ed, upload("a.txt", text)))
    assert "<script>alert(1)</script>" not in html and "<b>today</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_bad_file_shows_its_error_with_the_line_and_imports_nothing(client_ed):
    bad = "Title Only\n- a bullet before any heading\n"
    response = preview(client_ed, upload("bad.txt", bad), upload("good.txt", story_text()))
    html = page(response)
    assert "Line 2: a bullet before any heading" in html
    assert "1 can be imported" in html
    result = confirm(client_ed, response)
    assert Article.objects.count() == 1
    assert "Not imported:" in page(result) and "line 2: a bullet before any heading" in page(result)


def test_a_file_that_is_not_utf8_says_so_with_its_line(client_ed):
    data = "Harbour Title\nThe board met on Tuesday in Malmö.\n".encode("latin-1")
    html = page(preview(client_ed, upload("latin1.txt", data)))
    assert "Line 2: the file is not UTF-8 text" in html


def test_a_png_renamed_txt_is_refused_as_not_text(client_ed):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    response = preview(client_ed, upload("story.txt", png))
    assert "the file is not text: it looks like a PNG image" in page(response)
    confirm(client_ed, response)
    assert not Article.objects.exists()


def test_a_huge_file_is_refused_without_being_read(client_ed, monkeypatch):
    monkeypatch.setattr(import_forms, "MAX_STORY_BYTES", 1000)
    html = page(preview(client_ed, upload("huge.txt", story_text() + "x" * 2000)))
    assert "a story file is at most 1000" in html


def test_more_than_fifty_files_are_refused_and_the_paste_is_kept(client_ed):
    files = [upload(f"s{n}.txt", story_text()) for n in range(import_forms.MAX_FILES + 1)]
    response = preview(client_ed, *files, text="My pasted <story> text")
    html = page(response)
    assert f"51 files were chosen; one import takes at most {import_forms.MAX_FILES}" in html
    assert "My pasted &lt;story&gt; text</textarea>" in html


def test_nothing_chosen_is_a_clear_error(client_ed):
    assert "Choose one or more story files, or paste" in page(preview(client_ed))


def test_an_import_too_large_for_the_confirm_form_is_refused(client_ed, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 + 500
    html = page(preview(client_ed, upload("a.txt", story_text()), upload("b.txt", story_text())))
    assert "Import them in smaller batches" in html


# Confirming.


def test_paste_then_confirm_creates_a_draft_with_the_chosen_desk_byline_and_tags(client_ed, editor):
    desk = make_desk(name="Climate")
    response = preview(client_ed, text=story_text())
    checked = client_ed.post(
        URL, {**carried(response), "step": "check", "desk": desk.pk, "byline": "Ana Ruiz", "tags": "energy, tides"}
    )
    assert "No desk" not in page(checked) and "No byline" not in page(checked) and "No tags" not in page(checked)
    result = confirm(client_ed, checked, desk=desk.pk, byline="Ana Ruiz", tags="energy, tides")
    article = Article.objects.get()
    assert (article.status, article.desk, article.byline) == (Article.Status.DRAFT, desk, "Ana Ruiz")
    assert sorted(t.name for t in article.tags.all()) == ["energy", "tides"]
    assert article.created_by == editor
    revision = article.revisions.get()
    assert revision.kind == "import" and revision.data["desk"]["slug"] == desk.slug
    assert reverse("admin:articles_article_change", args=[article.pk]) in page(result)


def test_confirm_parses_again_and_never_trusts_the_preview(client_ed):
    response = preview(client_ed, upload("a.txt", story_text()))
    data = carried(response)
    data["story-0-text"] = "Title Only\n- a bullet before any heading\n"  # changed after the preview
    result = client_ed.post(URL, {**data, "step": "import"})
    assert "line 2: a bullet before any heading" in page(result)
    assert not Article.objects.exists()


def test_a_forged_unreadable_note_cannot_make_text_importable(client_ed):
    response = preview(client_ed, upload("a.txt", story_text()))
    data = carried(response)
    data["story-0-unreadable"] = "forged"
    client_ed.post(URL, {**data, "step": "import"})
    assert not Article.objects.exists()


def test_a_truncated_form_starts_again(client_ed):
    result = client_ed.post(URL, {"step": "import", "story-TOTAL_FORMS": "0", "story-INITIAL_FORMS": "0"})
    assert result.status_code == 302 and result["Location"] == URL and not Article.objects.exists()


def test_a_refused_choice_keeps_the_stories_and_imports_nothing(client_ed):
    response = preview(client_ed, upload("a.txt", story_text()))
    result = confirm(client_ed, response, byline="Bad\x07byline")
    assert result.status_code == 200 and not Article.objects.exists()
    assert "Tidal Power Comes to the Harbour" in page(result)  # the preview again, with the stories
    assert result.context["choices"].errors["byline"]


def _imported(editor, text=None):
    from articles.importing import story_save
    from articles.storyformat import parse

    return story_save(story=parse(text or story_text()), user=editor).article


def test_a_known_story_is_updated_and_keeps_its_desk_byline_and_tags(client_ed, editor):
    article = _imported(editor)
    desk = make_desk()
    Article.objects.filter(pk=article.pk).update(desk=desk, byline="Kept Byline")
    article.tags.add("kept")
    article.refresh_from_db()
    workflow.article_saved(article=article, user=editor)  # not a change to the imported parts
    response = preview(client_ed, upload("a.txt", story_text(title="The Wire's Revised Headline")))
    assert "updates a known story" in page(response)
    other = make_desk()
    confirm(client_ed, response, desk=other.pk, byline="Other", tags="other")
    article.refresh_from_db()
    assert article.title == "The Wire's Revised Headline"
    assert (article.desk, article.byline, [t.name for t in article.tags.all()]) == (desk, "Kept Byline", ["kept"])
    assert Article.objects.count() == 1


def test_an_update_over_newsroom_changes_needs_overwrite(client_ed, editor):
    article = _imported(editor)
    alice = make_user("Editors", username="alice")
    article.title = "Changed by Alice"
    article.save()
    workflow.article_saved(article=article, user=alice)
    response = preview(client_ed, upload("a.txt", story_text()))
    html = page(response)
    assert "will be refused" in html and "alice" in html and "“Replace newsroom changes”" in html
    result = confirm(client_ed, response)
    assert "Not imported:" in page(result) and "alice" in page(result)
    assert Article.objects.get().title == "Changed by Alice"
    checked = client_ed.post(URL, {**carried(response), "step": "check", "overwrite": "on"})
    assert "Replaces newsroom changes" in page(checked)
    confirm(client_ed, response, overwrite="on")
    assert Article.objects.get().title == "Tidal Power Comes to the Harbour"


def test_an_update_of_a_story_in_review_is_refused_with_the_workflows_message(client_ed, editor):
    article = _imported(editor)
    workflow.article_submit(article=article, user=editor)
    response = preview(client_ed, upload("a.txt", story_text(title="A Revised Headline")))
    assert "is in review and locked for editing" in page(response)
    result = confirm(client_ed, response, overwrite="on")
    assert "is in review and locked for editing" in page(result)
    assert Article.objects.get().title == "Tidal Power Comes to the Harbour"


def test_a_different_credit_needs_update_source(client_ed, editor):
    _imported(editor)
    changed = story_text(credit="⚠️ Please credit Harbour Wire Ltd when republishing.")
    response = preview(client_ed, upload("a.txt", changed))
    assert "differs from the stored source" in page(response) and "“Update the stored source”" in page(response)
    confirm(client_ed, response)
    assert Source.objects.get().credit == "Please credit Harbour Wire when republishing."
    confirm(client_ed, response, update_source="on")
    assert Source.objects.get().credit == "Please credit Harbour Wire Ltd when republishing."


def test_update_source_is_not_offered_to_who_may_not_change_sources(client, editor):
    _imported(editor)
    writer = User.objects.create_user("writer", password="pw", is_staff=True)
    writer.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_article", "change_article", "view_article"])
    )
    client.force_login(writer)
    changed = story_text(credit="⚠️ Please credit Harbour Wire Ltd when republishing.")
    response = preview(client, upload("a.txt", changed))
    assert 'name="update_source"' not in page(response)
    confirm(client, response, update_source="on")  # a forged tick is not a permission
    assert Source.objects.get().credit == "Please credit Harbour Wire when republishing."


def test_each_story_is_its_own_transaction(client_ed, editor):
    """A refused story leaves the others imported (and its own nothing)."""
    ok = story_text(original="🔗 Original: https://harbour.example/one")
    refused = story_text(
        title="A Second Story",
        original="🔗 Original: https://harbour.example/two",
        source="📌 Source: New Wire",
        credit="",
    )
    response = preview(client_ed, upload("ok.txt", ok), upload("refused.txt", refused))
    result = confirm(client_ed, response)
    assert list(Article.objects.values_list("original_url", flat=True)) == ["https://harbour.example/one"]
    assert not Source.objects.filter(name="New Wire").exists()
    assert "no stored source “New Wire”" in page(result)


def _preview_queries(client, count: int, django_assert_max_num_queries) -> int:
    files = [
        upload(f"s{n}.txt", story_text(original=f"🔗 Original: https://harbour.example/{n}")) for n in range(count)
    ]
    files.append(upload("known.txt", story_text(original="🔗 Original: https://harbour.example/known")))
    with django_assert_max_num_queries(30) as captured:
        response = preview(client, *files)
    assert len(re.findall(r"import-verdict\">new draft<", page(response))) == count
    return len(captured)


def test_the_preview_reads_the_same_queries_for_3_or_30_stories(client_ed, editor, django_assert_max_num_queries):
    _imported(editor, story_text(original="🔗 Original: https://harbour.example/known"))
    assert _preview_queries(client_ed, 3, django_assert_max_num_queries) == _preview_queries(
        client_ed, 30, django_assert_max_num_queries
    )

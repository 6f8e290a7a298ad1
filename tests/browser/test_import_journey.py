"""The import and export journey in a real browser: an editor imports a good file (the
preview shows its blocks, the import makes a draft), a bad file (a line-numbered error,
nothing made), pasted text, and a story exported and imported again as an update."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from articles.importing import _imported_parts
from articles.models import Article
from articles.snapshots import article_snapshot
from tests.browser.axe import check_page
from tests.browser.helpers import change_url, log_in, new_page, roles, roles_left_in_place  # noqa: F401 - fixtures
from tests.factories import make_desk, make_user, story_text

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles_left_in_place", "roles")]

DEMO = Path(__file__).resolve().parents[2] / "articles" / "demo" / "stories" / "harbour-tidal-turbines.txt"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")


def open_import(page, base_url):
    page.goto(f"{base_url}/admin/articles/article/")
    page.locator(".object-tools").get_by_role("link", name="Import stories").click()
    expect(page.locator("h1")).to_have_text("Import stories")


def test_editor_imports_a_good_file_a_bad_file_and_pasted_text(page, live_server, tmp_path, screenshots):
    make_user("Editors", username="edna")
    make_desk(name="Climate", slug="climate")
    log_in(page, live_server.url, "edna")

    # A good file: the preview shows its blocks and what is missing; importing makes a draft.
    open_import(page, live_server.url)
    check_page(page, "import upload")
    page.set_input_files("#id_files", str(DEMO))
    page.get_by_role("button", name="Preview").click()
    story = page.locator("article.import-story")
    expect(story.locator("h2")).to_contain_text("harbour-tidal-turbines.txt")
    expect(story.locator(".import-verdict")).to_have_text("new draft")
    expect(story.locator(".import-title")).to_have_text(
        "Marrow Bay Switches On Harbour Tidal Turbines After a Decade of Delays"
    )
    expect(story).to_contain_text("Key Facts About the Marrow Bay Tidal Array")
    expect(story).to_contain_text("🔥 Why This Matters:")
    expect(story).to_contain_text("https://demo.newsroom.example/stories/harbour-tidal-turbines?ref=demo")
    expect(story.locator(".import-warnings")).to_contain_text("No desk")
    check_page(page, "import preview")
    screenshots(page, "import-preview", full_page=True)

    page.select_option("#id_desk", label="Climate")
    page.fill("#id_byline", "Edna Editor")
    page.fill("#id_tags", "energy, tides")
    page.get_by_role("button", name="Check again").click()
    expect(page.locator(".import-warnings")).to_have_count(0)
    page.get_by_role("button", name="Import 1 story").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Imported 1 of 1 story")
    article = Article.objects.get()
    expect(page.locator(".import-results")).to_contain_text("Created draft")
    assert (article.status, article.desk.slug, article.byline) == ("draft", "climate", "Edna Editor")
    assert article.sections.count() == 4 and article.key_facts.count() == 5  # as the file has them

    # A bad file and a file that is not UTF-8: line-numbered errors, nothing imported.
    bad = tmp_path / "bad.txt"
    bad.write_text("A Headline Without a Story\n- a bullet before any heading\n", encoding="utf-8")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Harbour Title\nThe board met in Malmö on Tuesday.\n".encode("latin-1"))
    open_import(page, live_server.url)
    page.set_input_files("#id_files", [str(bad), str(latin)])
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".import-story").first.locator(".errorlist")).to_have_text(
        "Line 2: a bullet before any heading"
    )
    expect(page.locator(".import-story").nth(1).locator(".errorlist")).to_contain_text(
        "Line 2: the file is not UTF-8 text"
    )
    expect(page.get_by_role("button", name="Import 0 stories")).to_be_disabled()
    screenshots(page, "import-error", full_page=True)
    assert Article.objects.count() == 1

    # Pasted text, at phone width: no sideways scroll; the text survives the round trip
    # through the preview's form (line ends, emoji, text that looks like HTML).
    page.set_viewport_size({"width": 390, "height": 844})
    open_import(page, live_server.url)
    assert no_sideways_scroll(page)
    pasted = story_text(
        title="Pasted Story About the <b>Harbour</b>",
        lede=("The board met on Tuesday ⚠ and 🔥 approved it.", "Prices rose *sharply* in 深圳."),
    )
    page.fill("#id_text", pasted)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".import-title")).to_have_text("Pasted Story About the <b>Harbour</b>")
    assert no_sideways_scroll(page)
    check_page(page, "import preview (390 px)")
    page.get_by_role("button", name="Import 1 story").click()
    expect(page.locator(".import-results")).to_contain_text("Created draft")
    pasted_article = Article.objects.get(title="Pasted Story About the <b>Harbour</b>")
    assert pasted_article.lede == "The board met on Tuesday ⚠ and 🔥 approved it.\n\nPrices rose \\*sharply\\* in 深圳."


def test_editor_exports_a_story_and_imports_it_again_as_an_update(page, live_server, tmp_path):
    make_user("Editors", username="edna")
    log_in(page, live_server.url, "edna")
    open_import(page, live_server.url)
    page.set_input_files("#id_files", str(DEMO))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Import 1 story").click()
    article = Article.objects.get()
    before = _imported_parts(article_snapshot(article))

    page.goto(change_url(live_server.url, article))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as text").click()
    download = download_info.value
    assert download.suggested_filename == f"{article.slug}.txt"
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)

    open_import(page, live_server.url)
    page.set_input_files("#id_files", str(exported))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".import-verdict")).to_have_text("updates a known story")
    expect(page.locator(".import-story")).to_contain_text("its desk, byline and tags stay")
    page.get_by_role("button", name="Import 1 story").click()
    expect(page.locator(".import-results")).to_contain_text("Updated")
    assert Article.objects.count() == 1
    assert _imported_parts(article_snapshot(Article.objects.get())) == before
    assert Article.objects.get().revisions.filter(kind="import").count() == 2

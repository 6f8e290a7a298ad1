"""The story form in a real browser at 1280 px (issue 15, part 5): one-line key facts and
points, order by drag, the source's site and credit on picking it, the hero image's
thumbnail kept through a refused try, no sideways scroll, no "View on site" on a draft."""

import pytest
from playwright.sync_api import expect

from articles.models import Article
from tests.browser.axe import check_page
from tests.browser.helpers import (  # noqa: F401 - fixtures
    choose_autocomplete,
    log_in,
    make_jpeg,
    new_page,
    roles,
    roles_left_in_place,
)
from tests.factories import make_source, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles_left_in_place", "roles")]

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"


def drag_above(page, moving, target):
    """Drag a row by its handle above another (jQuery UI sortable wants real mouse steps)."""
    moving.scroll_into_view_if_needed()
    start, end = moving.bounding_box(), target.bounding_box()
    x = start["x"] + start["width"] / 2
    page.mouse.move(x, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, start["y"] - 10, steps=5)
    page.mouse.move(x, end["y"] + 2, steps=20)
    page.mouse.move(x, end["y"] - 5, steps=5)
    page.mouse.up()


def test_editor_fills_a_story_on_the_story_form(page, live_server, tmp_path, screenshots):
    make_user("Editors", username="edna")
    make_source(name="Delta Daily", site="delta.example", credit="Please credit Delta Daily.")
    make_source(name="Harbour Wire", site="harbour.example", credit="Please credit Harbour Wire when republishing.")
    hero = make_jpeg(tmp_path)

    log_in(page, live_server.url, "edna")
    page.goto(f"{live_server.url}/admin/articles/article/add/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

    # The take is one block, there from the start, its kinds labelled with their emoji.
    expect(page.locator("#id_take-0-title")).to_be_visible()
    expect(page.locator("#take-group").get_by_role("link", name="Add another Take", exact=True)).to_be_hidden()

    page.locator("#id_title").press_sequentially("Harbour Ferries Run Later")
    page.fill("#id_lede", "Ferries will run until midnight from May, the harbour board decided.")

    # Picking a source shows its site and the credit readers will see.
    panel = page.locator("#source-attribution-panel")
    expect(panel).to_contain_text("Pick the source")
    choose_autocomplete(page, "source", "Harbour")
    expect(panel).to_contain_text("harbour.example")
    expect(panel).to_contain_text("Please credit Harbour Wire when republishing.")
    choose_autocomplete(page, "source", "Delta")
    expect(panel).to_contain_text("Please credit Delta Daily.")
    expect(panel).not_to_contain_text("Harbour Wire")

    # Key facts and points: one-line inputs; positions are not typed.
    for n, (label, text) in enumerate([("Hours", "Until midnight."), ("Cost", "No change to fares.")]):
        page.locator("#key_facts-group").get_by_role("link", name="Add another Key Fact", exact=True).click()
        page.fill(f"#id_key_facts-{n}-label", label)
        page.fill(f"#id_key_facts-{n}-text", text)
    assert page.eval_on_selector("#id_key_facts-0-text", "e => e.tagName + ':' + e.type") == "INPUT:text"
    expect(page.locator("#id_key_facts-0-position")).to_be_hidden()
    page.locator("#sections-group").get_by_role("link", name="Add another Section", exact=True).click()
    page.fill("#id_sections-0-heading", "What Changes")
    page.fill("#id_sections-0-body", "The last ferry leaves at midnight.")
    for m, (label, text) in enumerate([("Weekdays", "Every hour."), ("Weekends", "Every half hour.")]):
        page.locator("#sections-0-points-group").get_by_role("link", name="Add another Point", exact=True).click()
        page.fill(f"#id_sections-0-points-{m}-label", label)
        page.fill(f"#id_sections-0-points-{m}-text", text)
    assert page.eval_on_selector("#id_sections-0-points-1-text", "e => e.tagName + ':' + e.type") == "INPUT:text"
    page.locator("#take-0-points-group").get_by_role("link", name="Add another Take Point", exact=True).click()
    expect(page.locator("#id_take-0-points-0-kind option", has_text="Actionable Advice")).to_have_text(
        "💡 Actionable Advice"
    )
    page.select_option("#id_take-0-points-0-kind", "advice")
    page.fill("#id_take-0-points-0-text", "Check the timetable before you travel.")

    # The word count follows the typing (lede 11 + body 6 + points 7 + take 6).
    expect(page.locator("#story-word-count")).to_contain_text("30 words")

    # Drag the second key fact above the first: the hidden positions are renumbered.
    drag_above(page, page.locator("#key_facts-1 .djn-drag-handler"), page.locator("#key_facts-0"))
    expect(page.locator("#id_key_facts-1-position")).to_have_value("0")
    expect(page.locator("#id_key_facts-0-position")).to_have_value("1")

    # The image: a thumbnail as soon as it is chosen.
    page.set_input_files("#id_image", str(hero))
    expect(page.locator(".field-image .hero-image__preview img")).to_be_visible()
    page.fill("#id_image_alt", "The ferry at the pier after dark")

    # An error elsewhere: the image is kept (thumbnail and all), and so is everything typed.
    page.fill("#id_original_url", "not an address")
    page.get_by_role("button", name="Save and continue editing").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Original URL")
    expect(page.locator(".field-image")).to_contain_text("kept from your last try")
    expect(page.locator(".field-image img.hero-image__thumb")).to_be_visible()
    assert page.locator(".field-image img.hero-image__thumb").evaluate("img => img.naturalWidth") > 0
    # (Rows keep their names; the page lists them in the dragged order.)
    labels = page.locator("#key_facts-group .djn-inline-form:not(.djn-empty-form) input[name$='-label']")
    expect(labels.first).to_have_value("Cost")
    expect(page.locator("#id_take-0-points-0-text")).to_have_value("Check the timetable before you travel.")
    assert not Article.objects.exists()

    page.fill("#id_original_url", "https://delta.example/ferries")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    article = Article.objects.get(slug="harbour-ferries-run-later")
    assert article.image and article.image_width == 640
    assert [f.label for f in article.key_facts.order_by("position")] == ["Cost", "Hours"]
    assert [p.label for p in article.sections.get().points.order_by("position")] == ["Weekdays", "Weekends"]
    assert [(p.kind, p.text) for p in article.take.points.all()] == [
        ("advice", "Check the timetable before you travel.")
    ]

    # The saved story: its thumbnail, no "View on site" for a draft (Preview instead), no sideways scroll.
    expect(page.locator(".field-image img.hero-image__thumb")).to_be_visible()
    expect(page.locator(".object-tools")).not_to_contain_text("View on site")
    expect(page.locator(".object-tools").get_by_role("link", name="Preview")).to_be_visible()
    expect(page.locator("#source-attribution-panel")).to_contain_text("Please credit Delta Daily.")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    check_page(page, "story form (change page)")
    screenshots(page, "story-form", full_page=True)


def test_story_form_has_no_sideways_scroll_at_1400(new_page, live_server):
    from tests.factories import make_article

    editor = make_user("Editors", username="wide")
    article = make_article(published=False, created_by=editor)
    page = new_page(width=1400)
    log_in(page, live_server.url, "wide")
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    expect(page.locator("#story-word-count")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

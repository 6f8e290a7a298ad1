"""End-to-end journeys through the newsroom in a real browser: an editor writes a story, a
moderator reviews it, a reader reads it, and two editors collide on one story."""

import time
from datetime import timedelta

import pytest
from django.core.files import File
from django.utils import timezone
from playwright.sync_api import expect

from articles import workflow
from articles.models import Article, KeyFact, Point, Section, Take, TakePoint
from tests.browser.helpers import (  # noqa: F401 - fixtures
    change_url,
    choose_autocomplete,
    log_in,
    make_jpeg,
    new_page,
    roles,
    roles_left_in_place,
    run_workflow_step,
)
from tests.factories import make_article, make_desk, make_source, make_user, publish

# The live server needs a transactional database; the roles (groups) come from data
# migrations, so they are made again for each test (and left in place after the module).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles_left_in_place", "roles")]


def submitted_story(editor, **fields) -> Article:
    """A draft story, saved and submitted for review by `editor` (through the workflow)."""
    article = make_article(published=False, **fields)
    workflow.article_saved(article=article, user=editor)
    workflow.article_submit(article=article, user=editor)
    return article


# 1. The editor writes a story, reorders its sections, previews it and submits it.


def test_editor_writes_previews_and_submits_a_story(page, live_server, tmp_path, screenshots):
    make_user("Editors", username="edna")
    make_source(name="Harbour Wire", site="harbour.example", credit="Please credit Harbour Wire when republishing.")
    make_desk(name="Climate", slug="climate")
    hero = make_jpeg(tmp_path)

    log_in(page, live_server.url, "edna")
    page.goto(f"{live_server.url}/admin/articles/article/add/")

    # Typed key by key: the admin fills the slug in from the title on keyup.
    page.locator("#id_title").press_sequentially("Tidal Turbines Approved for the Harbour")
    expect(page.locator("#id_slug")).to_have_value("tidal-turbines-approved-for-the-harbour")  # prepopulated
    page.fill("#id_lede", "The harbour board approved three **tidal turbines** on Tuesday.")
    page.fill("#id_byline", "Edna Editor")
    choose_autocomplete(page, "desk", "Clim")
    page.fill("#id_tags", "energy, tidal power")
    page.set_input_files("#id_image", str(hero))
    page.fill("#id_image_alt", "Three turbine blades lowered into the harbour at dawn")
    page.fill("#id_image_credit", "Photo: Harbour Wire")
    choose_autocomplete(page, "source", "Harbour")
    page.fill("#id_original_url", "https://harbour.example/stories/tidal-turbines")

    # Key facts: two rows.
    for n, (label, text) in enumerate([("Capacity", "Three megawatts in total."), ("Schedule", "Work starts in May.")]):
        page.locator("#key_facts-group").get_by_role("link", name="Add another Key Fact", exact=True).click()
        page.fill(f"#id_key_facts-{n}-label", label)
        page.fill(f"#id_key_facts-{n}-text", text)

    # Two sections, each with points (nested "Add another Point").
    sections = {
        0: (
            "Why the Harbour Chose Tides",
            "Tides are predictable.",
            [("Reliability", "Twice a day, every day."), ("", "No fuel to ship in.")],
        ),
        1: ("What Residents Said", "Most welcomed the plan.", [("Fishers", "Worried about nets.")]),
    }
    for n, (heading, body, points) in sections.items():
        page.locator("#sections-group").get_by_role("link", name="Add another Section", exact=True).last.click()
        page.fill(f"#id_sections-{n}-heading", heading)
        page.fill(f"#id_sections-{n}-body", body)
        page.fill(f"#id_sections-{n}-points_heading", "Points")
        add_point = page.locator(f"#sections-{n}-points-group").get_by_role(
            "link", name="Add another Point", exact=True
        )
        for m, (label, text) in enumerate(points):
            add_point.click()
            page.fill(f"#id_sections-{n}-points-{m}-label", label)
            page.fill(f"#id_sections-{n}-points-{m}-text", text)

    # The take, with one point of each kind.
    # The take is one fixed block, already on the page (issue 15): no "Add another Take".
    page.fill("#id_take-0-title", "The Desk's Take")
    take_points = [
        ("why_it_matters", "Predictable power is rare."),
        ("limitations", "Salt water is hard on machines."),
        ("advice", "Watch the May council meeting."),
    ]
    for m, (kind, text) in enumerate(take_points):
        page.locator("#take-0-points-group").get_by_role("link", name="Add another Take Point", exact=True).click()
        page.select_option(f"#id_take-0-points-{m}-kind", kind)
        page.fill(f"#id_take-0-points-{m}-text", text)

    # Reorder: drag the second section above the first by its drag handle (nested_admin's
    # jQuery UI sortable listens to real mouse events, so move the mouse in steps).
    first, second = page.locator("#sections-0 > h3.djn-drag-handler"), page.locator("#sections-1 > h3.djn-drag-handler")
    second.scroll_into_view_if_needed()
    target, source = first.bounding_box(), second.bounding_box()
    page.mouse.move(source["x"] + 60, source["y"] + source["height"] / 2)
    page.mouse.down()
    page.mouse.move(source["x"] + 60, source["y"] - 20, steps=5)
    page.mouse.move(target["x"] + 60, target["y"] + 2, steps=20)
    page.mouse.move(target["x"] + 60, target["y"] + 1, steps=5)  # (above the handle is the key facts list now)
    page.mouse.up()
    # The page shows the new order and nested_admin renumbered the position fields.
    forms = page.locator("#sections-group .djn-inline-form[id^='sections-']:not([id*='empty']):not([id*='points'])")
    expect(forms).to_have_count(2)
    expect(forms.nth(0)).to_have_id("sections-1")
    expect(page.locator("#id_sections-1-position")).to_have_value("0")
    expect(page.locator("#id_sections-0-position")).to_have_value("1")

    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")

    # The database has everything, in the dragged order.
    article = Article.objects.get(slug="tidal-turbines-approved-for-the-harbour")
    assert article.created_by.username == "edna"
    assert article.source.name == "Harbour Wire"
    assert article.desk.slug == "climate"
    assert article.original_url == "https://harbour.example/stories/tidal-turbines"
    assert sorted(article.tags.names()) == ["energy", "tidal power"]
    assert article.image and article.image_width == 640 and article.image_alt.startswith("Three turbine blades")
    assert [f.label for f in article.key_facts.order_by("position")] == ["Capacity", "Schedule"]
    ordered = list(article.sections.order_by("position"))
    assert [s.heading for s in ordered] == ["What Residents Said", "Why the Harbour Chose Tides"]
    assert [p.text for p in ordered[0].points.order_by("position")] == ["Worried about nets."]
    assert [p.label for p in ordered[1].points.order_by("position")] == ["Reliability", ""]
    assert [(p.kind, p.text) for p in article.take.points.order_by("position")] == take_points
    assert article.status == Article.Status.DRAFT

    expect(page.locator("#id_title")).to_have_value("Tidal Turbines Approved for the Harbour")
    screenshots(page, "admin-change-page", full_page=True)

    # Preview: the working copy in the public template.
    page.locator(".object-tools").get_by_role("link", name="Preview", exact=True).click()
    expect(page.locator(".preview-banner")).to_contain_text("Preview of the working copy")
    expect(page.locator("h1")).to_have_text("Tidal Turbines Approved for the Harbour")
    expect(page.locator(".story__section h2")).to_have_text(["What Residents Said", "Why the Harbour Chose Tides"])
    expect(page.locator(".take li")).to_have_count(3)
    page.go_back()

    # Submit for review: the story is then locked for editing.
    run_workflow_step(page, "Submit for review")
    expect(page.locator(".workflow-state .status-badge")).to_have_text("In review")
    expect(page.locator("ul.messagelist")).to_contain_text("is in review and locked for editing")
    expect(page.locator("#id_title")).to_have_count(0)
    expect(page.locator("input[name='title']")).to_have_count(0)
    expect(page.locator(".fieldBox.field-title .readonly")).to_have_text("Tidal Turbines Approved for the Harbour")
    article.refresh_from_db()
    assert article.status == Article.Status.IN_REVIEW and article.submitted_by.username == "edna"


# 2. The moderator sends it back, the editor fixes it, the moderator schedules it and
#    approves another story at once.


def test_moderator_requests_changes_then_schedules_and_publishes(page, live_server, new_page, screenshots):
    editor = make_user("Editors", username="edna")
    make_user("Moderators", username="mona")
    story = submitted_story(editor, title="Ferry Timetable Chagnes", slug="ferry-timetable")
    other = submitted_story(editor, title="Lighthouse Reopens to Visitors", slug="lighthouse-reopens")

    editor_page = new_page()
    log_in(editor_page, live_server.url, "edna")
    log_in(page, live_server.url, "mona")

    # The review queue lists both submissions, oldest first.
    page.goto(f"{live_server.url}/admin/articles/article/")
    page.locator(".object-tools").get_by_role("link", name="Review queue (2)").click()
    rows = page.locator("table.review-queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Ferry Timetable Chagnes")
    expect(rows.nth(0)).to_contain_text("edna")
    expect(rows.nth(0)).to_contain_text("New story")
    screenshots(page, "review-queue")
    rows.nth(0).get_by_role("link", name="Ferry Timetable Chagnes").click()

    comment = "The headline has a typo: “Chagnes” should be “Changes”."
    run_workflow_step(page, "Request changes", fill={"What should the editor change?": comment})
    expect(page.locator(".workflow-state .status-badge")).to_have_text("Draft")

    # The editor sees the comment, fixes the title and submits again.
    editor_page.goto(change_url(live_server.url, story))
    expect(editor_page.locator(".review-comment")).to_contain_text(comment)
    editor_page.fill("#id_title", "Ferry Timetable Changes")
    editor_page.get_by_role("button", name="Save and continue editing").click()
    expect(editor_page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    run_workflow_step(editor_page, "Submit for review")
    expect(editor_page.locator(".workflow-state .status-badge")).to_have_text("In review")

    # The moderator approves it to go live at the next whole minute at least one minute
    # ahead (the input is datetime-local in the server's time zone, UTC).
    go_live = (timezone.now() + timedelta(minutes=1)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    page.goto(f"{live_server.url}/admin/articles/article/review-queue/")
    page.locator("table.review-queue").get_by_role("link", name="Ferry Timetable Changes").click()
    page.locator(".object-tools").get_by_role("link", name="Approve and publish", exact=True).click()
    expect(page.locator("#content-main")).to_contain_text("Server time zone: UTC")
    page.get_by_label("Go live at").fill(timezone.localtime(go_live).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#content-main input[type=submit]").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Approve and publish: done.")
    expect(page.locator(".workflow-state .status-badge")).to_have_text("Scheduled")
    story.refresh_from_db()
    assert story.status == Article.Status.PUBLISHED
    assert story.publication.live_from == go_live and story.is_scheduled and not story.is_live
    assert story.live_revision.data["title"] == "Ferry Timetable Changes"

    # The other submission is approved now.
    page.goto(f"{live_server.url}/admin/articles/article/review-queue/")
    expect(page.locator("table.review-queue tbody tr")).to_have_count(1)
    page.locator("table.review-queue").get_by_role("link", name="Lighthouse Reopens to Visitors").click()
    run_workflow_step(page, "Approve and publish")
    expect(page.locator(".workflow-state .status-badge")).to_have_text("Published")
    other.refresh_from_db()
    assert other.is_live

    # Readers see the one approved now, not the scheduled one.
    page.goto(f"{live_server.url}/")
    expect(page.locator(".story-list")).to_contain_text("Lighthouse Reopens to Visitors")
    expect(page.locator(".story-list")).not_to_contain_text("Ferry Timetable")


# 3. A reader finds a live story everywhere, reads every part, and a scheduled story
#    appears at its time.


def reader_story(tmp_path) -> Article:
    source = make_source(
        name="Harbour Wire", site="harbour.example", credit="Please credit Harbour Wire when republishing."
    )
    desk = make_desk(name="Climate", slug="climate")
    article = make_article(
        published=False,
        parts=False,
        title="Tidal Turbines Approved for the Harbour",
        slug="tidal-turbines",
        lede="The harbour board approved three tidal turbines on Tuesday.",
        byline="Edna Editor",
        desk=desk,
        source=source,
        original_url="https://harbour.example/stories/tidal?ref=rss&utm=1",
        image_alt="Three turbine blades lowered into the harbour",
        image_credit="Photo: Harbour Wire",
        tags=["energy", "tidal power"],
    )
    with make_jpeg(tmp_path).open("rb") as handle:
        article.image.save("hero.jpg", File(handle), save=True)
    KeyFact.objects.create(article=article, position=0, label="Capacity", text="Three megawatts in total.")
    KeyFact.objects.create(article=article, position=1, label="Schedule", text="Work starts in May.")
    tides = Section.objects.create(
        article=article,
        position=0,
        heading="Why the Harbour Chose Tides",
        body="Tides are **predictable**.",
        points_heading="The reasons",
    )
    Point.objects.create(section=tides, position=0, label="Reliability", text="Twice a day, every day.")
    Point.objects.create(section=tides, position=1, label="", text="No fuel to ship in.")
    residents = Section.objects.create(
        article=article, position=1, heading="What Residents Said", body="Most welcomed the plan."
    )
    Point.objects.create(section=residents, position=0, label="Fishers", text="Worried about nets.")
    take = Take.objects.create(article=article, title="The Desk's Take")
    for n, (kind, text) in enumerate(
        [
            ("why_it_matters", "Predictable power is rare."),
            ("limitations", "Salt water is hard on machines."),
            ("advice", "Watch the May council meeting."),
        ]
    ):
        TakePoint.objects.create(take=take, position=n, kind=kind, text=text)
    return publish(article)


def test_reader_finds_reads_and_follows_a_story(page, live_server, tmp_path, screenshots):
    story = reader_story(tmp_path)
    editor, moderator = make_user("Editors"), make_user("Moderators")
    url = f"{live_server.url}{story.get_absolute_url()}"

    # The front page, the desk page, the tag page and search all lead to it.
    page.goto(f"{live_server.url}/")
    expect(page.locator(".story-list .card__title")).to_have_text(["Tidal Turbines Approved for the Harbour"])
    page.locator(".card").get_by_role("link", name="Climate").click()
    expect(page.locator("h1")).to_have_text("Climate")
    expect(page.locator(".story-list")).to_contain_text("Tidal Turbines Approved for the Harbour")
    page.locator(".card .tag-list").get_by_role("link", name="tidal power").click()
    expect(page).to_have_url(f"{live_server.url}/tags/tidal-power/")
    expect(page.locator("h1")).to_have_text("Tagged “tidal power”")
    expect(page.locator(".story-list")).to_contain_text("Tidal Turbines Approved for the Harbour")
    page.get_by_role("searchbox", name="Search stories").first.fill("turbines harbour")
    page.get_by_role("search").first.get_by_role("button", name="Search").click()
    expect(page.locator(".search-count")).to_contain_text("Stories matching “turbines harbour”")
    expect(page.locator(".search-results .card")).to_have_count(1)
    page.locator(".search-results").get_by_role("link", name="Tidal Turbines Approved for the Harbour").click()
    expect(page).to_have_url(url)

    # Every part of the story.
    expect(page.locator("h1")).to_have_text("Tidal Turbines Approved for the Harbour")
    expect(page.locator(".story__byline")).to_have_text("By Edna Editor")
    expect(page.locator(".story__figure img")).to_have_attribute("alt", "Three turbine blades lowered into the harbour")
    expect(page.locator(".story__figure figcaption")).to_have_text("Photo: Harbour Wire")
    expect(page.locator(".key-facts li")).to_have_text(
        ["Capacity: Three megawatts in total.", "Schedule: Work starts in May."]
    )
    expect(page.locator(".story__section h2")).to_have_text(["Why the Harbour Chose Tides", "What Residents Said"])
    expect(page.locator(".story__section").nth(0).locator("strong", has_text="predictable")).to_be_visible()
    expect(page.locator(".story__section").nth(0).locator(".points li")).to_have_text(
        ["Reliability: Twice a day, every day.", "No fuel to ship in."]
    )
    expect(page.locator(".story__section").nth(1).locator(".points li")).to_have_text(["Fishers: Worried about nets."])
    expect(page.locator(".take h2")).to_have_text("The Desk's Take")
    expect(page.locator(".take .take__kind")).to_have_text(
        ["Why This Matters:", "Limitations & Risks:", "Actionable Advice:"]
    )
    expect(page.locator(".take li")).to_contain_text(
        ["Predictable power is rare.", "Salt water is hard on machines.", "Watch the May council meeting."]
    )
    attribution = page.locator("footer.attribution")
    expect(attribution).to_contain_text("Source: Harbour Wire (harbour.example)")
    expect(attribution).to_contain_text("Original:")
    expect(attribution.locator(".attribution__credit")).to_have_text("Please credit Harbour Wire when republishing.")
    original = attribution.get_by_role("link")
    expect(original).to_have_attribute("href", "https://harbour.example/stories/tidal?ref=rss&utm=1")
    assert original.get_attribute("href") == story.original_url

    screenshots(page, "article-page-desktop", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("h1")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the story page scrolls sideways on a phone"
    screenshots(page, "article-page-phone", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The RSS link in the site navigation leads to a feed with the story.
    rss = page.locator(".site-nav").get_by_role("link", name="RSS")
    feed = page.request.get(f"{live_server.url}{rss.get_attribute('href')}")
    assert feed.ok and "xml" in feed.headers["content-type"]
    assert "<title>Tidal Turbines Approved for the Harbour</title>" in feed.text()
    assert f"{story.get_absolute_url()}</link>" in feed.text()

    # A story scheduled a few seconds ahead is not on the front page until its time.
    scheduled = make_article(published=False, title="Night Ferry Returns", slug="night-ferry-returns")
    workflow.article_saved(article=scheduled, user=editor)
    workflow.article_submit(article=scheduled, user=editor)
    go_live = timezone.now() + timedelta(seconds=5)
    workflow.article_approve(article=scheduled, user=moderator, go_live_at=go_live)
    page.goto(f"{live_server.url}/")
    expect(page.locator(".story-list .card__title")).to_have_text(["Tidal Turbines Approved for the Harbour"])
    response = page.request.get(f"{live_server.url}/articles/night-ferry-returns/")
    assert response.status == 404
    # The one fixed wait: until the go-live time has passed.
    time.sleep(max(0.0, (go_live - timezone.now()).total_seconds()) + 1)
    page.reload()
    expect(page.locator(".story-list .card__title")).to_have_text(
        ["Night Ferry Returns", "Tidal Turbines Approved for the Harbour"]
    )


# 4. Two editors open the same story; the second save is refused, keeping what was typed.


def test_second_of_two_editors_is_refused_and_keeps_their_text(page, live_server, new_page):
    make_user("Editors", username="edna")
    make_user("Editors", username="eddie")
    article = make_article(published=False, title="Harbour Dredging Begins", slug="harbour-dredging")
    workflow.article_saved(article=article, user=None)
    original_lede = article.lede

    second = new_page()
    log_in(page, live_server.url, "edna")
    log_in(second, live_server.url, "eddie")
    page.goto(change_url(live_server.url, article))
    second.goto(change_url(live_server.url, article))
    expect(page.locator("#id_title")).to_be_editable()
    expect(second.locator("#id_lede")).to_be_editable()

    page.fill("#id_title", "Harbour Dredging Begins in March")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")

    typed = "Dredgers arrived on Monday; the channel will be closed for six weeks."
    second.fill("#id_lede", typed)
    second.get_by_role("button", name="Save and continue editing").click()
    expect(second.locator(".errornote")).to_be_visible()
    refusal = second.locator("ul.errorlist.nonfield")
    expect(refusal).to_contain_text("edna changed this story at")
    expect(refusal).to_contain_text("Your changes are still in the form below")
    expect(second.locator("#id_lede")).to_have_value(typed)
    expect(second.locator("#id_title")).to_have_value("Harbour Dredging Begins")  # what eddie opened

    article.refresh_from_db()
    assert article.title == "Harbour Dredging Begins in March"
    assert article.lede == original_lede
    assert article.updated_by.username == "edna"

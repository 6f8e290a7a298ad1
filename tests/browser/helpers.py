"""Small helpers shared by the browser journeys: logging in, extra browser contexts, the
select2 autocomplete boxes, a generated JPEG, and the workflow screens."""

import functools
import importlib
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

DEFAULT_TIMEOUT_MS = 15_000


# The data migrations that create the roles (groups with their permissions), replayed below.
ROLE_MIGRATIONS = [("0002_roles", "create_roles"), ("0005_workflow_roles", "grant")]


@functools.cache
def _migrated_apps():
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).project_state().apps


def ensure_roles() -> None:
    """Create the Editors and Moderators groups as the data migrations do (idempotent).

    Transactional tests end with a flush that empties every table, and Django's post-migrate
    step brings back content types and permissions but not the groups a data migration made.
    """
    for module, function in ROLE_MIGRATIONS:
        getattr(importlib.import_module(f"articles.migrations.{module}"), function)(_migrated_apps(), None)


@pytest.fixture
def roles(transactional_db):
    """The roles, for a test that logs people in through the browser (the live server needs
    a transactional database, flushed after each test)."""
    ensure_roles()


@pytest.fixture(scope="module")
def roles_left_in_place(django_db_blocker):
    """After the module's last flush, put the roles back for later tests (test_smoke.py
    counts on finding them, as after migrate)."""
    yield
    with django_db_blocker.unblock():
        ensure_roles()


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (another person at another computer)."""
    contexts = []

    def open_page(width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(DEFAULT_TIMEOUT_MS)
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in(page: Page, base_url: str, username: str, password: str = "pw") -> None:
    """Log in through the real admin login page."""
    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Username:").fill(username)
    page.get_by_label("Password:").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(username, ignore_case=True)


def choose_autocomplete(page: Page, field: str, text: str) -> None:
    """Pick `text` in the admin's select2 autocomplete box for the field named `field`."""
    page.locator(f"#id_{field} + .select2-container .select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    search.fill(text)
    option = page.locator(".select2-container--open .select2-results__option", has_text=text)
    option.first.click()
    expect(page.locator(f"#select2-id_{field}-container")).to_contain_text(text)


def make_jpeg(folder: Path, name: str = "hero.jpg", size=(640, 360)) -> Path:
    """A small, real JPEG file (a colour gradient) for the hero image upload."""
    from PIL import Image

    width, height = size
    image = Image.new("RGB", size)
    image.putdata([(x * 255 // width, y * 255 // height, 128) for y in range(height) for x in range(width)])
    path = folder / name
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def change_url(base_url: str, article) -> str:
    return f"{base_url}/admin/articles/article/{article.pk}/change/"


def run_workflow_step(page: Page, label: str, *, fill: dict | None = None) -> None:
    """Click a workflow button in the object tools, fill its confirm page, and confirm."""
    page.locator(".object-tools").get_by_role("link", name=label, exact=True).click()
    expect(page.locator("#content-main input[type=submit]")).to_have_value(label)
    for field_label, value in (fill or {}).items():
        page.get_by_label(field_label).fill(value)
    page.locator("#content-main input[type=submit]").click()
    expect(page.locator("ul.messagelist")).to_contain_text(f"{label}: done.")

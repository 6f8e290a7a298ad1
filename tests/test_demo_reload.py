"""load_demo on a database that already has the demo: it never crashes, never puts back
what people changed (a story taken down, a password, a desk's name), adds only what is
missing, says what it added and what it left, writes nothing when nothing is missing, and
leaves the database as it was when it cannot finish."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import workflow
from articles.models import Article, Desk, Publication, Revision, Source, Transition

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def demo(settings):
    """A database as the first `make run` leaves it."""
    settings.DEBUG = True
    load_demo()
    return {user.username: user for user in get_user_model().objects.all()}


def story(fragment: str) -> Article:
    return Article.objects.get(original_url__contains=fragment)


def database_state() -> dict:
    """Everything load_demo could write, as plain values."""
    return {
        "articles": list(
            Article.objects.order_by("pk").values(
                "pk", "slug", "status", "title", "desk_id", "byline", "image", "image_alt", "has_unpublished_changes"
            )
        ),
        "tags": sorted(Article.tags.through.objects.values_list("object_id", "tag__name")),
        "revisions": Revision.objects.count(),
        "transitions": Transition.objects.count(),
        "publications": list(Publication.objects.order_by("pk").values_list("pk", "article_id", "live_until")),
        "desks": list(Desk.objects.order_by("pk").values_list("pk", "slug", "name")),
        "users": list(
            get_user_model()
            .objects.order_by("pk")
            .values_list("pk", "username", "password", "is_staff", "is_superuser")
        ),
        "memberships": sorted(get_user_model().groups.through.objects.values_list("user_id", "group_id")),
        "sources": list(Source.objects.values_list("pk", "name", "site", "credit")),
    }


# The three symptoms of the issue, each reproduced.


def test_a_second_run_after_a_moderator_unpublished_a_demo_story_does_not_crash(demo):
    taken_down = story("tidal")
    workflow.article_unpublish(article=taken_down, user=demo["moderator"], reason="Facts under review")
    load_demo()  # raised TransitionNotAllowed ("archived … cannot be submitted") before
    taken_down.refresh_from_db()
    assert taken_down.status == Article.Status.ARCHIVED


def test_a_story_a_moderator_took_down_stays_down(demo, client):
    taken_down = story("tidal")
    workflow.article_unpublish(article=taken_down, user=demo["moderator"], reason="Facts under review")
    workflow.article_reopen(article=taken_down, user=demo["moderator"])  # back to a draft: nothing refuses now
    taken_down.refresh_from_db()
    out = load_demo()
    taken_down.refresh_from_db()
    assert taken_down.status == Article.Status.DRAFT and not taken_down.is_live
    assert not Publication.objects.current().filter(article=taken_down).exists()
    assert client.get(f"/articles/{taken_down.slug}/").status_code in (404, 410)  # not readable again
    assert f"kept    {taken_down.get_absolute_url()}" in out


def test_a_changed_demo_password_is_kept(demo, client):
    editor = demo["editor"]
    editor.set_password("my-own-passphrase-9")
    editor.save()
    out = load_demo()
    editor.refresh_from_db()
    assert editor.check_password("my-own-passphrase-9") and not editor.check_password("editor-demo-2026")
    assert client.login(username="editor", password="my-own-passphrase-9")
    assert "editor-demo-2026" not in out  # the demo password is not shown as if it still worked
    assert "password changed" in out


# What is left alone, and what comes back.


def test_an_existing_account_is_left_alone_entirely(demo):
    moderator = demo["moderator"]
    moderator.is_staff = False
    moderator.save()
    moderator.groups.clear()
    load_demo()
    moderator.refresh_from_db()
    assert not moderator.is_staff and not moderator.groups.exists()


def test_a_deleted_account_comes_back_with_its_demo_password_and_role(demo, client):
    demo["editor"].delete()
    out = load_demo()
    editor = get_user_model().objects.get(username="editor")
    assert editor.is_staff and not editor.is_superuser
    assert list(editor.groups.values_list("name", flat=True)) == ["Editors"]
    assert client.login(username="editor", password="editor-demo-2026")
    assert "editor     added" in out and "editor-demo-2026" in out


def test_a_changed_demo_story_is_left_exactly_as_it_is(demo):
    changed = story("cargo-bike")
    other_desk = Desk.objects.get(slug="science")
    changed.desk, changed.byline = other_desk, "Someone Else"
    changed.save()
    changed.tags.set(["edited"])
    workflow.article_saved(article=changed, user=demo["editor"])
    before = database_state()
    out = load_demo()
    assert database_state() == before
    changed.refresh_from_db()
    assert changed.has_unpublished_changes  # not approved by the demo behind the editor's back
    assert f"kept    {changed.get_absolute_url()}" in out


def test_a_deleted_demo_story_comes_back_live_and_the_others_are_untouched(demo, client):
    gone = story("deep-sea")
    slug, title = gone.slug, gone.title
    gone.delete()
    others = {a.pk: (a.status, a.revisions.count()) for a in Article.objects.all()}
    out = load_demo()
    back = story("deep-sea")
    assert back.title == title and back.is_live and back.desk.slug == "science"
    assert back.byline == "Hana Ruiz" and sorted(back.tags.names()) == ["biology", "oceans", "plastics"]
    assert back.image and back.image_alt
    approval = back.revisions.get(kind=Revision.Kind.APPROVAL)
    assert approval.created_by.username == "moderator"  # the four-eyes rule, as on the first run
    assert {a.pk: (a.status, a.revisions.count()) for a in Article.objects.exclude(pk=back.pk)} == others
    assert f"added   {back.get_absolute_url()}" in out
    assert client.get(back.get_absolute_url()).status_code == 200
    assert back.slug == slug  # the address was free again


def test_a_missing_desk_is_created_and_a_renamed_one_keeps_its_name(demo):
    Desk.objects.filter(slug="climate").update(name="Climate and Energy")
    Article.objects.filter(desk__slug="cities").delete()
    Desk.objects.filter(slug="cities").delete()
    out = load_demo()
    assert Desk.objects.get(slug="climate").name == "Climate and Energy"
    assert Desk.objects.get(slug="cities").name == "Cities"
    assert story("cargo-bike").desk.slug == "cities"
    assert "added desk cities" in out and "kept desk climate" in out


# Idempotent and atomic.


def test_a_second_run_with_nothing_missing_writes_nothing(demo):
    before = database_state()
    with CaptureQueriesContext(connection) as queries:
        out = load_demo()
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []
    assert database_state() == before
    assert "added" not in out and out.count("kept    /articles/") == 4
    assert "nothing was missing; nothing was changed" in out
    assert len(queries.captured_queries) <= 10  # a handful of reads, not one per row


def test_the_first_run_reports_what_it_added(settings):
    settings.DEBUG = True
    out = load_demo()
    assert out.count("added   /articles/") == 4 and out.count("added desk") == 4
    assert "editor-demo-2026" in out and "moderator-demo-2026" in out and "admin-demo-2026" in out


def test_a_failure_leaves_the_database_as_it_was_and_says_why(demo, media_root):
    """A deleted story cannot come back when the moderator who approves the demo may no
    longer approve: nothing of the run is kept (not even the desk it re-created)."""
    story("deep-sea").delete()
    Desk.objects.filter(slug="science").delete()
    moderator = demo["moderator"]
    moderator.groups.set([Group.objects.get(name="Editors")])
    before = database_state()
    files = sorted(media_root.rglob("*"))
    with pytest.raises(CommandError) as refused:
        call_command("load_demo", stdout=StringIO(), stderr=StringIO())
    assert sorted(media_root.rglob("*")) == files  # nor the hero image it had written
    message = str(refused.value)
    assert "deep-sea-microbes-plastic.txt" in message and "moderator" in message
    assert "nothing was changed" in message.lower()
    assert database_state() == before


def test_a_changed_source_credit_refuses_the_missing_story_and_changes_nothing(demo):
    story("app-store").delete()
    Source.objects.update(credit="Credit the Demo Wire, always.")
    before = database_state()
    with pytest.raises(CommandError) as refused:
        call_command("load_demo", stdout=StringIO(), stderr=StringIO())
    assert "app-store-review-names.txt" in str(refused.value) and "credit" in str(refused.value)
    assert database_state() == before


def test_a_missing_account_whose_group_was_deleted_is_refused_clearly(demo):
    demo["editor"].delete()
    Group.objects.filter(name="Editors").delete()
    before = database_state()
    with pytest.raises(CommandError, match="group Editors does not exist.*Nothing was changed"):
        call_command("load_demo", stdout=StringIO(), stderr=StringIO())
    assert database_state() == before


def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("load_demo", stdout=StringIO(), stderr=StringIO())
    assert not get_user_model().objects.exists()

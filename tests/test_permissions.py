"""End-to-end permission matrix: four actors (anonymous, editor, moderator, superuser) try
every door of the newsroom, through the test client, and the set of doors that open must be
exactly what the roles say. After every POST the story is read back from the database.

The roles, as the newsroom defines them (articles/workflow.py, migrations 0002 and 0005):

* Editors view everything in the admin, add stories, edit drafts and live stories, submit
  drafts, withdraw their own submissions, add and change sources; they may not delete
  stories or sources, edit a story in review or archived, approve, request changes,
  unpublish, reopen, or manage desks.
* Moderators may also approve (never their own submission: four-eyes), request changes,
  withdraw anyone's submission, unpublish, reopen, delete, edit in review, manage desks.
* Superusers may do everything, archived stories included (but four-eyes still holds).
* Anonymous readers are sent to the admin login for every admin door, and nothing changes.

The public site (pages, feeds, API) shows only live stories, to everyone; a signed preview
link shows one story's working copy, and only that one, until it expires.
"""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import signing
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from articles import workflow
from articles.models import Article, Desk, Publication, Revision, Source, Transition
from articles.previews import SALT, preview_token, preview_url
from tests.factories import make_article, make_desk, make_source, make_user, story_text
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db

ADMIN = "/admin/articles/article"
LOGIN = "/admin/login/"
DRAFT, IN_REVIEW, PUBLISHED, ARCHIVED = (
    Article.Status.DRAFT,
    Article.Status.IN_REVIEW,
    Article.Status.PUBLISHED,
    Article.Status.ARCHIVED,
)

ACTORS = ["anonymous", "editor", "moderator", "superuser"]
STAFF = ACTORS[1:]
ROLE = {"editor": "Editors", "moderator": "Moderators", "superuser": "superuser"}
COMMENT = "Checked by the permission matrix."

# --- The rules, written from the roles (not read from the code) ---------------------------

STATES = ["draft", "review", "live", "archived"]
STATUS_OF = {"draft": DRAFT, "review": IN_REVIEW, "live": PUBLISHED, "archived": ARCHIVED}

# Who may change a story's content (change form, restore) in each state.
MAY_EDIT = {
    "draft": {"editor", "moderator", "superuser"},
    "review": {"moderator", "superuser"},
    "live": {"editor", "moderator", "superuser"},
    "archived": {"superuser"},
}
MAY_DELETE = {"moderator", "superuser"}

# (step, state) -> who may take it there, and where it leaves the story. Every other
# (step, state, actor) is refused. The review story was submitted by a third person, so
# the editor may not withdraw it and any moderator may approve it.
STEPS = {
    ("submit", "draft"): ({"editor", "moderator", "superuser"}, IN_REVIEW),
    ("withdraw", "review"): ({"moderator", "superuser"}, DRAFT),
    ("request-changes", "review"): ({"moderator", "superuser"}, DRAFT),
    ("approve", "review"): ({"moderator", "superuser"}, PUBLISHED),
    ("unpublish", "live"): ({"moderator", "superuser"}, ARCHIVED),
    ("reopen", "archived"): ({"moderator", "superuser"}, DRAFT),
}
# What the refusal says when a step would fit the story's state but not the person.
REFUSAL = {
    "withdraw": "may not withdraw",
    "request-changes": "may not request changes",
    "approve": "may not approve stories",
    "unpublish": "may not unpublish stories",
    "reopen": "may not reopen archived stories",
}
NEEDS_COMMENT = {"request-changes", "unpublish"}


# --- People and browsers -------------------------------------------------------------------


def sign_in(client: Client, actor: str):
    """Log `client` in as a fresh user in the actor's role (nobody for anonymous)."""
    if actor == "anonymous":
        return None
    user = make_user(ROLE[actor])
    client.force_login(user)
    return user


def browser_as(actor: str) -> Client:
    """A second browser for the actor."""
    other = Client()
    sign_in(other, actor)
    return other


# --- Stories in each state, none of them the actor's own -----------------------------------


def story_in(state: str, **fields) -> Article:
    """A story written by one editor (revision #1 is theirs); in review it was submitted by
    another editor; live and archived ones were approved and unpublished by a moderator."""
    author = make_user("Editors")
    article = make_article(published=False, created_by=author, **fields)
    workflow.article_saved(article=article, user=author)
    if state != "draft":
        submitter = make_user("Editors")
        workflow.article_submit(article=article, user=submitter)
    if state in ("live", "archived"):
        workflow.article_approve(article=article, user=make_user("Moderators"))
    if state == "archived":
        workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="Source withdrew it.")
    article.refresh_from_db()
    assert article.status == STATUS_OF[state]
    return article


def fingerprint(article: Article):
    """Everything a door could change about a story (None once it is deleted)."""
    row = (
        Article.objects.filter(pk=article.pk)
        .values("status", "version", "title", "submitted_by_id", "updated_by_id")
        .first()
    )
    if row is None:
        return None
    return (
        *row.values(),
        list(Publication.objects.filter(article=article).values_list("revision_id", "live_from", "live_until")),
        Revision.objects.filter(article=article).count(),
        Transition.objects.filter(article=article).count(),
    )


def reload(article: Article) -> Article:
    return Article.objects.get(pk=article.pk)


# --- Addresses and pages -------------------------------------------------------------------


def change_url(article):
    return f"{ADMIN}/{article.pk}/change/"


def step_url(article, action):
    return f"{ADMIN}/{article.pk}/transition/{action}/"


def html(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def assert_sent_to_login(response):
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(LOGIN), response["Location"]


def step_fields(page: str) -> dict:
    """The confirm form's fields as a browser submits them (the form has no id of its own)."""
    start = page.index('id="content-main"')
    return form_fields(page[:start] + page[start:].replace("<form ", '<form id="workflow-step" ', 1), "workflow-step")


def nonfield_errors(page: str) -> str:
    match = re.search(r'<ul class="errorlist nonfield">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


# --- 1. The story admin's doors ------------------------------------------------------------

ACTIONS = list(workflow.ACTIONS)
STORY_DOORS = [
    "change",
    "change-post",
    "delete",
    "delete-post",
    "history",
    "diff",
    "restore",
    "preview",
    "share",
    *(f"step-{action}" for action in ACTIONS),
]


def knock_anonymously(client, article, door):
    """Every request an anonymous visitor can make at a door (GET and/or POST)."""
    pk = article.pk
    if door == "change":
        return [client.get(change_url(article))]
    if door == "change-post":
        return [client.post(change_url(article), {"title": "Hijacked", "slug": article.slug, "lede": "x"})]
    if door == "delete":
        return [client.get(f"{ADMIN}/{pk}/delete/")]
    if door == "delete-post":
        return [client.post(f"{ADMIN}/{pk}/delete/", {"post": "yes"})]
    if door == "history":
        return [client.get(f"{ADMIN}/{pk}/history/")]
    if door == "diff":
        return [client.get(f"{ADMIN}/{pk}/revisions/1/")]
    if door == "restore":
        return [client.post(f"{ADMIN}/{pk}/revisions/1/restore/")]
    if door == "preview":
        return [client.get(f"{ADMIN}/{pk}/preview/")]
    if door == "share":
        return [client.post(f"{ADMIN}/{pk}/share/")]
    action = door.removeprefix("step-")
    return [client.get(step_url(article, action)), client.post(step_url(article, action), {"comment": COMMENT})]


def check_change(client, article, actor, state, user):
    response = client.get(change_url(article))
    assert response.status_code == 200
    page = html(response)
    assert article.title in page
    editable = actor in MAY_EDIT[state]
    assert ('name="_save"' in page) is editable, "save button shown to someone who may not save (or hidden)"
    if not editable:  # read-only, and it says why
        assert workflow.edit_refusal(article, user) in messages_of(response)


def check_change_post(client, article, actor, state, user):
    before = fingerprint(article)
    data = form_fields(html(client.get(change_url(article))), "article_form")
    response = client.post(change_url(article), data)
    after = reload(article)
    if actor in MAY_EDIT[state]:
        assert response.status_code == 302, nonfield_errors(html(response)) or html(response)[:2000]
        assert after.version == article.version + 1 and after.updated_by == user
        latest = Revision.objects.filter(article=article).first()
        assert (latest.kind, latest.created_by) == (Revision.Kind.SAVE, user)
        assert after.status == article.status and after.title == article.title
    else:
        assert response.status_code == 403  # the brief allows "403 or unchanged"; the app answers 403
        assert fingerprint(article) == before, "a refused save changed the story"


def check_delete(client, article, actor, state, user):
    before = fingerprint(article)
    response = client.get(f"{ADMIN}/{article.pk}/delete/")
    assert response.status_code == (200 if actor in MAY_DELETE else 403)
    if actor in MAY_DELETE:
        assert "Are you sure" in html(response)
    assert fingerprint(article) == before


def check_delete_post(client, article, actor, state, user):
    before = fingerprint(article)
    response = client.post(f"{ADMIN}/{article.pk}/delete/", {"post": "yes"})
    if actor in MAY_DELETE:
        assert response.status_code == 302 and response["Location"] == f"{ADMIN}/"
        assert not Article.objects.filter(pk=article.pk).exists()
    else:
        assert response.status_code == 403
        assert fingerprint(article) == before


def check_read_only_page(suffix, expect_text):
    def check(client, article, actor, state, user):
        before = fingerprint(article)
        response = client.get(f"{ADMIN}/{article.pk}/{suffix}")
        assert response.status_code == 200
        assert expect_text(article) in html(response)
        assert fingerprint(article) == before

    return check


def check_restore(client, article, actor, state, user):
    before = fingerprint(article)
    response = client.post(f"{ADMIN}/{article.pk}/revisions/1/restore/")
    assert response.status_code == 302 and response["Location"] == change_url(article)
    after = reload(article)
    if actor in MAY_EDIT[state]:
        latest = Revision.objects.filter(article=article).first()
        assert (latest.kind, latest.created_by) == (Revision.Kind.RESTORE, user)
        assert after.version == article.version + 1 and after.status == article.status
    else:
        assert fingerprint(article) == before
        assert any(("locked" in m or "archived" in m) for m in messages_of(response)), messages_of(response)


def check_share(client, article, actor, state, user):
    before = fingerprint(article)
    assert client.get(f"{ADMIN}/{article.pk}/share/").status_code == 405
    response = client.post(f"{ADMIN}/{article.pk}/share/")
    assert response.status_code == 302 and response["Location"] == change_url(article)
    link = re.search(r"(/preview/[^/\s]+/)", " ".join(messages_of(response)))
    if state == "archived":  # a taken-down story's links are dead, so none is handed out
        assert not link and "archived" in " ".join(messages_of(response)), messages_of(response)
        assert fingerprint(article) == before
        return
    assert link, messages_of(response)
    shown = Client().get(link.group(1))
    assert shown.status_code == 200 and article.title in html(shown)
    assert fingerprint(article) == before


def check_step(action):
    def check(client, article, actor, state, user):
        before = fingerprint(article)
        confirm = client.get(step_url(article, action))
        assert confirm.status_code == 200
        assert fingerprint(article) == before, "opening a confirm page changed the story"
        data = step_fields(html(confirm))
        if action in NEEDS_COMMENT:
            data["comment"] = COMMENT
        response = client.post(step_url(article, action), data)
        allowed, to = STEPS.get((action, state), (set(), None))
        after = reload(article)
        if actor in allowed:
            assert response.status_code == 302, nonfield_errors(html(response))
            assert after.status == to
            record = Transition.objects.filter(article=article).order_by("-pk").first()
            assert (record.action, record.user, record.to_status) == (action, user, to)
            if action == "approve":
                assert after.live_revision_id is not None
        else:
            assert response.status_code == 200
            refusal = nonfield_errors(html(response))
            assert refusal, "refused without saying why"
            if (action, state) in STEPS:  # the right state, the wrong person: says who may not
                assert REFUSAL[action] in refusal, refusal
            assert fingerprint(article) == before, "a refused step changed the story"

    return check


STORY_CHECKS = {
    "change": check_change,
    "change-post": check_change_post,
    "delete": check_delete,
    "delete-post": check_delete_post,
    "history": check_read_only_page("history/", lambda a: "History"),
    "diff": check_read_only_page("revisions/1/", lambda a: "Revision #1"),
    "restore": check_restore,
    "preview": check_read_only_page("preview/", lambda a: a.title),
    "share": check_share,
    **{f"step-{action}": check_step(action) for action in ACTIONS},
}

STORY_CASES = [
    pytest.param(actor, state, door, id=f"{actor}-{state}-{door}")
    for actor in ACTORS
    for state in STATES
    for door in STORY_DOORS
]


@pytest.mark.parametrize(("actor", "state", "door"), STORY_CASES)
def test_story_admin_door(client, actor, state, door):
    article = story_in(state, title=f"Matrix Story {state.title()}")
    user = sign_in(client, actor)
    if actor == "anonymous":
        before = fingerprint(article)
        for response in knock_anonymously(client, article, door):
            assert_sent_to_login(response)
        assert fingerprint(article) == before
        return
    STORY_CHECKS[door](client, article, actor, state, user)


# Doors that belong to no one story.

ARTICLE_DOOR_CASES = [
    pytest.param(actor, door, id=f"{actor}-{door}")
    for door in ["changelist", "add", "add-post", "review-queue", "bulk-delete"]
    for actor in ACTORS
]


@pytest.mark.parametrize(("actor", "door"), ARTICLE_DOOR_CASES)
def test_article_admin_door(client, actor, door):
    waiting = story_in("review", title="Waiting In The Queue")
    draft = story_in("draft", title="Quiet Draft")
    user = sign_in(client, actor)
    count = Article.objects.count()
    if door == "changelist":
        response = client.get(f"{ADMIN}/")
    elif door == "add":
        response = client.get(f"{ADMIN}/add/")
    elif door == "review-queue":
        response = client.get(f"{ADMIN}/review-queue/")
    elif door == "bulk-delete":  # the changelist's "Delete selected" action, confirmed
        response = client.post(
            f"{ADMIN}/",
            {"action": "delete_selected", "_selected_action": [draft.pk, waiting.pk], "post": "yes", "index": "0"},
        )
    else:
        page = client.get(f"{ADMIN}/add/")
        data = form_fields(html(page), "article_form") if page.status_code == 200 else {}
        data.update(title="Fresh From The Add Page", slug="fresh-from-the-add-page", lede="It is new.")
        response = client.post(f"{ADMIN}/add/", data)
    if actor == "anonymous":
        assert_sent_to_login(response)
        assert Article.objects.count() == count
        return
    if door == "bulk-delete":
        gone = not Article.objects.filter(pk__in=[draft.pk, waiting.pk]).exists()
        assert gone is (actor in MAY_DELETE)
        assert Article.objects.count() == count - (2 if actor in MAY_DELETE else 0)
        return
    if door == "add-post":
        assert response.status_code == 302, nonfield_errors(html(response)) or html(response)[:3000]
        new = Article.objects.get(slug="fresh-from-the-add-page")
        assert (new.status, new.created_by, new.live_revision_id) == (DRAFT, user, None)
        return
    assert response.status_code == 200
    page = html(response)
    if door == "changelist":
        assert waiting.title in page and draft.title in page
    if door == "review-queue":
        assert waiting.title in page and draft.title not in page


@pytest.mark.parametrize("actor", STAFF)
def test_add_story_with_a_version_number_is_allowed_to_every_staff_role(client, actor):
    """The add door's permissions on their own."""
    user = sign_in(client, actor)
    data = form_fields(html(client.get(f"{ADMIN}/add/")), "article_form")
    data.update(title="Fresh From The Add Page", slug="fresh-from-the-add-page", lede="It is new.")
    response = client.post(f"{ADMIN}/add/", data)
    assert response.status_code == 302, nonfield_errors(html(response)) or html(response)[:3000]
    new = Article.objects.get(slug="fresh-from-the-add-page")
    assert (new.status, new.created_by, new.live_revision_id) == (DRAFT, user, None)
    assert Client().get("/articles/fresh-from-the-add-page/").status_code == 404


@pytest.mark.parametrize("actor", STAFF)
def test_change_form_cannot_set_the_workflow_fields(client, actor):
    """Status, live revision and submitter are set by the workflow only: extra fields posted
    with the change form are ignored, so nobody publishes by editing."""
    article = story_in("draft")
    approved = story_in("live")
    user = sign_in(client, actor)
    data = form_fields(html(client.get(change_url(article))), "article_form")
    data.update(
        status="published",
        live_revision=str(approved.live_revision_id),
        live_slug=article.slug,
        live_from="2020-01-01 00:00:00",
        submitted_by=str(user.pk),
        published_at="2020-01-01 00:00:00",
        has_unpublished_changes="on",
    )
    response = client.post(change_url(article), data)
    assert response.status_code == 302
    after = reload(article)
    assert not Publication.objects.filter(article=article).exists()
    assert (after.status, after.live_revision_id, after.live_slug, after.submitted_by_id, after.publication) == (
        DRAFT,
        None,
        None,
        None,
        None,
    )
    assert Client().get(f"/articles/{article.slug}/").status_code == 404


# Four-eyes: nobody approves their own submission, whoever they are; withdrawing it is fine.


@pytest.mark.parametrize("actor", STAFF)
def test_nobody_approves_their_own_submission(client, actor):
    user = sign_in(client, actor)
    article = make_article(published=False, created_by=user, title="My Own Scoop")
    workflow.article_saved(article=article, user=user)
    workflow.article_submit(article=article, user=user)
    article.refresh_from_db()
    before = fingerprint(article)
    confirm = client.get(step_url(article, "approve"))
    response = client.post(step_url(article, "approve"), step_fields(html(confirm)))
    assert response.status_code == 200
    refusal = nonfield_errors(html(response))
    assert ("may not approve stories" if actor == "editor" else "four-eyes") in refusal, refusal
    assert fingerprint(article) == before and reload(article).live_revision_id is None


@pytest.mark.parametrize("actor", STAFF)
def test_anyone_withdraws_their_own_submission(client, actor):
    user = sign_in(client, actor)
    article = make_article(published=False, created_by=user)
    workflow.article_submit(article=article, user=user)
    confirm = client.get(step_url(article, "withdraw"))
    response = client.post(step_url(article, "withdraw"), step_fields(html(confirm)))
    assert response.status_code == 302
    assert reload(article).status == DRAFT


def test_a_second_moderator_approves_a_moderators_submission(client):
    first = make_user("Moderators")
    article = make_article(published=False, created_by=first)
    workflow.article_submit(article=article, user=first)
    second = sign_in(client, "moderator")
    confirm = client.get(step_url(article, "approve"))
    response = client.post(step_url(article, "approve"), step_fields(html(confirm)))
    assert response.status_code == 302
    after = reload(article)
    assert after.status == PUBLISHED and after.live_revision.created_by == second


# --- 2. Sources and desks -------------------------------------------------------------------

# Who may do what to sources and desks, besides viewing them (every staff role may view).
SOURCE_DESK = {
    ("source", "add"): {"editor", "moderator", "superuser"},
    ("source", "change"): {"editor", "moderator", "superuser"},
    ("source", "delete"): {"moderator", "superuser"},
    ("desk", "add"): {"moderator", "superuser"},
    ("desk", "change"): {"moderator", "superuser"},
    ("desk", "delete"): {"moderator", "superuser"},
}
SD_DOORS = ["list", "add", "add-post", "change-post", "delete", "delete-post"]


def _sd_fields(model, name):
    if model == "source":
        return {"name": name, "site": "matrix.example", "credit": "Please credit Matrix."}
    return {"name": name, "slug": re.sub(r"\W+", "-", name.lower())}


def _sd_exists(model, name) -> bool:
    return (Source if model == "source" else Desk).objects.filter(name=name).exists()


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("model", ["source", "desk"])
@pytest.mark.parametrize("door", SD_DOORS)
def test_source_and_desk_admin_door(client, actor, model, door):
    thing = make_source() if model == "source" else make_desk()
    base = f"/admin/articles/{model}"
    sign_in(client, actor)
    verb = {"list": "view", "add": "add", "add-post": "add", "change-post": "change"}.get(door, "delete")
    may = actor != "anonymous" and (verb == "view" or actor in SOURCE_DESK[(model, verb)])
    if door == "list":
        response = client.get(f"{base}/")
    elif door == "add":
        response = client.get(f"{base}/add/")
    elif door == "add-post":
        response = client.post(f"{base}/add/", _sd_fields(model, "Matrix New"))
    elif door == "change-post":
        response = client.post(f"{base}/{thing.pk}/change/", _sd_fields(model, "Matrix Renamed"))
    elif door == "delete":
        response = client.get(f"{base}/{thing.pk}/delete/")
    else:
        response = client.post(f"{base}/{thing.pk}/delete/", {"post": "yes"})

    if actor == "anonymous":
        assert_sent_to_login(response)
    elif door in ("list", "add", "delete"):
        assert response.status_code == (200 if may else 403)
    elif may:
        assert response.status_code == 302, html(response)[:2000]
    else:
        assert response.status_code == 403

    # And the database agrees.
    assert _sd_exists(model, "Matrix New") is (door == "add-post" and may)
    assert _sd_exists(model, "Matrix Renamed") is (door == "change-post" and may)
    still_there = type(thing).objects.filter(pk=thing.pk).exists()
    assert still_there is not (door == "delete-post" and may)


def test_a_forged_cross_site_post_changes_nothing():
    """With CSRF checks on (as in a real browser), a POST without the token is refused even
    for a moderator who may take the step."""
    article = story_in("review")
    moderator = make_user("Moderators")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(moderator)
    before = fingerprint(article)
    for url, data in (
        (step_url(article, "approve"), {}),
        (f"{ADMIN}/{article.pk}/delete/", {"post": "yes"}),
        (f"{ADMIN}/{article.pk}/revisions/1/restore/", {}),
        (f"{ADMIN}/{article.pk}/share/", {}),
    ):
        assert browser.post(url, data).status_code == 403, url
    assert fingerprint(article) == before


# Accounts are the superuser's: no role may list users or promote itself.


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("door", ["user-list", "group-list", "promote-self"])
def test_accounts_admin_is_for_superusers_only(client, actor, door):
    user = sign_in(client, actor)
    target = user or make_user("Editors")
    if door == "user-list":
        response = client.get("/admin/auth/user/")
    elif door == "group-list":
        response = client.get("/admin/auth/group/")
    else:
        response = client.post(
            f"/admin/auth/user/{target.pk}/change/",
            {
                "username": target.username,
                "email": target.email,
                "is_active": "on",
                "is_staff": "on",
                "is_superuser": "on",
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
            },
        )
    if actor == "anonymous":
        assert_sent_to_login(response)
    elif actor == "superuser":
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403
    target.refresh_from_db()
    if actor != "superuser":
        assert not target.is_superuser


# --- 3. Who gets into the admin at all -------------------------------------------------------


def test_active_non_staff_user_is_refused_the_admin_even_with_editor_permissions(client):
    outsider = make_user("Editors", is_staff=False)
    article = story_in("draft")
    before = fingerprint(article)
    client.force_login(outsider)
    for url in (
        "/admin/",
        f"{ADMIN}/",
        change_url(article),
        f"{ADMIN}/{article.pk}/preview/",
        step_url(article, "submit"),
    ):
        assert_sent_to_login(client.get(url))
    assert_sent_to_login(client.post(step_url(article, "submit")))
    assert_sent_to_login(client.post(f"{ADMIN}/{article.pk}/share/"))
    assert fingerprint(article) == before
    # Logging in through the form does not let them in either.
    form = Client().post(f"{LOGIN}?next=/admin/", {"username": outsider.username, "password": "pw", "next": "/admin/"})
    assert form.status_code == 200 and "staff account" in html(form)


def test_inactive_staff_user_cannot_log_in(client):
    retired = make_user("Moderators", is_active=False)
    assert client.login(username=retired.username, password="pw") is False
    form = client.post(f"{LOGIN}?next=/admin/", {"username": retired.username, "password": "pw", "next": "/admin/"})
    assert form.status_code == 200 and "errornote" in html(form)
    assert_sent_to_login(client.get("/admin/"))


def test_staff_user_deactivated_while_logged_in_is_let_go(client):
    moderator = make_user("Moderators")
    article = story_in("review")
    client.force_login(moderator)
    assert client.get(f"{ADMIN}/").status_code == 200
    moderator.is_active = False
    moderator.save()
    assert_sent_to_login(client.get(f"{ADMIN}/"))
    confirm = client.post(step_url(article, "approve"))
    assert_sent_to_login(confirm)
    assert reload(article).status == IN_REVIEW


# --- 4. The public site shows live stories only, to everyone ---------------------------------

PUBLIC_DOORS = ["story-page", "front-page", "rss-feed", "api-detail", "api-list"]


def hidden_stories() -> dict[str, Article]:
    """Stories no reader may see, by state; plus a live story whose edit waits in review."""
    stories = {
        state: story_in(state, title=f"Unseen {state.title()} Headline") for state in ("draft", "review", "archived")
    }
    pending = story_in("live", title="Seen Live Headline")
    Article.objects.filter(pk=pending.pk).update(title="Unseen Pending Headline")
    pending.refresh_from_db()
    editor = make_user("Editors")
    workflow.article_saved(article=pending, user=editor)
    workflow.article_submit(article=pending, user=editor)
    stories["live-edit-in-review"] = reload(pending)
    return stories


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("door", PUBLIC_DOORS)
def test_public_doors_show_only_live_stories(client, actor, door):
    stories = hidden_stories()
    visible = story_in("live", title="Plainly Live Headline")
    sign_in(client, actor)

    def get(url):
        return client.get(url)

    if door in ("story-page", "api-detail"):
        prefix = "/articles/" if door == "story-page" else "/api/articles/"
        shown = get(f"{prefix}{visible.slug}/")
        assert shown.status_code == 200 and visible.title in html(shown)
        for state, article in stories.items():
            response = get(f"{prefix}{article.slug}/")
            if state == "live-edit-in-review":  # readers keep the approved version
                assert response.status_code == 200 and "Seen Live Headline" in html(response)
            else:
                assert response.status_code in (404, 410), (state, response.status_code)
            assert article.title not in html(response), state
    else:
        url = {"front-page": "/", "rss-feed": "/feeds/rss/", "api-list": "/api/articles/?page_size=100"}[door]
        response = get(url)
        assert response.status_code == 200
        page = html(response)
        assert visible.title in page and "Seen Live Headline" in page
        for state, article in stories.items():
            assert article.title not in page, state
        if door == "api-list":
            slugs = {item["slug"] for item in json.loads(page)["results"]}
            assert slugs == {visible.slug, stories["live-edit-in-review"].slug}


# --- 5. Signed preview links -----------------------------------------------------------------


def test_preview_link_shows_its_story_to_an_anonymous_reader():
    story_a = story_in("draft", title="Story A Secret Draft")
    response = Client().get(preview_url(story_a))
    assert response.status_code == 200 and story_a.title in html(response)
    assert "noindex" in response["X-Robots-Tag"]


def test_changing_any_character_of_the_token_gives_404():
    story_a = story_in("draft", title="Story A Secret Draft")
    token = preview_token(story_a)
    reader = Client()
    for i, char in enumerate(token):
        altered = token[:i] + ("A" if char != "A" else "B") + token[i + 1 :]
        response = reader.get(f"/preview/{altered}/")
        assert response.status_code == 404, (i, char, response.status_code)
        assert story_a.title not in html(response)
    for broken in (token[:-1], token + "A", "A" + token, token.replace(":", "-", 1)):
        assert reader.get(f"/preview/{broken}/").status_code == 404


def _parts(token: str):
    payload, timestamp, signature = token.rsplit(":", 2)
    return payload, timestamp, signature


@pytest.mark.parametrize(
    "forgery",
    ["wrong-key", "wrong-salt", "swapped-payload", "swapped-compressed-payload", "genuine-signature-b-id-a-slug"],
)
def test_a_link_for_story_a_cannot_be_turned_into_story_b(settings, forgery):
    story_a = story_in("draft", title="Story A Secret Draft")
    story_b = story_in("draft", title="Story B Secret Draft")
    b_payload = {"id": story_b.pk, "slug": story_b.slug}
    genuine = preview_token(story_a)
    payload, timestamp, signature = _parts(genuine)
    if forgery == "wrong-key":
        token = signing.TimestampSigner(key="not-the-" + settings.SECRET_KEY, salt=SALT).sign_object(
            b_payload, compress=True
        )
    elif forgery == "wrong-salt":
        token = signing.TimestampSigner(salt="some.other.salt").sign_object(b_payload, compress=True)
    elif forgery == "swapped-payload":
        raw = signing.b64_encode(json.dumps(b_payload, separators=(",", ":")).encode()).decode()
        token = f"{raw}:{timestamp}:{signature}"
    elif forgery == "swapped-compressed-payload":
        # Same encoding as the real token (zlib, leading dot), only the id and slug differ.
        import zlib

        raw = "." + signing.b64_encode(zlib.compress(json.dumps(b_payload, separators=(",", ":")).encode())).decode()
        token = f"{raw}:{timestamp}:{signature}"
    else:
        token = preview_token(Article(pk=story_b.pk, slug=story_a.slug))
    assert token != genuine
    response = Client().get(f"/preview/{token}/")
    assert response.status_code == 404, response.status_code
    assert story_b.title not in html(response) and story_a.title not in html(response)


def test_expired_preview_link_never_shows_the_story(settings):
    settings.NEWSROOM_PREVIEW_MAX_AGE = 1
    story_a = story_in("draft", title="Story A Secret Draft")
    link = preview_url(story_a)
    assert story_a.title in html(Client().get(link))
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        response = Client().get(link)
    assert response.status_code in (404, 410)
    assert story_a.title not in html(response)


# --- 6. The management commands enforce the roles too ----------------------------------------


def run(command, *args):
    """Run a management command; return (stdout, stderr, the CommandError or None)."""
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


@pytest.fixture
def story_file(tmp_path):
    path = tmp_path / "tidal.txt"
    path.write_text(story_text(), encoding="utf-8")
    return path


def test_import_with_publish_is_refused_for_an_editor(story_file):
    editor = make_user("Editors")
    out, err, error = run("import_story", str(story_file), "--user", editor.username, "--publish")
    assert error is not None and error.returncode != 0
    assert "may not approve" in err
    assert not Article.objects.exists(), "a refused import left a story behind"


def test_import_with_publish_works_for_a_moderator_with_the_four_eyes_rule_off(story_file, settings):
    settings.NEWSROOM_FOUR_EYES = False  # on, a second moderator must approve (tests/test_four_eyes.py)
    moderator = make_user("Moderators")
    out, err, error = run("import_story", str(story_file), "--user", moderator.username, "--publish")
    assert error is None, err
    article = Article.objects.get()
    assert article.status == PUBLISHED and article.is_live
    assert Client().get(f"/articles/{article.slug}/").status_code == 200


def test_import_without_publish_works_for_an_editor_as_a_draft(story_file):
    editor = make_user("Editors")
    out, err, error = run("import_story", str(story_file), "--user", editor.username)
    assert error is None, err
    article = Article.objects.get()
    assert (article.status, article.live_revision_id, article.created_by) == (DRAFT, None, editor)


@pytest.mark.parametrize("actor", STAFF)
def test_import_update_of_a_story_in_review_follows_the_edit_lock(story_file, actor):
    """Re-importing a file updates its story: only someone who may edit a story in review may."""
    author = make_user("Editors")
    assert run("import_story", str(story_file), "--user", author.username)[2] is None
    article = Article.objects.get()
    workflow.article_submit(article=article, user=author)
    article.refresh_from_db()
    before = fingerprint(article)
    user = make_user(ROLE[actor])
    out, err, error = run("import_story", str(story_file), "--user", user.username)
    if actor in MAY_EDIT["review"]:
        assert error is None, err
        after = reload(article)
        assert after.status == IN_REVIEW and after.version == article.version + 1
        assert Revision.objects.filter(article=article).first().created_by == user
    else:
        assert error is not None and error.returncode != 0 and "locked for editing" in err
        assert fingerprint(article) == before


CLI_STEPS = [  # (action, state, extra args)
    ("approve", "review", []),
    ("request-changes", "review", ["--comment", COMMENT]),
    ("withdraw", "review", []),
    ("unpublish", "live", ["--comment", COMMENT]),
    ("reopen", "archived", []),
]


@pytest.mark.parametrize("actor", STAFF)
@pytest.mark.parametrize(("action", "state", "extra"), CLI_STEPS, ids=[step[0] for step in CLI_STEPS])
def test_workflow_command_enforces_roles(actor, action, state, extra):
    article = story_in(state)
    user = make_user(ROLE[actor])
    before = fingerprint(article)
    out, err, error = run("workflow", article.slug, action, "--user", user.username, *extra)
    allowed, to = STEPS[(action, state)]
    if actor in allowed:
        assert error is None, error
        assert reload(article).status == to
        assert Transition.objects.filter(article=article).first().user == user
    else:
        assert error is not None and error.returncode != 0
        assert REFUSAL[action] in error.args[0], error.args[0]
        assert fingerprint(article) == before


def test_workflow_command_submit_works_for_an_editor():
    article = story_in("draft")
    editor = make_user("Editors")
    out, err, error = run("workflow", article.slug, "submit", "--user", editor.username)
    assert error is None, error
    assert reload(article).status == IN_REVIEW and reload(article).submitted_by == editor


def test_workflow_command_keeps_four_eyes():
    moderator = make_user("Moderators")
    article = story_in("draft")
    workflow.article_submit(article=article, user=moderator)
    out, err, error = run("workflow", article.slug, "approve", "--user", moderator.username)
    assert error is not None and "four-eyes" in error.args[0]
    assert reload(article).status == IN_REVIEW


def test_workflow_command_refuses_an_inactive_user():
    retired = make_user("Moderators", is_active=False)
    article = story_in("review")
    out, err, error = run("workflow", article.slug, "approve", "--user", retired.username)
    assert error is not None and "No active user" in error.args[0]
    assert reload(article).status == IN_REVIEW

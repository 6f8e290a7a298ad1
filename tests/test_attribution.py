"""Attribution (issue 13, item 2): no story reaches readers without its source, original URL
and credit condition; readers keep the credit approved with the version; a Source edit shows
in its stories' history; the importer never silently rewrites a stored Source."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from articles import workflow
from articles.diffing import snapshot_diff
from articles.models import Article, Revision, Source
from articles.snapshots import article_snapshot
from tests.factories import make_article, make_source, make_user, story_text
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db

ADMIN = "/admin/articles"


@pytest.fixture
def people():
    return {"editor": make_user("Editors", username="ed"), "moderator": make_user("Moderators", username="mo")}


def submitted(people, **fields) -> Article:
    """A draft written and submitted by the editor (the moderator may approve it)."""
    article = make_article(published=False, created_by=people["editor"], **fields)
    workflow.article_saved(article=article, user=people["editor"])
    workflow.article_submit(article=article, user=people["editor"])
    article.refresh_from_db()
    return article


def draft_without(what: str, people) -> Article:
    """A draft saved by the editor that lacks one part of its attribution."""
    article = make_article(published=False, created_by=people["editor"])
    if what == "source":
        Article.objects.filter(pk=article.pk).update(source=None)
    elif what == "original URL":
        Article.objects.filter(pk=article.pk).update(original_url="")
    elif what == "credit condition":
        Source.objects.filter(pk=article.source_id).update(credit="")
    article.refresh_from_db()
    workflow.article_saved(article=article, user=people["editor"])
    return article


# 1. Approving and submitting refuse a story without its attribution, naming what is missing.


@pytest.mark.parametrize("what", ["source", "original URL", "credit condition"])
def test_direct_approve_refuses_story_without_attribution(people, what):
    article = draft_without(what, people)
    with pytest.raises(workflow.TransitionNotAllowed, match=f"no {what}"):
        workflow.article_approve(article=article, user=people["moderator"], direct=True)
    article.refresh_from_db()
    assert article.live_revision_id is None and not article.revisions.filter(kind="approval").exists()


@pytest.mark.parametrize("what", ["source", "original URL", "credit condition"])
def test_submit_refuses_story_without_attribution(people, what):
    article = draft_without(what, people)
    with pytest.raises(workflow.TransitionNotAllowed, match=f"no {what}"):
        workflow.article_submit(article=article, user=people["editor"])
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT


def test_refusal_names_everything_missing(people):
    article = draft_without("source", people)
    Article.objects.filter(pk=article.pk).update(original_url="")
    article.refresh_from_db()
    with pytest.raises(workflow.TransitionNotAllowed) as refusal:
        workflow.article_submit(article=article, user=people["editor"])
    assert "no source, no original URL and no credit condition" in refusal.value.message


def test_approving_a_submission_whose_credit_was_blanked_meanwhile_is_refused(people):
    source = make_source()
    article = submitted(people, source=source)
    Source.objects.filter(pk=source.pk).update(credit="")  # behind the Source admin's back
    with pytest.raises(workflow.TransitionNotAllowed, match="no credit condition"):
        workflow.article_approve(article=article, user=people["moderator"])
    assert Article.objects.get(pk=article.pk).live_revision_id is None


def test_scheduled_approval_is_refused_too(people):
    source = make_source()
    article = submitted(people, source=source)
    Source.objects.filter(pk=source.pk).update(credit="")
    with pytest.raises(workflow.TransitionNotAllowed, match="no credit condition"):
        workflow.article_approve(
            article=article, user=people["moderator"], go_live_at=timezone.now() + timedelta(hours=2)
        )
    assert Article.objects.get(pk=article.pk).live_revision_id is None


def test_workflow_command_refuses_approval_without_original_url(people):
    article = submitted(people)
    Article.objects.filter(pk=article.pk).update(original_url="")
    with pytest.raises(CommandError, match="no original URL"):
        call_command("workflow", article.slug, "approve", "--user", "mo", stdout=StringIO(), stderr=StringIO())
    assert Article.objects.get(pk=article.pk).live_revision_id is None


def test_available_actions_leave_out_submit_and_approve_without_attribution(people):
    article = draft_without("credit condition", people)
    assert "submit" not in [a.name for a in workflow.available_actions(article, people["editor"])]
    assert "approve" not in [a.name for a in workflow.available_actions(article, people["moderator"])]


# 2. The change page says so early, and tells the moderator why there is no Approve button.


def test_change_page_warns_what_attribution_is_missing(people):
    article = draft_without("credit condition", people)
    client = Client()
    client.force_login(people["editor"])
    page = client.get(f"{ADMIN}/article/{article.pk}/change/").content.decode()
    assert 'attribution-warning" role="alert"' in page
    assert "no credit condition" in page
    assert "Submit for review" not in page


def test_change_page_shows_no_warning_for_a_complete_story(people):
    article = draft_without("nothing", people)
    client = Client()
    client.force_login(people["editor"])
    page = client.get(f"{ADMIN}/article/{article.pk}/change/").content.decode()
    assert "attribution-warning" not in page


def test_moderator_is_told_why_approve_is_missing(people):
    source = make_source()
    article = submitted(people, source=source)
    Source.objects.filter(pk=source.pk).update(credit="")
    client = Client()
    client.force_login(people["moderator"])
    page = client.get(f"{ADMIN}/article/{article.pk}/change/").content.decode()
    assert "Approve and publish" not in re.findall(r'class="workflow-button[^"]*"[^>]*>([^<]*)</a>', page)
    assert "cannot be approved" in page and "no credit condition" in page


# 3. Readers keep the credit approved with the version; a Source edit shows in history.


def source_change(client, source, **changes):
    page = client.get(f"{ADMIN}/source/{source.pk}/change/").content.decode()
    data = form_fields(page, "source_form")
    data.update(changes)
    return client.post(f"{ADMIN}/source/{source.pk}/change/", data)


def test_readers_keep_the_approved_credit_after_the_source_is_edited(people):
    source = make_source(name="Coast Wire", site="coast.example", credit="Please credit Coast Wire.")
    article = make_article(source=source)
    admin = make_user("superuser")
    client = Client()
    client.force_login(admin)
    assert source_change(client, source, credit="Credit us as COAST-NEW.", site="new.coast.example").status_code == 302
    assert Source.objects.get(pk=source.pk).credit == "Credit us as COAST-NEW."

    reader = Client()
    page = reader.get(article.get_absolute_url()).content.decode()
    assert "Please credit Coast Wire." in page and "COAST-NEW" not in page
    ld = json.loads(re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert ld["creditText"] == "Please credit Coast Wire."
    feed = reader.get("/feeds/rss/").content.decode()
    assert "Please credit Coast Wire." in feed and "COAST-NEW" not in feed
    detail = reader.get(f"/api/articles/{article.live_slug}/").json()
    assert detail["source"]["credit"] == "Please credit Coast Wire."
    assert detail["source"]["site"] == "coast.example"
    listed = reader.get("/api/articles/").json()["results"][0]
    assert listed["source"]["credit"] == "Please credit Coast Wire."


def test_source_edit_is_recorded_in_the_history_of_every_story_using_it(people):
    source = make_source(name="Coast Wire", credit="Please credit Coast Wire.")
    live = make_article(source=source)
    draft = make_article(published=False, source=source)
    in_review = submitted(people, source=source)
    archived = make_article(source=source)
    workflow.article_unpublish(article=archived, user=people["moderator"], reason="Legal hold.")
    elsewhere = make_article()
    before = {a.pk: a.revisions.count() for a in (live, draft, in_review, archived, elsewhere)}
    admin = make_user("superuser", username="chief")
    client = Client()
    client.force_login(admin)
    assert source_change(client, source, credit="Credit us as Coast Wire (new).").status_code == 302

    for article in (live, draft, in_review):
        latest = article.revisions.first()
        assert article.revisions.count() == before[article.pk] + 1
        assert (latest.kind, latest.created_by) == (Revision.Kind.SAVE, admin)
        assert latest.note.startswith("Source “Coast Wire” changed: credit")
        assert "Credit us as Coast Wire (new)." in latest.note
        assert latest.data["source"]["credit"] == "Credit us as Coast Wire (new)."
    for article in (archived, elsewhere):
        assert article.revisions.count() == before[article.pk]
    live.refresh_from_db()
    assert live.has_unpublished_changes
    lines = snapshot_diff(live.live_revision.data, article_snapshot(live))
    assert [line.text for line in lines if line.op == "removed"] == [
        f"Source: Coast Wire ({source.site}) — Please credit Coast Wire."
    ]
    assert [line.text for line in lines if line.op == "added"] == [
        f"Source: Coast Wire ({source.site}) — Credit us as Coast Wire (new)."
    ]
    history = client.get(f"{ADMIN}/article/{live.pk}/history/").content.decode()
    assert "Source “Coast Wire” changed" in history


def test_source_admin_refuses_blanking_a_credit_that_live_stories_depend_on(people):
    source = make_source(name="Coast Wire", credit="Please credit Coast Wire.")
    article = make_article(source=source)
    client = Client()
    client.force_login(make_user("superuser"))
    response = source_change(client, source, credit="")
    assert response.status_code == 200
    assert "cannot be removed" in response.content.decode() and article.title in response.content.decode()
    assert Source.objects.get(pk=source.pk).credit == "Please credit Coast Wire."


def test_source_admin_saving_without_a_change_records_nothing(people):
    source = make_source()
    article = make_article(source=source)
    before = article.revisions.count()
    client = Client()
    client.force_login(make_user("superuser"))
    assert source_change(client, source).status_code == 302
    assert article.revisions.count() == before


# 4. The importer never silently rewrites a stored Source.


def run_import(tmp_path, text, *extra, user="ed", name="a.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    try:
        call_command("import_story", str(path), "--user", user, *extra, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error, path
    return out.getvalue(), err.getvalue(), None, path


def test_import_refuses_a_credit_line_that_differs_from_the_stored_source(tmp_path, people):
    Source.objects.create(name="Harbour Wire", site="harbour.example", credit="Please credit Harbour Wire (stored).")
    out, err, error, path = run_import(tmp_path, story_text())
    assert error is not None
    assert (
        f"{path}: error: the credit line differs from the stored source “Harbour Wire” "
        "(stored: Please credit Harbour Wire (stored).; file: Please credit Harbour Wire when republishing.); "
        "use --update-source to replace it"
    ) in err
    assert Source.objects.get().credit == "Please credit Harbour Wire (stored)."
    assert not Article.objects.exists()


def test_import_refuses_a_site_that_differs_from_the_stored_source(tmp_path, people):
    Source.objects.create(
        name="Harbour Wire", site="www.harbour.example", credit="Please credit Harbour Wire when republishing."
    )
    out, err, error, path = run_import(tmp_path, story_text())
    assert error is not None and "the site differs from the stored source “Harbour Wire”" in err
    assert "use --update-source" in err
    assert Source.objects.get().site == "www.harbour.example" and not Article.objects.exists()


def test_import_update_source_replaces_the_credit_and_records_it(tmp_path, people):
    source = Source.objects.create(name="Harbour Wire", site="harbour.example", credit="Old credit.")
    other = make_article(source=source)
    out, err, error, path = run_import(tmp_path, story_text(), "--update-source")
    assert error is None, err
    assert Source.objects.get(pk=source.pk).credit == "Please credit Harbour Wire when republishing."
    assert f"{path}: Source “Harbour Wire” changed: credit “Old credit.” → “Please credit Harbour Wire" in out
    latest = other.revisions.first()
    assert (latest.kind, latest.created_by.username) == (Revision.Kind.SAVE, "ed")
    assert "Source “Harbour Wire” changed: credit" in latest.note
    other.refresh_from_db()
    assert other.has_unpublished_changes  # readers keep the old credit until a moderator approves
    assert Client().get(other.get_absolute_url()).content.decode().count("Old credit.") >= 1


def test_import_without_a_credit_line_takes_the_stored_credit(tmp_path, people):
    Source.objects.create(name="Harbour Wire", site="harbour.example", credit="Please credit Harbour Wire (stored).")
    out, err, error, path = run_import(tmp_path, story_text(credit=""))
    assert error is None, err
    article = Article.objects.get()
    assert article.source.credit == "Please credit Harbour Wire (stored)."
    assert article.revisions.get().data["source"]["credit"] == "Please credit Harbour Wire (stored)."


def test_import_without_a_credit_line_is_refused_when_none_is_stored(tmp_path, people):
    out, err, error, path = run_import(tmp_path, story_text(credit=""))
    assert error is not None and f"{path}: error:" in err and "credit" in err
    assert not Article.objects.exists() and not Source.objects.exists()
    Source.objects.create(name="Harbour Wire", site="harbour.example", credit="")
    out, err, error, path = run_import(tmp_path, story_text(credit=""))
    assert error is not None and "has no credit condition" in err
    assert not Article.objects.exists()


def test_import_refuses_a_source_site_that_is_not_a_host_name(tmp_path, people):
    out, err, error, path = run_import(
        tmp_path, story_text(source="📌 Source: Harbour Wire (https://harbour.example/x)")
    )
    assert error is not None and "host name" in err
    assert not Source.objects.exists() and not Article.objects.exists()

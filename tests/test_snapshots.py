"""Snapshots hold content only: their typed shape, and what "unpublished changes" compares."""

import pytest

from articles import workflow
from articles.snapshots import ImageRef, Snapshot, article_snapshot, snapshot_content
from tests.factories import make_article, make_user

pytestmark = pytest.mark.django_db


def test_a_snapshot_has_exactly_the_typed_fields():
    """A field added to snapshot_data but not to Snapshot would be left out of the content
    comparison (and so never count as a change): the two must name the same fields."""
    data = article_snapshot(make_article(published=False))
    assert set(data) == set(Snapshot.__annotations__)


def test_an_approval_writes_content_only_and_the_publication_keeps_what_is_derived():
    article = make_article()
    revision = article.publication.revision
    assert set(revision.data) == set(Snapshot.__annotations__)
    for derived in ("changes", "published_at", "updated_at"):
        assert derived not in revision.data
    assert article.publication.published_at is not None


def test_derived_fields_of_older_approval_revisions_are_not_content():
    """Approval revisions written before publications carried renditions, notices and public
    dates; comparing one with the same content as saved is "no change"."""
    data = article_snapshot(make_article(published=False))
    data["image"] = {"name": "articles/x.jpg", "width": 800, "height": 600}
    legacy = {
        **data,
        "image": {**data["image"], "renditions": [{"name": "renditions/x-480w.jpg", "width": 480}]},
        "changes": [{"kind": "update", "note": "New figures.", "at": "2026-01-01T00:00:00+00:00"}],
        "published_at": "2026-01-01T00:00:00+00:00",
        "updated_at": None,
    }
    assert workflow.same_content(data, legacy)
    assert set(snapshot_content(legacy)["image"]) == set(ImageRef.__annotations__)


def test_a_real_change_is_still_a_change():
    data = article_snapshot(make_article(published=False))
    for field, value in (("title", "Another"), ("image_alt", "A ferry"), ("key_facts", [])):
        assert not workflow.same_content(data, {**data, field: value})


def test_saving_a_live_story_without_a_change_leaves_no_unpublished_changes():
    article = make_article()
    workflow.article_saved(article=article, user=make_user("Editors"))
    article.refresh_from_db()
    assert not article.has_unpublished_changes

"""Database rules on the content model, and the live door."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from articles.models import Article, KeyFact, Point, Publication, Section, Take, TakePoint
from tests.factories import make_article

pytestmark = pytest.mark.django_db


def refuses(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_slug_is_unique():
    article = make_article()
    refuses(lambda: make_article(slug=article.slug))


def test_original_url_is_unique_but_may_be_blank_on_many():
    article = make_article()
    refuses(lambda: make_article(original_url=article.original_url))
    # Drafts: a story without its original URL cannot be published (articles.attribution).
    make_article(original_url="", published=False)
    make_article(original_url="", published=False)


def test_position_is_unique_within_a_parent_only():
    a, b = make_article(parts=False), make_article(parts=False)
    KeyFact.objects.create(article=a, position=0, label="L", text="t")
    KeyFact.objects.create(article=b, position=0, label="L", text="t")
    refuses(lambda: KeyFact.objects.create(article=a, position=0, label="M", text="u"))
    section = Section.objects.create(article=a, position=0, heading="H")
    refuses(lambda: Section.objects.create(article=a, position=0, heading="H2"))
    Point.objects.create(section=section, position=0, text="p")
    refuses(lambda: Point.objects.create(section=section, position=0, text="q"))
    take = Take.objects.create(article=a)
    TakePoint.objects.create(take=take, position=0, kind="advice", text="x")
    refuses(lambda: TakePoint.objects.create(take=take, position=0, kind="advice", text="y"))


def test_required_text_may_not_be_empty():
    article = make_article(parts=False)
    refuses(lambda: KeyFact.objects.create(article=article, position=1, label="", text="t"))
    refuses(lambda: Section.objects.create(article=article, position=1, heading=""))
    refuses(lambda: make_article(title=""))
    refuses(
        lambda: TakePoint.objects.create(take=Take.objects.create(article=article), position=0, kind="bogus", text="x")
    )


def test_point_label_may_be_empty():
    section = Section.objects.create(article=make_article(parts=False), position=0, heading="H")
    assert Point.objects.create(section=section, position=0, label="", text="A plain point.").pk


def test_one_take_per_article():
    article = make_article()
    refuses(lambda: Take.objects.create(article=article))


def test_saving_renders_markdown_to_html():
    article = make_article(lede="A *lede*.")
    assert article.lede_html == "<p>A <em>lede</em>.</p>"
    section = article.sections.get()
    section.body = "New **body** <script>x</script>"
    section.save()
    assert section.body_html == "<p>New <strong>body</strong> &lt;script&gt;x&lt;/script&gt;</p>"


def test_live_means_an_approved_revision_whose_time_has_come():
    from articles import workflow
    from tests.factories import make_user

    live = make_article()
    make_article(published=False)
    make_article(go_live_at=timezone.now() + timedelta(hours=1))
    expired = make_article()
    now = timezone.now()
    Publication.objects.filter(article=expired).update(
        live_from=now - timedelta(hours=1), live_until=now - timedelta(seconds=1)
    )
    unpublished = make_article()
    workflow.article_unpublish(article=unpublished, user=make_user("Moderators"), reason="Legal hold.")
    assert list(Article.objects.live()) == [live]


def test_revisions_are_immutable():
    revision = make_article().revisions.first()
    revision.note = "rewritten history"
    with pytest.raises(ValueError, match="immutable"):
        revision.save()


def test_take_point_knows_its_emoji():
    take_point = make_article(published=False).take.points.get()
    assert take_point.emoji == "🔥" and str(take_point) == "🔥 Why This Matters"

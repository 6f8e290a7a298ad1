"""The desk's dashboard (articles.dashboard, articles.charts, the admin's start page) and the
story list's "My stories" and "Changes requested" filters and badge."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import charts, dashboard, workflow
from articles.dashboard import DayFigures, daily_figures, percentile
from articles.models import Article, Transition
from tests.factories import make_article, make_user, publish

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


# The statistics: known numbers.


def test_percentile_interpolates_between_the_nearest_ranks():
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == pytest.approx(91)


def test_percentile_of_odd_count_median_is_the_middle_value():
    assert percentile([5, 1, 9], 0.5) == 5
    assert percentile([7], 0.5) == 7
    assert percentile([7], 0.9) == 7


def test_percentile_refuses_no_values_and_fractions_outside_zero_to_one():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1], 90)


def test_daily_figures_group_by_the_approval_day_with_gaps_as_none():
    first = date(2026, 11, 1)

    def pair(day, hours, at_hour=15):
        approved = datetime(2026, 11, day, at_hour, tzinfo=UTC)
        return approved - timedelta(hours=hours), approved

    figures = daily_figures([pair(1, 1), pair(1, 2), pair(1, 3), pair(1, 4), pair(3, 10)], first_day=first, days=4)
    assert [f.day for f in figures] == [date(2026, 11, d) for d in (1, 2, 3, 4)]
    assert (figures[0].count, figures[0].median, figures[0].p90) == (4, 2.5, pytest.approx(3.7))
    assert figures[1] == DayFigures(date(2026, 11, 2))  # a gap: no figures, not zero
    assert figures[1].median is None and figures[1].p90 is None
    assert (figures[2].count, figures[2].median, figures[2].p90) == (1, 10, 10)
    assert figures[3].count == 0


def test_daily_figures_use_the_local_day(settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13 in November
    with timezone.override("Pacific/Auckland"):
        approved = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)  # 2 Nov, 09:00 in Auckland
        figures = daily_figures([(approved - timedelta(hours=2), approved)], first_day=date(2026, 11, 1), days=2)
    assert [f.count for f in figures] == [0, 1]


# The chart: SVG built from the figures.


def test_scale_top_is_a_round_number_at_or_above_the_highest():
    assert charts.scale_top(0.4) == 1
    assert charts.scale_top(5) == 6
    assert charts.scale_top(24) == 24
    assert charts.scale_top(169) == 336


def test_segments_break_at_days_without_publications():
    figures = [DayFigures(date(2026, 11, d), 1, d, d) for d in (1, 2)]
    figures += [DayFigures(date(2026, 11, 3))]
    figures += [DayFigures(date(2026, 11, d), 1, d, d) for d in (4, 5, 6)]
    assert charts.segments(figures, "median") == [[(0, 1), (1, 2)], [(3, 4), (4, 5), (5, 6)]]


def _figures(values):
    """One DayFigures per value (None for a day without publications), from 1 November."""
    return [
        DayFigures(date(2026, 11, 1) + timedelta(days=i))
        if v is None
        else DayFigures(date(2026, 11, 1) + timedelta(days=i), 2, v, v * 2)
        for i, v in enumerate(values)
    ]


def test_chart_draws_one_line_per_run_of_days_and_no_style_attributes():
    svg = str(charts.turnaround_chart(_figures([1, 2, None, 3, 4, 5, None, 6])))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    # Median and p90 each: two runs of two or more days; the lone last day is a dot only.
    assert len(re.findall(r'<polyline class="chart__line chart__line--median"', svg)) == 2
    assert len(re.findall(r'<polyline class="chart__line chart__line--p90"', svg)) == 2
    assert svg.count('class="chart__day"') == 6
    assert "style=" not in svg and "<script" not in svg
    assert 'role="img"' in svg and 'aria-labelledby="turnaround-title turnaround-desc"' in svg
    assert re.search(r"<title id=\"turnaround-title\">[^<]+</title><desc id=\"turnaround-desc\">[^<]+</desc>", svg)
    assert "12 stories published out of review on 6 of 8 days" in svg


def test_chart_places_higher_hours_higher_up():
    svg = str(charts.turnaround_chart(_figures([1, 4])))
    ys = [float(y) for y in re.findall(r'chart__dot--median" cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[0] > ys[1]  # SVG's y grows downwards


def test_chart_is_empty_without_any_publication():
    assert charts.turnaround_chart(_figures([None, None])) == ""
    assert charts.table_rows(_figures([None, None])) == []


def test_table_rows_list_only_days_with_publications():
    rows = charts.table_rows(_figures([0.5, None, 30]))
    assert [(r["day"], r["count"], r["median"], r["p90"]) for r in rows] == [
        (date(2026, 11, 1), 2, "30 min", "1.0 h"),
        (date(2026, 11, 3), 2, "30.0 h", "2.5 days"),
    ]


# The queries.


@pytest.fixture
def editor():
    return make_user("Editors")


@pytest.fixture
def moderator():
    return make_user("Moderators")


def draft_by(user, **fields) -> Article:
    """A draft written by `user` and saved by them through the workflow."""
    article = make_article(published=False, created_by=user, **fields)
    workflow.article_saved(article=article, user=user)
    return article


def submitted_by(user, **fields) -> Article:
    article = draft_by(user, **fields)
    workflow.article_submit(article=article, user=user)
    return article


def sent_back(user, moderator, comment="Check the figures.", **fields) -> Article:
    article = submitted_by(user, **fields)
    workflow.article_request_changes(article=article, user=moderator, comment=comment)
    return article


def titles(box) -> list[str]:
    return [article.title for article in box.items]


@pytest.mark.django_db
def test_review_turnaround_pairs_each_approval_with_the_latest_submission_before_it(editor, moderator):
    with time_machine.travel(NOW - timedelta(hours=30), tick=False):
        article = submitted_by(editor)
    with time_machine.travel(NOW - timedelta(hours=20), tick=False):
        workflow.article_withdraw(article=article, user=editor)
    with time_machine.travel(NOW - timedelta(hours=10), tick=False):
        workflow.article_submit(article=article, user=editor)
    with time_machine.travel(NOW - timedelta(hours=4), tick=False):
        workflow.article_approve(article=article, user=moderator)
    pairs = dashboard.review_turnarounds(since=NOW - timedelta(days=30))
    assert pairs == [(NOW - timedelta(hours=10), NOW - timedelta(hours=4))]


@pytest.mark.django_db
def test_review_turnaround_leaves_out_direct_approvals_and_older_ones(editor, moderator):
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        old = submitted_by(editor)
        workflow.article_approve(article=old, user=moderator)
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        make_article(created_by=editor)  # published directly, never in review
    assert Transition.objects.filter(action="approve").count() == 2
    assert dashboard.review_turnarounds(since=NOW - timedelta(days=30)) == []


@pytest.mark.django_db
def test_my_drafts_are_those_i_wrote_last_changed_or_submitted(editor, moderator):
    other = make_user("Editors")
    written = draft_by(editor, title="Written by me")
    taken_over = draft_by(other, title="Last changed by me")
    workflow.article_saved(article=taken_over, user=editor)
    draft_by(other, title="Not mine")
    submitted_by(editor, title="Mine but in review")
    board = dashboard.dashboard_for(editor)
    assert set(titles(board.drafts)) == {"Written by me", "Last changed by me"}
    assert written.pk in {a.pk for a in board.drafts.items}


@pytest.mark.django_db
def test_my_drafts_box_reads_at_most_ten_and_says_there_are_more(editor):
    for n in range(11):
        draft_by(editor, title=f"Draft {n}")
    board = dashboard.dashboard_for(editor)
    assert len(board.drafts.items) == 10 and board.drafts.more


@pytest.mark.django_db
def test_sent_back_shows_my_stories_with_the_comment_and_who_asked(editor, moderator):
    sent_back(editor, moderator, comment="Name the second source.", title="Mine, sent back")
    sent_back(make_user("Editors"), moderator, comment="Secret note to someone else", title="Theirs")
    board = dashboard.dashboard_for(editor)
    assert titles(board.sent_back) == ["Mine, sent back"]
    item = board.sent_back.items[0]
    assert item.review_comment == "Name the second source."
    assert item.requested_by == moderator.username


@pytest.mark.django_db
def test_a_resubmitted_story_is_no_longer_sent_back(editor, moderator):
    article = sent_back(editor, moderator)
    workflow.article_submit(article=article, user=editor)
    assert dashboard.dashboard_for(editor).sent_back.items == []


@pytest.mark.django_db
def test_moderators_see_the_whole_queue_oldest_first(editor, moderator):
    with time_machine.travel(NOW - timedelta(hours=5), tick=False):
        submitted_by(make_user("Editors"), title="Waiting longest")
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        submitted_by(editor, title="Waiting an hour")
    board = dashboard.dashboard_for(moderator, now=NOW)
    assert board.moderator
    assert titles(board.review) == ["Waiting longest", "Waiting an hour"]
    assert board.review_count == 2


@pytest.mark.django_db
def test_editors_see_only_their_own_stories_in_review(editor):
    submitted_by(editor, title="Mine in review")
    submitted_by(make_user("Editors"), title="Someone else's")
    board = dashboard.dashboard_for(editor)
    assert not board.moderator
    assert titles(board.review) == ["Mine in review"]
    assert board.review_count == 1


@pytest.mark.django_db
def test_schedule_lists_go_lives_updates_and_expiries_soonest_first(moderator):
    now = timezone.now() + timedelta(minutes=1)  # the go-lives below are made in this minute
    new = make_article(title="New story later", go_live_at=now + timedelta(hours=2))
    expiring = make_article(title="Expiring", expires_at=now + timedelta(hours=3))
    updated = make_article(title="Updated later")
    publish(updated, go_live_at=now + timedelta(hours=1))  # ends the live window then: not an expiry
    make_article(title="Live, no end")
    board = dashboard.dashboard_for(moderator, now=now)
    assert [(item.kind, item.title) for item in board.schedule] == [
        ("update", "Updated later"),
        ("live", "New story later"),
        ("expiry", "Expiring"),
    ]
    assert board.schedule[1].at == new.publication.live_from
    assert board.schedule[2].article_id == expiring.pk


@pytest.mark.django_db
def test_recently_published_and_unpublished_come_from_the_last_seven_days(editor, moderator):
    with time_machine.travel(NOW - timedelta(days=9), tick=False):
        make_article(title="Published long ago")
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        recent = make_article(title="Published this week")
        gone = make_article(title="Taken down")
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        workflow.article_unpublish(article=gone, user=moderator, reason="Legal asked.")
    board = dashboard.dashboard_for(editor, now=NOW)
    assert [step.article.title for step in board.published.items] == ["Taken down", "Published this week"]
    assert [step.article.title for step in board.unpublished.items] == ["Taken down"]
    assert board.published.items[-1].article.pk == recent.pk


# The start page.


@pytest.fixture
def logged_in(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_the_start_page_shows_my_work_linked_and_keeps_the_app_list(logged_in, editor, moderator):
    mine = draft_by(editor, title="My harbour draft")
    back = sent_back(editor, moderator, comment="Add the vote count.", title="Sent back harbour")
    html = logged_in(editor).get("/admin/").content.decode()
    assert f'href="/admin/articles/article/{mine.pk}/change/">My harbour draft</a>' in html
    assert f'href="/admin/articles/article/{back.pk}/change/">Sent back harbour</a>' in html
    assert "Add the vote count." in html
    assert 'href="/admin/articles/article/?mine=1&amp;status__exact=draft"' in html
    assert 'href="/admin/articles/article/?mine=1&amp;changes_requested=1"' in html
    assert 'href="/admin/articles/article/?mine=1&amp;status__exact=in_review"' in html
    assert 'href="/admin/articles/article/"' in html  # the app list: Stories
    assert 'href="/admin/articles/source/"' in html


@pytest.mark.django_db
def test_an_editor_never_sees_another_editors_drafts_or_review_comments(logged_in, editor, moderator):
    other = make_user("Editors")
    draft_by(other, title="Rival draft")
    sent_back(other, moderator, comment="Confidential: the quote is invented.", title="Rival sent back")
    submitted_by(other, title="Rival in review")
    html = logged_in(editor).get("/admin/").content.decode()
    assert "Rival draft" not in html
    assert "Rival sent back" not in html
    assert "Confidential" not in html
    assert "Rival in review" not in html


@pytest.mark.django_db
def test_staff_without_access_to_stories_see_no_story(logged_in, editor, moderator):
    from django.contrib.auth.models import User

    sent_back(editor, moderator, comment="Private note.", title="A sent-back story")
    make_article(title="Scheduled story", go_live_at=timezone.now() + timedelta(hours=1))
    make_article(title="Live story")
    outsider = User.objects.create_user("outsider", password="pw", is_staff=True)
    response = logged_in(outsider).get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "desk" not in response.context or response.context["desk"] is None
    for text in ("A sent-back story", "Private note.", "Scheduled story", "Live story"):
        assert text not in html


@pytest.mark.django_db
def test_a_moderator_sees_the_queue_with_how_long_each_waited(logged_in, editor, moderator):
    with time_machine.travel(timezone.now() - timedelta(hours=3), tick=False):
        story = submitted_by(editor, title="Queued story")
    html = logged_in(moderator).get("/admin/").content.decode()
    assert "Review queue (1 waiting)" in html
    assert f'href="/admin/articles/article/{story.pk}/change/">Queued story</a>' in html
    assert re.search(r"waiting 3\xa0hours", html)
    assert 'href="/admin/articles/article/review-queue/"' in html


@pytest.mark.django_db
def test_titles_and_comments_are_escaped(logged_in, editor, moderator):
    sent_back(editor, moderator, comment="<script>alert('c')</script>", title="<script>alert('t')</script>")
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        make_article(title="<img src=x onerror=alert(1)>", created_by=editor)
    html = logged_in(editor).get("/admin/").content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#x27;c&#x27;)&lt;/script&gt;" in html


@pytest.mark.django_db
def test_the_chart_and_its_table_show_the_last_thirty_days(logged_in, editor, moderator):
    now = timezone.now()
    for days_ago, hours in ((3, 2), (3, 6), (1, 10)):
        with time_machine.travel(now - timedelta(days=days_ago, hours=hours), tick=False):
            article = submitted_by(editor)
        with time_machine.travel(now - timedelta(days=days_ago), tick=False):
            workflow.article_approve(article=article, user=moderator)
    html = logged_in(moderator).get("/admin/").content.decode()
    assert '<svg class="chart"' in html
    assert "3 stories published out of review on 2 of 30 days" in html
    table = html[html.index("<table>", html.index("desk-figures")) :]
    assert "<td>2</td><td>4.0 h</td><td>5.6 h</td>" in table  # median of 2 and 6 hours, p90 5.6
    assert "<td>1</td><td>10.0 h</td><td>10.0 h</td>" in table


@pytest.mark.django_db
def test_the_start_page_writes_nothing(logged_in, editor, moderator):
    sent_back(editor, moderator)
    make_article(title="Later", go_live_at=timezone.now() + timedelta(hours=1))
    client = logged_in(moderator)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/").status_code == 200
    writes = [q["sql"] for q in captured if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I)]
    assert writes == []


def _fill_desk(editor, moderator, first, last):
    """Stories numbered first..last-1 of every kind the dashboard shows."""
    now = timezone.now()
    for i in range(first, last):
        draft_by(editor, title=f"Draft {i}")
        sent_back(editor, moderator, title=f"Sent back {i}")
        submitted_by(editor, title=f"In review {i}")
        make_article(title=f"Scheduled {i}", go_live_at=now + timedelta(hours=i + 1))
        make_article(title=f"Expiring {i}", expires_at=now + timedelta(hours=i + 1))
        gone = make_article(title=f"Gone {i}")
        workflow.article_unpublish(article=gone, user=moderator, reason="Out of date.")
        with time_machine.travel(now - timedelta(days=i % 30, hours=3), tick=False):
            reviewed = submitted_by(editor, title=f"Reviewed {i}")
        with time_machine.travel(now - timedelta(days=i % 30), tick=False):
            workflow.article_approve(article=reviewed, user=moderator)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["editor", "moderator"])
def test_the_start_page_takes_as_many_queries_for_30_stories_as_for_3(
    logged_in, editor, moderator, role, django_assert_max_num_queries
):
    client = logged_in(editor if role == "editor" else moderator)
    _fill_desk(editor, moderator, 0, 3)
    with CaptureQueriesContext(connection) as captured:
        client.get("/admin/")
    few = len(captured)
    _fill_desk(editor, moderator, 3, 30)
    with django_assert_max_num_queries(few):
        response = client.get("/admin/")
    html = response.content.decode()  # the page did read the new stories
    assert ("Review queue (30 waiting)" if role == "moderator" else "My stories in review (30)") in html
    assert "30 stories published out of review on 30 of 30 days" in html


# The story list: badge and filters.


@pytest.mark.django_db
def test_the_story_list_badges_a_draft_sent_back_as_changes_requested(logged_in, editor, moderator):
    sent_back(editor, moderator, title="Sent back story")
    draft_by(editor, title="Plain draft")
    html = logged_in(editor).get("/admin/articles/article/").content.decode()
    assert re.search(r'status-badge--changes-requested">Changes requested</span>', html)
    assert html.count("Changes requested</span>") == 1
    assert 'status-badge--draft">Draft</span>' in html


@pytest.mark.django_db
def test_my_stories_filter_agrees_with_the_dashboard(logged_in, editor, moderator):
    other = make_user("Editors")
    draft_by(editor, title="Written by me")
    taken_over = draft_by(other, title="Last changed by me")
    workflow.article_saved(article=taken_over, user=editor)
    draft_by(other, title="Not mine")
    client = logged_in(editor)
    listed = client.get("/admin/articles/article/?mine=1&status__exact=draft").context["cl"].result_list
    board = dashboard.dashboard_for(editor)
    assert {a.title for a in listed} == set(titles(board.drafts)) == {"Written by me", "Last changed by me"}


@pytest.mark.django_db
def test_changes_requested_filter_lists_drafts_sent_back(logged_in, editor, moderator):
    sent_back(editor, moderator, title="Sent back story")
    draft_by(editor, title="Plain draft")
    resubmitted = sent_back(editor, moderator, title="Resubmitted")
    workflow.article_submit(article=resubmitted, user=editor)
    response = logged_in(moderator).get("/admin/articles/article/?changes_requested=1")
    assert [a.title for a in response.context["cl"].result_list] == ["Sent back story"]


@pytest.mark.django_db
def test_my_stories_and_changes_requested_are_the_first_filters(logged_in, editor):
    response = logged_in(editor).get("/admin/articles/article/")
    titles_in_order = [spec.title for spec in response.context["cl"].filter_specs]
    assert titles_in_order[:2] == ["whose", "review"]
    html = response.content.decode()
    assert html.index("My stories") < html.index("Changes requested") < html.index("By status")


@pytest.mark.django_db
def test_the_start_page_is_valid_html(logged_in, editor, moderator, tmp_path):
    from tests.test_html_valid import vnu_errors

    _fill_desk(editor, moderator, 0, 5)
    for user in (editor, moderator):
        (tmp_path / f"{user.username}.html").write_text(logged_in(user).get("/admin/").content.decode())
    errors = vnu_errors(sorted(tmp_path.glob("*.html")))
    assert [(error["message"], error.get("extract")) for error in errors] == []

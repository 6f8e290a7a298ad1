"""The dashboard's chart, drawn on the server as SVG: hours from submission to publication per
day (median and 90th percentile). No script and no style attributes (the CSP forbids inline
styles): the look comes from classes in static/css/dashboard.css. Every piece of text goes
through format_html, so it is escaped."""

import math

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from articles.dashboard import DayFigures

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 28, 36
# The y axis ends at the first of these (hours) at or above the highest figure, then whole weeks.
SCALE_STEPS = (1, 2, 3, 4, 6, 8, 12, 18, 24, 36, 48, 72, 96, 120, 168)
SERIES = (("median", "median"), ("p90", "90th percentile"))


def scale_top(highest: float) -> float:
    """The top of the y axis in hours: a round number at or above `highest`."""
    for step in SCALE_STEPS:
        if highest <= step:
            return step
    return math.ceil(highest / 168) * 168


def hours_label(hours: float) -> str:
    """Hours for people: "45 min", "3.5 h", "2.1 days"."""
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def segments(figures: list[DayFigures], attribute: str) -> list[list[tuple[int, float]]]:
    """Runs of consecutive days that have a figure, as (day index, value): a day without
    publications breaks the line (a gap, not a zero)."""
    runs, run = [], []
    for index, day in enumerate(figures):
        value = getattr(day, attribute)
        if value is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append((index, value))
    if run:
        runs.append(run)
    return runs


def turnaround_chart(figures: list[DayFigures], *, chart_id: str = "turnaround") -> SafeString:
    """The SVG of `figures` (one per day, oldest first), or "" when no day has any."""
    measured = [day for day in figures if day.count]
    if not measured:
        return mark_safe("")
    top = scale_top(max(day.p90 for day in measured))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / len(figures)

    def x(index: int) -> float:
        return round(LEFT + (index + 0.5) * step, 1)

    def y(hours: float) -> float:
        return round(TOP + plot_height * (1 - hours / top), 1)

    grid = format_html_join(
        "",
        '<line class="chart__grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart__tick" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, y(value), y(value), LEFT - 6, y(value) + 4, hours_label(value) if value else "0")
            for value in (0, top / 2, top)
        ),
    )
    labelled = range(len(figures) - 1, -1, -7)  # today, and a week apart back from it
    days = format_html_join(
        "",
        '<text class="chart__tick" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((x(index), HEIGHT - BOTTOM + 18, f"{figures[index].day:%d %b}") for index in labelled),
    )
    lines = []
    for attribute, _label in SERIES:
        for run in segments(figures, attribute):
            if len(run) > 1:
                points = " ".join(f"{x(index)},{y(value)}" for index, value in run)
                line = '<polyline class="chart__line chart__line--{}" points="{}"/>'
                lines.append(format_html(line, attribute, points))
    dots = format_html_join(
        "",
        '<g class="chart__day"><title>{}</title>'
        '<circle class="chart__dot chart__dot--p90" cx="{}" cy="{}" r="3.5"/>'
        '<circle class="chart__dot chart__dot--median" cx="{}" cy="{}" r="3.5"/></g>',
        (
            (describe_day(day), x(index), y(day.p90), x(index), y(day.median))
            for index, day in enumerate(figures)
            if day.count
        ),
    )
    legend = format_html_join(
        "",
        '<line class="chart__line chart__line--{}" x1="{}" x2="{}" y1="12" y2="12"/>'
        '<text class="chart__legend" x="{}" y="16">{}</text>',
        (
            (attribute, LEFT + 150 * n, LEFT + 150 * n + 24, LEFT + 150 * n + 30, label)
            for n, (attribute, label) in enumerate(SERIES)
        ),
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
        "{}{}{}{}{}</svg>",
        WIDTH,
        HEIGHT,
        chart_id,
        chart_id,
        chart_id,
        f"Hours from submission to publication, {figures[0].day:%d %b} to {figures[-1].day:%d %b}",
        chart_id,
        summary(figures),
        grid,
        days,
        mark_safe("".join(lines)),
        dots,
        legend,
    )


def describe_day(day: DayFigures) -> str:
    stories = "story" if day.count == 1 else "stories"
    return (
        f"{day.day:%a %d %b}: {day.count} {stories}, median {hours_label(day.median)}, "
        f"90th percentile {hours_label(day.p90)}"
    )


def summary(figures: list[DayFigures]) -> str:
    """One sentence saying what the chart shows, for its <desc>."""
    measured = [day for day in figures if day.count]
    stories = sum(day.count for day in measured)
    slowest = max(measured, key=lambda day: day.p90)
    return (
        f"Median and 90th percentile per day. {stories} stor{'y' if stories == 1 else 'ies'} published out of "
        f"review on {len(measured)} of {len(figures)} days; days without publications are gaps. "
        f"Slowest day: {describe_day(slowest)}. The table below lists every figure."
    )


def table_rows(figures: list[DayFigures]) -> list[dict]:
    """The chart's figures as table rows (the days that have any), for readers without the picture."""
    return [
        {"day": day.day, "count": day.count, "median": hours_label(day.median), "p90": hours_label(day.p90)}
        for day in figures
        if day.count
    ]

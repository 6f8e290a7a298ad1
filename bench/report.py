"""For bench/run.py: the targets, the results table and the Markdown report (BENCHMARKS.md).

`cfg` is run.py's SETTINGS: db, duration, connections, threads, warmup, wrk_timeout,
cold_slugs, imports.
"""

from datetime import UTC, datetime

COLUMNS = [
    "Scenario",
    "Req/s",
    "p50 ms",
    "p99 ms",
    "Alone ms",
    "Errors",
    "SQL queries/req",
    "Worker RSS MiB",
    "vs static",
]


def fmt(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(rows: list[dict]) -> str:
    """One line per scenario; "vs static" is requests/s divided by the first (static) row's."""
    static = rows[0]["rps"] or 1
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 1)]
    for r in rows:
        cells = [
            f"{r['label']} ({r['server']})",
            fmt(r["rps"], 1),
            fmt(r["p50"]),
            fmt(r["p99"]),
            fmt(r["alone"]),
            r["errors"],
            r["queries"],
            r["rss"],
            f"{r['rps'] / static:.2f}×",
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def check_targets(cfg: dict, rows: dict, admin: dict, imports: dict) -> list[tuple[bool, str]]:
    static, cached, story = rows["static"], rows["story-cached"], rows["story"]
    checks = [
        (
            cached["rps"] >= 0.5 * static["rps"],
            f"Cached story page ≥ 50% of static throughput: {cached['rps'] / static['rps']:.0%}",
        ),
        (
            story["queries"].isdigit() and int(story["queries"]) <= 3,
            f"Uncached story page ≤ 3 SQL queries: {story['queries']}",
        ),
        (
            story["p99"] is not None and story["p99"] < 50,
            f"Uncached story page (page cache off, as just after a publish) p99 < 50 ms at "
            f"{cfg['connections']} connections: {fmt(story['p99'])} ms (a story's first view, nothing kept "
            f"anywhere: p99 {fmt(rows['story-cold']['p99'])} ms, the cold row)",
        ),
    ]
    # The archive index and the sitemap index too: both must cost the same at any number of stories.
    for r in (rows[key] for key in ("front", "desk", "tag", "search", "feed", "archive", "sitemap")):
        checks.append(
            (
                r["p99"] is not None and r["p99"] < 100 and not r["errors"],
                f"{r['label']} p99 < 100 ms: {fmt(r['p99'])} ms ({r['queries']} SQL queries, "
                f"{r['requests']:,} requests, {r['errors']} errors)",
            )
        )
    checks.append(
        (
            admin["median"] < 300,
            f"Admin story list < 300 ms: median {admin['median']:.0f} ms "
            f"(p95 {admin['p95']:.0f} ms, {admin['queries']} SQL queries)",
        )
    )
    checks.append(
        (
            imports["seconds"] < 30 and imports["created"] == cfg["imports"],
            f"{cfg['imports']:,} imports < 30 s: {imports['seconds']:.1f} s ({imports['created']:,} created)",
        )
    )
    return checks


def parameters(cfg: dict, targets: dict, cold) -> list[str]:
    desk, tag = targets["desk"], targets["tag"]
    return [
        f"Stories: {targets['total']:,} in `{cfg['db']}`, {targets['live']:,} of them live (the rest drafts, "
        f"in review or scheduled), made by `manage.py seed_stories`",
        f"wrk: {cfg['threads']} threads, {cfg['connections']} connections, {cfg['duration']} s per scenario "
        f"after a {cfg['warmup']} s warm-up, {cfg['wrk_timeout']} s request timeout; wrk runs on the same "
        "2 cores as everything else",
        "gunicorn: 2 sync workers, DEBUG=0, psycopg pool, Redis cache; plain HTTP on loopback "
        "(SECURE_SSL_REDIRECT=0, as behind a TLS-terminating proxy)",
        "Server A: page cache on (NEWSROOM_PAGE_CACHE_SECONDS=300); server B: page cache off (0), so every "
        "page is built from a fresh query, as just after a publish; both keep each worker's rendered cards "
        "and story parts per live revision (articles/fragments.py) and each feed under the live revisions it "
        "lists (articles/feeds.py), as in production",
        f"URLs: story `{targets['slugs'][0]}`, desk `{desk['s']}` ({desk['n']:,} live stories), tag "
        f"`{tag['s']}` ({tag['n']:,}), search `?q={targets['word']}` ({targets['word_hits']:,} matches), "
        f"static `{targets['css']}`",
        f"Cache cold: wrk walks {cfg['cold_slugs']:,} other stories in turn (bench/cold.lua), each read "
        "for the first time: neither the page nor its parts are kept anywhere, so its revision is read and "
        "rendered" + (f"; {cold[0]:,} of {cold[1]:,} responses were built, not read from the cache" if cold else ""),
    ]


def notes(cfg: dict, rows: dict) -> list[str]:
    slow = [
        f"- {r['label']}: {r['requests']:,} requests finished in the run; one request alone (before it) "
        f"took {r['first_ms'] / 1000:.1f} s ({r['status']})"
        for r in rows.values()
        if r["requests"] < 10 * cfg["duration"]
    ]
    return [
        "SQL queries/req: X-Query-Count of single requests to the same URL around the run, the smallest "
        "(server B: the page is built; server A: a cache hit; the cold row: a story not cached yet). "
        "Alone ms: the median of 30 single requests one after another after the run (the time one request "
        "takes without waiting behind others; includes the Python client's own time). "
        "Worker RSS: each of the two workers after the scenario. vs static: requests/s against the static "
        "file's. The page targets are checked on server B (every page built, the stricter reading); the "
        "cached rows of server A show the same pages as deployed.",
        *([""] + slow if slow else []),
    ]


def document(
    cfg: dict,
    *,
    minutes: float,
    targets: dict,
    rows: dict,
    machine: list[tuple[str, str]],
    extra: list[str],
    checks: list[tuple[bool, str]],
) -> str:
    """The whole of BENCHMARKS.md."""
    lines = [
        "# Newsroom benchmarks",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, written by `make bench` (bench/run.py); the whole "
        f"run took {minutes:.1f} min.",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in machine),
        "",
        "## Parameters",
        "",
        *(f"- {p}" for p in parameters(cfg, targets, rows["story-cold"]["misses"])),
        "",
        "## Results",
        "",
        table(list(rows.values())),
        "",
        *notes(cfg, rows),
        "",
        "## Admin and import",
        "",
        *(f"- {e}" for e in extra),
        "",
        "## Targets",
        "",
        *(f"- **{'PASS' if ok else 'FAIL'}** {text}" for ok, text in checks),
    ]
    return "\n".join(lines) + "\n"

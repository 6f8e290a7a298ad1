"""Small factories for stories and their parts, and story-format text builders."""

import itertools

from django.contrib.auth.models import Group, User

from articles import workflow
from articles.models import Article, Desk, KeyFact, Point, Section, Source, Take, TakePoint

_counter = itertools.count(1)


def make_source(**fields) -> Source:
    n = next(_counter)
    defaults = {"name": f"Wire {n}", "site": f"wire{n}.example", "credit": f"Please credit Wire {n} when republishing."}
    return Source.objects.create(**{**defaults, **fields})


def make_desk(**fields) -> Desk:
    n = next(_counter)
    return Desk.objects.create(**{"name": f"Desk {n}", "slug": f"desk-{n}", **fields})


def make_user(role: str = "Editors", **fields) -> User:
    """A staff user in one of the roles ("Editors", "Moderators"), or a superuser for "superuser"."""
    n = next(_counter)
    username = fields.pop("username", f"{role.lower()}{n}")
    defaults = {"email": f"{username}@newsroom.example", "is_staff": True}
    if role == "superuser":
        return User.objects.create_superuser(username=username, password="pw", **{**defaults, **fields})
    user = User.objects.create_user(username=username, password="pw", **{**defaults, **fields})
    user.groups.add(Group.objects.get(name=role))
    return user


def publish(article: Article, *, by: User | None = None, **approve_kwargs) -> Article:
    """Record the working copy (as its author, or a new editor) and approve it through the
    workflow (direct publish) as `by`, a moderator: two people, as the four-eyes rule wants."""
    by = by or make_user("Moderators")
    writer = article.created_by if article.created_by_id not in (None, by.pk) else make_user("Editors")
    workflow.article_saved(article=article, user=writer)
    workflow.article_approve(article=article, user=by, direct=True, **approve_kwargs)
    article.refresh_from_db()
    return article


def make_article(*, published: bool = True, parts: bool = True, **fields) -> Article:
    """An article with one of every part; approved and live unless told otherwise."""
    n = next(_counter)
    defaults = {
        "title": f"Harbour Story {n}",
        "slug": f"harbour-story-{n}",
        "lede": "The harbour board voted on Tuesday.",
        "source": fields.pop("source", None) or make_source(),
        "original_url": f"https://wire.example/stories/{n}",
    }
    approve_kwargs = {k: fields.pop(k) for k in ("go_live_at", "expires_at") if k in fields}
    tags = fields.pop("tags", [])
    article = Article.objects.create(**{**defaults, **fields})
    article.tags.add(*tags)
    if parts:
        KeyFact.objects.create(article=article, position=0, label="Vote", text="Seven to two in favour.")
        section = Section.objects.create(
            article=article, position=0, heading="What Was Decided", body="The **board** agreed."
        )
        Point.objects.create(section=section, position=0, label="Cost", text="Four million.")
        take = Take.objects.create(article=article, title="The Desk's Take")
        TakePoint.objects.create(take=take, position=0, kind="why_it_matters", text="Ferries run later.")
    if published:
        publish(article, **approve_kwargs)
    return article


def story_text(
    *,
    title="Tidal Power Comes to the Harbour",
    lede=("The harbour board approved three tidal turbines on Tuesday.",),
    facts_heading="Key Facts About the Turbines",
    facts=(("Capacity", "Three megawatts in total."), ("Schedule", "Work starts in May.")),
    sections=(("Why the Harbour Chose Tides", ("Tides are predictable.",), "", ()),),
    take_title="The Desk's Take",
    take=(("🔥", "Why This Matters", "Predictable power is rare."),),
    source="📌 Source: Harbour Wire (harbour.example)",
    original="🔗 Original: https://harbour.example/stories/tidal?ref=rss&utm=1",
    credit="⚠️ Please credit Harbour Wire when republishing.",
) -> str:
    """Build story-format text; each section is (heading, paragraphs, points heading, points)."""
    lines = [title, *lede]
    if facts_heading:
        lines.append(facts_heading)
        lines += [f"- {label}: {text}" for label, text in facts]
    for heading, paragraphs, points_heading, points in sections:
        lines.append(heading)
        lines += list(paragraphs)
        if points_heading:
            lines.append(points_heading)
        lines += [f"- {label}: {text}" if label else f"- {text}" for label, text in points]
    if take_title:
        lines.append(take_title)
        lines += [f"- {emoji} {kind}: {text}" for emoji, kind, text in take]
    lines += [line for line in (source, original, credit) if line]
    return "\n".join(lines) + "\n"

"""A story's attribution: what readers must see with it (the source and its site, the
original URL, the source's credit condition), what a story lacks of it, and how an edit of a
shared Source reads in its stories' history. The workflow refuses to submit or approve a
story that lacks any of it."""

from articles.models import Article


def missing_attribution(article: Article) -> list[str]:
    """What the story lacks of the attribution readers must see with it: "source", "original
    URL", "credit condition" (kept on the source); empty when it has all three."""
    source = article.source if article.source_id else None
    missing = [] if source else ["source"]
    if not (article.original_url or "").strip():
        missing.append("original URL")
    if source is None or not source.credit.strip():
        missing.append("credit condition")
    return missing


def attribution_refusal(article: Article, doing: str = "published") -> str | None:
    """Why the story cannot be `doing` (submitted, approved) for want of attribution, or None."""
    missing = missing_attribution(article)
    if not missing:
        return None
    listed = [f"no {what}" for what in missing]
    listed = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    if article.source_id and "credit condition" in missing:
        listed += f" (its source “{article.source.name}” has none)"
    return (
        f"“{article.title}” cannot be {doing}: it has {listed}. Readers must see the source, the original URL "
        "and the source's credit condition with every story; add what is missing under Attribution."
    )


SOURCE_FIELDS = ("name", "site", "credit")


def source_change_note(before: dict, source) -> str:
    """The history note for a Source edit, e.g. 'Source “X” changed: credit “a” → “b”' ('' if none)."""

    def shown(value: str) -> str:
        return f"“{value[:90]}{'…' if len(value) > 90 else ''}”" if value else "(none)"

    changes = [
        f"{field} {shown(before[field])} → {shown(getattr(source, field))}"
        for field in SOURCE_FIELDS
        if before[field] != getattr(source, field)
    ]
    return f"Source “{before['name'][:60]}” changed: " + "; ".join(changes) if changes else ""

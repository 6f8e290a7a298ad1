"""Readable differences between two snapshots of a story, line by line."""

import difflib
from dataclasses import dataclass

from articles.storyformat import TAKE_KINDS


@dataclass(frozen=True)
class DiffLine:
    op: str  # "same", "added" or "removed"
    text: str


def snapshot_lines(data: dict) -> list[str]:
    """The story as labelled lines of plain text, in reading order."""
    lines = [f"Title: {data['title']}", f"Slug: {data['slug']}", f"Byline: {data['byline']}"]
    lines.append(f"Desk: {data['desk']['name'] if data.get('desk') else ''}")
    lines.append("Tags: " + ", ".join(tag["name"] for tag in data.get("tags", [])))
    lines += [f"Lede: {line}" for line in data["lede"].splitlines() if line.strip()]
    image = data.get("image")
    lines += [
        f"Image: {image['name'] if image else ''}",
        f"Image alt: {data['image_alt']}",
        f"Image credit: {data['image_credit']}",
    ]
    lines.append(f"Key facts: {data['key_facts_heading']}")
    lines += [f"  - {f['label']}: {f['text']}" for f in data["key_facts"]]
    for section in data["sections"]:
        lines.append(f"Section: {section['heading']}")
        lines += [f"  {line}" for line in section["body"].splitlines() if line.strip()]
        if section["points_heading"]:
            lines.append(f"  Points: {section['points_heading']}")
        lines += [f"  - {p['label'] + ': ' if p['label'] else ''}{p['text']}" for p in section["points"]]
    take = data.get("take")
    if take:
        lines.append(f"Take: {take['title']}")
        lines += [f"  - {TAKE_KINDS[p['kind']][1]}: {p['text']}" for p in take["points"]]
    source = data.get("source")
    lines.append(f"Source: {source['name']} ({source['site']}) — {source['credit']}" if source else "Source:")
    lines.append(f"Original: {data['original_url']}")
    return lines


def snapshot_diff(old: dict, new: dict) -> list[DiffLine]:
    """Every line of both versions, marked as unchanged, added in `new`, or removed from `old`."""
    a, b = snapshot_lines(old), snapshot_lines(new)
    result = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            result += [DiffLine("same", line) for line in a[i1:i2]]
            continue
        result += [DiffLine("removed", line) for line in a[i1:i2]]
        result += [DiffLine("added", line) for line in b[j1:j2]]
    return result

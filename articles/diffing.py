"""Readable differences between two snapshots of a story: line by line, and word by word
inside a line that was changed rather than replaced."""

import difflib
import re
from dataclasses import dataclass

from articles.storyformat import TAKE_KINDS

# Lines changed less than this (difflib's similarity ratio) are shown with the changed words
# marked; below it the two lines have little in common and are shown as removed and added.
WORD_DIFF_MIN_RATIO = 0.4


@dataclass(frozen=True)
class StoryLine:
    """One line of a story as plain text: "Title: …", or a list item such as a key fact."""

    text: str
    bullet: bool = False  # an item of the story's own lists (key facts, points, take points)
    nested: bool = False  # belongs to the section or block above it


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool = False  # a word removed from (or added to) its paired line


@dataclass(frozen=True)
class DiffLine:
    op: str  # "same", "added" or "removed"
    line: StoryLine
    segments: tuple[Segment, ...] = ()  # the words, when the line is paired with its changed version

    @property
    def text(self) -> str:
        return self.line.text

    @property
    def bullet(self) -> bool:
        return self.line.bullet

    @property
    def nested(self) -> bool:
        return self.line.nested


def snapshot_lines(data: dict) -> list[StoryLine]:
    """The story as labelled lines of plain text, in reading order."""
    lines = [StoryLine(text) for text in (f"Title: {data['title']}", f"Slug: {data['slug']}")]
    lines.append(StoryLine(f"Byline: {data['byline']}"))
    lines.append(StoryLine(f"Desk: {data['desk']['name'] if data.get('desk') else ''}"))
    lines.append(StoryLine("Tags: " + ", ".join(tag["name"] for tag in data.get("tags", []))))
    lines += [StoryLine(f"Lede: {line}") for line in data["lede"].splitlines() if line.strip()]
    image = data.get("image")
    lines += [
        StoryLine(f"Image: {image['name'] if image else ''}"),
        StoryLine(f"Image alt: {data['image_alt']}"),
        StoryLine(f"Image credit: {data['image_credit']}"),
    ]
    lines.append(StoryLine(f"Key facts: {data['key_facts_heading']}"))
    lines += [StoryLine(f"{f['label']}: {f['text']}", bullet=True) for f in data["key_facts"]]
    for section in data["sections"]:
        lines.append(StoryLine(f"Section: {section['heading']}"))
        lines += [StoryLine(line, nested=True) for line in section["body"].splitlines() if line.strip()]
        if section["points_heading"]:
            lines.append(StoryLine(f"Points: {section['points_heading']}", nested=True))
        lines += [
            StoryLine(f"{p['label'] + ': ' if p['label'] else ''}{p['text']}", bullet=True, nested=True)
            for p in section["points"]
        ]
    take = data.get("take")
    if take:
        lines.append(StoryLine(f"Take: {take['title']}"))
        lines += [StoryLine(f"{TAKE_KINDS[p['kind']][1]}: {p['text']}", bullet=True) for p in take["points"]]
    source = data.get("source")
    credited = f"{source['name']} ({source['site']}) — {source['credit']}" if source else ""
    lines.append(StoryLine(f"Source: {credited}".rstrip()))
    lines.append(StoryLine(f"Original: {data['original_url']}"))
    return lines


def _words(text: str) -> list[str]:
    """Words and the spaces and punctuation between them, which join back into `text`."""
    return re.findall(r"\w+|\s+|[^\w\s]", text)


def _joined(tokens: list[str], changed: bool) -> list[Segment]:
    return [Segment("".join(tokens), changed)] if tokens else []


def word_diff(old: str, new: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]] | None:
    """The two lines as segments with the removed (in `old`) and added (in `new`) words
    marked, or None when they share too little for that to help."""
    a, b = _words(old), _words(new)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    if matcher.ratio() < WORD_DIFF_MIN_RATIO:
        return None
    before, after = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        before += _joined(a[i1:i2], op != "equal")
        after += _joined(b[j1:j2], op != "equal")
    return tuple(before), tuple(after)


def _changed_block(old: list[StoryLine], new: list[StoryLine]) -> list[DiffLine]:
    """A run of removed lines and the run that replaced it: removed first, then added, with
    the words marked in lines that pair up (the first with the first, and so on)."""
    removed = [DiffLine("removed", line) for line in old]
    added = [DiffLine("added", line) for line in new]
    for index, (was, now) in enumerate(zip(old, new, strict=False)):
        words = word_diff(was.text, now.text)
        if words:
            removed[index] = DiffLine("removed", was, words[0])
            added[index] = DiffLine("added", now, words[1])
    return removed + added


def snapshot_diff(old: dict, new: dict) -> list[DiffLine]:
    """Every line of both versions, marked as unchanged, added in `new`, or removed from `old`."""
    a, b = snapshot_lines(old), snapshot_lines(new)
    result = []
    matcher = difflib.SequenceMatcher(a=[line.text for line in a], b=[line.text for line in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            result += [DiffLine("same", line) for line in a[i1:i2]]
        else:
            result += _changed_block(a[i1:i2], b[j1:j2])
    return result

"""The plain-text story format (see story-format.md) parsed into plain dataclasses.

No database in here: `parse()` turns text into a `StoryData`, and `articles.importing`
saves it. Every refusal is a `StoryFormatError` carrying the line number it is about.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from articles.validators import control_character_error, host_name_error

VS16 = "\ufe0f"  # emoji variation selector, present or not in real files

TAKE_KINDS = {
    # kind: (emoji, label as written in stories)
    "why_it_matters": ("🔥", "Why This Matters"),
    "limitations": ("⚠️", "Limitations & Risks"),
    "advice": ("💡", "Actionable Advice"),
}
_TAKE_KIND_BY_LABEL = {label.lower(): kind for kind, (_, label) in TAKE_KINDS.items()}
_TAKE_KIND_BY_EMOJI = {emoji.replace(VS16, ""): kind for kind, (emoji, _) in TAKE_KINDS.items()}

_SOURCE_LINE = re.compile(r"^📌\s*Source\s*:\s*(?P<name>.+?)\s*(?:\((?P<site>[^()]*)\))?\s*$")
_ORIGINAL_LINE = re.compile(r"^🔗\s*Original\s*:\s*(?P<url>.*?)\s*$")
_CREDIT_LINE = re.compile(r"^⚠\ufe0f?\s*(?P<credit>Please credit\b.*?)\s*$", re.IGNORECASE)
_TAKE_HEADING = re.compile(r"^.{1,80}['’]s Take$")
_TAKE_POINT = re.compile(r"^(?P<emoji>[^\w\s]{1,3})?\s*(?P<label>[^:]{1,40}?)\s*:\s*(?P<text>.+)$")
_BULLET = re.compile(r"^[-–•]\s+(?P<text>.*)$")
# Lines end at LF or CR LF, as editors count them; any other control character but a tab
# (a lone CR, a vertical tab, a NUL...) is a stray one, refused with its line.
_LINE_END = re.compile(r"\r?\n")
_STRAY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")  # and the CJK full-width ones
_CLOSING_QUOTES = ('"', "”", "'", "’", "»", "」", "』")
_SMALL_WORDS = {
    "a",
    "an",
    "and",
    "as",
    "at",
    "but",
    "by",
    "for",
    "from",
    "in",
    "into",
    "is",
    "nor",
    "of",
    "on",
    "or",
    "over",
    "per",
    "the",
    "to",
    "up",
    "via",
    "vs",
    "vs.",
    "with",
}
MAX_LABEL_WORDS = 6
# Longest value of each line-sized field (the database columns use the same limits).
LIMITS = {
    "title": 300,
    "key facts heading": 200,
    "label": 200,
    "section heading": 300,
    "points heading": 300,
    "take title": 200,
    "source name": 200,
    "source site": 200,
    "original URL": 500,
    "credit": 300,
}


class StoryFormatError(ValueError):
    """A story file that cannot be imported; `line` is 1-based, or None for the whole file."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class Item:
    """A labelled line: a key fact, a pillar point (label may be empty)."""

    label: str
    text: str


@dataclass
class SectionData:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    points_heading: str = ""
    points: list[Item] = field(default_factory=list)


@dataclass
class TakePointData:
    kind: str
    text: str

    @property
    def label(self) -> str:
        """The kind as a story writes it, with its emoji: "🔥 Why This Matters"."""
        return " ".join(TAKE_KINDS[self.kind])


@dataclass
class StoryData:
    title: str
    lede: list[str] = field(default_factory=list)
    key_facts_heading: str = ""
    key_facts: list[Item] = field(default_factory=list)
    sections: list[SectionData] = field(default_factory=list)
    take_title: str = ""
    take_points: list[TakePointData] = field(default_factory=list)
    source_name: str = ""
    source_site: str = ""
    original_url: str = ""
    credit: str = ""


@dataclass
class _Line:
    number: int
    text: str


def _is_title_case(text: str) -> bool:
    words = [w for w in re.split(r"\s+", text) if w]
    significant = [w for w in words if w.lower() not in _SMALL_WORDS]
    if not significant:
        return False
    capitalised = [w for w in significant if not w[0].isalpha() or w[0].isupper()]
    return len(capitalised) / len(significant) >= 0.75


def is_paragraph(text: str) -> bool:
    """A paragraph ends a sentence; a heading is a short title-case line without one.

    Headings may end in '?' ("What Does It Mean for Shippers?"), so a question counts as a
    heading when it is short and in title case.
    """
    end = text.rstrip(")]")
    if end.endswith(_CLOSING_QUOTES):
        before = end.rstrip("".join(_CLOSING_QUOTES))
        return before.endswith(_SENTENCE_END) or not _looks_like_heading(text)
    if end.endswith("?"):
        return not _looks_like_heading(text)
    return end.endswith(_SENTENCE_END)


def _looks_like_heading(text: str) -> bool:
    return len(text.split()) <= 16 and _is_title_case(text)


def _fit(text: str, what: str, line: int) -> str:
    """Refuse a value longer than its column, or holding a tab or other control character (the
    field is one line), naming it and its line."""
    if len(text) > LIMITS[what]:
        raise StoryFormatError(f"the {what} is {len(text)} characters long; at most {LIMITS[what]} fit", line)
    if problem := control_character_error(text):
        raise StoryFormatError(f"the {what}: {problem[0].lower()}{problem[1:]}", line)
    return text


def _bullet_text(line: _Line) -> str | None:
    match = _BULLET.match(line.text)
    return match.group("text").strip() if match else None


def split_label(text: str, *, required: bool) -> Item:
    """Split "Label: text" at the first ": "; a long or sentence-like prefix is not a label."""
    label, sep, rest = text.partition(": ")
    if sep and label.strip() and rest.strip():
        label = label.strip()
        if required or (len(label.split()) <= MAX_LABEL_WORDS and not label.endswith(_SENTENCE_END)):
            return Item(label=label, text=rest.strip())
    return Item(label="", text=text.strip())


def _parse_take_point(text: str, line: int) -> TakePointData:
    match = _TAKE_POINT.match(text)
    if match:
        kind = _TAKE_KIND_BY_LABEL.get(match.group("label").strip().lower())
        emoji = (match.group("emoji") or "").replace(VS16, "").strip()
        if kind is None and emoji:
            kind = _TAKE_KIND_BY_EMOJI.get(emoji)
        if kind:
            return TakePointData(kind=kind, text=match.group("text").strip())
    kinds = ", ".join(f"{e} {label}" for e, label in TAKE_KINDS.values())
    raise StoryFormatError(f"take point must start with one of: {kinds} (got {text[:60]!r})", line)


def _validate_url(url: str, line: int) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise StoryFormatError(f"original URL must be an absolute http(s) address, got {url!r}", line)
    return url


def _lines(text: str) -> list[_Line]:
    text = text.removeprefix("\ufeff")
    lines = []
    for number, raw in enumerate(_LINE_END.split(text), start=1):
        line = _Line(number, raw.strip())
        if stray := _STRAY_CONTROL.search(line.text):
            column = len(raw) - len(raw.lstrip()) + stray.start() + 1
            raise StoryFormatError(
                f"a control character ({_control_name(stray.group())}) at character {column}: "
                "remove it (lines end with a line feed only)",
                number,
            )
        lines.append(line)
    return lines


def _control_name(character: str) -> str:
    return {"\r": "carriage return", "\x0b": "vertical tab", "\x0c": "form feed", "\x00": "NUL"}.get(
        character, f"U+{ord(character):04X}"
    )


# What a few binary files start with, to say what an upload is rather than "not UTF-8".
_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or a Word/OpenDocument file)",
    b"\xd0\xcf\x11\xe0": "an old Office document",
    b"RIFF": "a media file",
}


def decode(data: bytes) -> str:
    """A story file's bytes as text (UTF-8, with or without a byte-order mark), or a
    StoryFormatError saying what the file is instead, with the line of the first bad byte."""
    for signature, what in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise StoryFormatError(f"the file is not text: it looks like {what}; a story file is UTF-8 plain text", 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StoryFormatError(
            f"the file is not UTF-8 text (byte {error.start}); save it as UTF-8 plain text", line
        ) from None


def parse(text: str) -> StoryData:
    """Parse one story file's text into a StoryData, or raise StoryFormatError."""
    lines = [line for line in _lines(text) if line.text]
    if not lines:
        raise StoryFormatError("the file has no title (it is empty)", 1)
    first = lines[0]
    if _bullet_text(first) is not None or first.text.startswith(("📌", "🔗")):
        raise StoryFormatError("the file has no title: the first line must be the headline", first.number)
    story = StoryData(title=_fit(first.text, "title", first.number))
    rest = lines[1:]
    if rest and rest[0].text == story.title:
        rest = rest[1:]  # the headline repeated under the page title

    seen: dict[str, int] = {}
    section: SectionData | None = None
    in_take = False
    in_key_facts = False
    footer_started = False

    def remember(name: str, line: _Line) -> None:
        if name in seen:
            raise StoryFormatError(f"a second {name} line (the first is on line {seen[name]})", line.number)
        seen[name] = line.number

    for index, line in enumerate(rest):
        text = line.text
        nxt = rest[index + 1] if index + 1 < len(rest) else None
        next_is_bullet = nxt is not None and _bullet_text(nxt) is not None

        if match := _SOURCE_LINE.match(text):
            remember("'📌 Source:'", line)
            story.source_name = _fit(match.group("name").strip(), "source name", line.number)
            story.source_site = _fit((match.group("site") or "").strip(), "source site", line.number)
            if problem := host_name_error(story.source_site):
                raise StoryFormatError(problem, line.number)
            footer_started = True
            continue
        if match := _ORIGINAL_LINE.match(text):
            remember("'🔗 Original:'", line)
            story.original_url = _fit(_validate_url(match.group("url"), line.number), "original URL", line.number)
            footer_started = True
            continue
        if match := _CREDIT_LINE.match(text):
            remember("'⚠️ Please credit'", line)
            story.credit = _fit(match.group("credit").strip(), "credit", line.number)
            footer_started = True
            continue
        if footer_started:
            raise StoryFormatError(f"text after the source attribution lines: {text[:60]!r}", line.number)

        bullet = _bullet_text(line)
        if bullet is not None:
            if not bullet:
                raise StoryFormatError("an empty bullet", line.number)
            if in_take:
                story.take_points.append(_parse_take_point(bullet, line.number))
            elif in_key_facts:
                fact = split_label(bullet, required=True)
                if not fact.label:
                    raise StoryFormatError(
                        f"a key fact needs a label: '- Label: text' (got {bullet[:60]!r})", line.number
                    )
                _fit(fact.label, "label", line.number)
                story.key_facts.append(fact)
            elif section is not None:
                point = split_label(bullet, required=False)
                _fit(point.label, "label", line.number)
                section.points.append(point)
            else:
                raise StoryFormatError("a bullet before any heading", line.number)
            continue

        if _TAKE_HEADING.match(text) and not is_paragraph(text):
            if in_take:
                raise StoryFormatError("a second take heading", line.number)
            story.take_title = _fit(text, "take title", line.number)
            in_take, in_key_facts, section = True, False, None
            continue

        if in_take:
            raise StoryFormatError(
                f"the take holds only '- <emoji> <Kind>: text' points, got {text[:60]!r}", line.number
            )

        if is_paragraph(text):
            if in_key_facts:
                raise StoryFormatError(
                    "a paragraph inside the key facts; start a section with a heading first",
                    line.number,
                )
            if section is None:
                story.lede.append(text)
            elif section.points:
                raise StoryFormatError(
                    "a paragraph after the section's points; start a new section with a heading",
                    line.number,
                )
            else:
                section.paragraphs.append(text)
            continue

        # A heading: key facts, a section's points heading, or a new section.
        if (
            not story.key_facts_heading
            and not story.sections
            and section is None
            and (next_is_bullet or text.lower().startswith("key facts"))
        ):
            story.key_facts_heading = _fit(text, "key facts heading", line.number)
            in_key_facts = True
            continue
        in_key_facts = False
        if next_is_bullet and section is not None and not section.points and not section.points_heading:
            section.points_heading = _fit(text, "points heading", line.number)
            continue
        section = SectionData(heading=_fit(text, "section heading", line.number))
        story.sections.append(section)

    end = lines[-1].number  # missing lines are reported at the end of the file
    if "'📌 Source:'" not in seen:
        raise StoryFormatError("missing the '📌 Source: <Publication> (<site>)' line", end)
    if "'🔗 Original:'" not in seen:
        raise StoryFormatError("missing the '🔗 Original: <URL>' line", end)
    if story.key_facts_heading and not story.key_facts:
        raise StoryFormatError("the key facts heading has no '- Label: text' lines under it", end)
    return story


def write(story: StoryData) -> str:
    """The story as story-format text: the inverse of `parse` (see `articles.exporting`, which
    checks that the text reads back as the same story)."""
    lines = [story.title, *story.lede]
    if story.key_facts_heading or story.key_facts:
        lines.append(story.key_facts_heading)
        lines += [f"- {fact.label}: {fact.text}" for fact in story.key_facts]
    for section in story.sections:
        lines += [section.heading, *section.paragraphs]
        if section.points_heading:
            lines.append(section.points_heading)
        lines += [f"- {point.label}: {point.text}" if point.label else f"- {point.text}" for point in section.points]
    if story.take_title or story.take_points:
        lines.append(story.take_title)
        for point in story.take_points:
            emoji, label = TAKE_KINDS[point.kind]
            lines.append(f"- {emoji} {label}: {point.text}")
    site = f" ({story.source_site})" if story.source_site else ""
    lines.append(f"📌 Source: {story.source_name}{site}")
    lines.append(f"🔗 Original: {story.original_url}")
    if story.credit:
        lines.append(f"⚠️ {story.credit}")
    return "\n".join(lines) + "\n"

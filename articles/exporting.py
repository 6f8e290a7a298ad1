"""Stories out as story-format text: the working copy (what the editor sees) as a StoryData,
written by `storyformat.write`, and checked to read back as the same story.

A story the format cannot hold as it stands (a lede paragraph without a full stop reads
back as a heading, a label holding ": ", a section that would swallow the next one's
heading...) is refused with what would change and where: an export is a promise that
importing it gives the same story. Markdown formatting (bold, links, lists) in a lede or
section body is the one loss that is allowed, with a warning: the format is plain text, so
such a paragraph is written as readers read it.
"""

import io
import zipfile
from dataclasses import dataclass, field

from articles.models import Article
from articles.snapshots import article_snapshot
from articles.storyformat import Item, SectionData, StoryData, StoryFormatError, TakePointData, parse, write
from articles.text import markdown_to_paragraphs


class ExportRefused(Exception):
    """A story that would not read back as the same story; `problems` say what and where."""

    def __init__(self, article: Article, problems: list[str]):
        self.article = article
        self.problems = problems
        self.message = f"“{article.title}” cannot be written as a story file: " + "; ".join(problems)
        super().__init__(self.message)


@dataclass
class StoryExport:
    article: Article
    text: str
    warnings: list[str] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"{self.article.slug}.txt"


def _paragraphs(markdown: str, where: str, warnings: list[str]) -> list[str]:
    paragraphs = markdown_to_paragraphs(markdown)
    for number, (_, exact) in enumerate(paragraphs, start=1):
        if not exact:
            warnings.append(f"{where}, paragraph {number}: its formatting (Markdown) is dropped; the text is kept")
    return [text for text, _ in paragraphs]


def story_data(data: dict) -> tuple[StoryData, list[str]]:
    """A snapshot (e.g. `article_snapshot`) as the StoryData the story format holds, and
    warnings for what the format cannot hold (formatting)."""
    warnings: list[str] = []
    source = data.get("source") or {}
    take = data.get("take")
    story = StoryData(
        title=data["title"],
        lede=_paragraphs(data["lede"], "the lede", warnings),
        key_facts_heading=data["key_facts_heading"],
        key_facts=[Item(label=f["label"], text=f["text"]) for f in data["key_facts"]],
        sections=[
            SectionData(
                heading=s["heading"],
                paragraphs=_paragraphs(s["body"], f"section {n} “{s['heading']}”", warnings),
                points_heading=s["points_heading"],
                points=[Item(label=p["label"], text=p["text"]) for p in s["points"]],
            )
            for n, s in enumerate(data["sections"], start=1)
        ],
        take_title=take["title"] if take else "",
        take_points=[TakePointData(kind=p["kind"], text=p["text"]) for p in take["points"]] if take else [],
        source_name=source.get("name", ""),
        source_site=source.get("site", ""),
        original_url=data["original_url"],
        credit=source.get("credit", ""),
    )
    return story, warnings


def _short(value) -> str:
    if isinstance(value, Item):
        return f"label {_short(value.label)}, text {_short(value.text)}" if value.label else _short(value.text)
    if isinstance(value, TakePointData):
        value = f"{value.label}: {value.text}"
    elif isinstance(value, SectionData):
        value = value.heading
    text = f"“{value}”"
    return text if len(text) <= 80 else text[:78] + "…”"


def _differences(written: StoryData, read: StoryData) -> list[str]:
    """Where the text read back differs from the story written, block by block (the first
    difference in each part: later ones usually follow from it)."""
    problems = []

    def compare(what: str, mine, theirs) -> None:
        if mine == theirs:
            return
        if not isinstance(mine, list):
            problems.append(f"{what} {_short(mine)} would read back as {_short(theirs)}")
            return
        for number, (one, other) in enumerate(zip([*mine, None], [*theirs, None], strict=False), start=1):
            if one != other:
                if one is None:
                    problems.append(f"{what}: an extra one would read back, {_short(other)}")
                elif other is None:
                    problems.append(f"{what} {number}, {_short(one)}, would be lost")
                elif isinstance(one, SectionData) and one.heading == other.heading:
                    compare(f"section {number} {_short(one)}: its paragraphs", one.paragraphs, other.paragraphs)
                    compare(
                        f"section {number} {_short(one)}: its points heading", one.points_heading, other.points_heading
                    )
                    compare(f"section {number} {_short(one)}: its points", one.points, other.points)
                else:
                    problems.append(f"{what} {number}, {_short(one)}, would read back as {_short(other)}")
                return

    compare("the title", written.title, read.title)
    compare("the lede paragraph", written.lede, read.lede)
    compare("the key facts heading", written.key_facts_heading, read.key_facts_heading)
    compare("key fact", written.key_facts, read.key_facts)
    compare("section", written.sections, read.sections)
    compare("the take title", written.take_title, read.take_title)
    compare("take point", written.take_points, read.take_points)
    for name in ("source_name", "source_site", "original_url", "credit"):
        compare(f"the {name.replace('_', ' ')}", getattr(written, name), getattr(read, name))
    return problems


def _stripped(story: StoryData) -> StoryData:
    """The story as the format can hold it at best: each line-sized value without the spaces
    around it (the parser strips them)."""
    strip = str.strip
    return StoryData(
        title=strip(story.title),
        lede=[strip(p) for p in story.lede],
        key_facts_heading=strip(story.key_facts_heading),
        key_facts=[Item(strip(f.label), strip(f.text)) for f in story.key_facts],
        sections=[
            SectionData(
                strip(s.heading),
                [strip(p) for p in s.paragraphs],
                strip(s.points_heading),
                [Item(strip(p.label), strip(p.text)) for p in s.points],
            )
            for s in story.sections
        ],
        take_title=strip(story.take_title),
        take_points=[TakePointData(p.kind, strip(p.text)) for p in story.take_points],
        source_name=strip(story.source_name),
        source_site=strip(story.source_site),
        original_url=strip(story.original_url),
        credit=strip(story.credit),
    )


def story_check(story: StoryData) -> tuple[str, list[str]]:
    """The story's text and what would not read back the same (empty when it round-trips)."""
    story = _stripped(story)
    text = write(story)
    missing = [
        what for what, value in (("source", story.source_name), ("original URL", story.original_url)) if not value
    ]
    if missing:  # a story file must name them: say so, rather than what the parser makes of the gap
        return text, [f"it has no {' and no '.join(missing)}; add {'them' if len(missing) > 1 else 'it'} first"]
    try:
        read = parse(text)
    except StoryFormatError as error:
        return text, [f"the written file would be refused (line {error.line}: {error.message})"]
    return text, _differences(story, read)


def article_export(article: Article) -> StoryExport:
    """The story's working copy as story-format text, or ExportRefused saying what would not
    read back the same."""
    story, warnings = story_data(article_snapshot(article))
    text, problems = story_check(story)
    if problems:
        raise ExportRefused(article, problems)
    return StoryExport(article=article, text=text, warnings=warnings)


def exports_zip(exports: list[StoryExport]) -> bytes:
    """A .zip archive of the stories' files, one `<slug>.txt` each."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for export in exports:
            archive.writestr(export.filename, export.text.encode("utf-8"))
    return buffer.getvalue()

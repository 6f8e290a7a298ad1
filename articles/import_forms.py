"""The forms behind the admin's import: the upload (files or pasted text), the stories'
text carried from the preview to the confirm, and the editor's choices for new drafts;
and the preview of each story (parsed, checked by the importer's own rules, not saved)."""

from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from taggit.forms import TagField

from articles.importing import ImportPlan, NewStoryFields, import_plans
from articles.models import Desk
from articles.storyformat import StoryData, StoryFormatError, decode, parse
from articles.validators import no_control_characters

MAX_FILES = 50
MAX_STORY_BYTES = 1024 * 1024  # a story is about 10 KB; a megabyte is not a story
PASTED = "Pasted text"
# The preview carries every story's text back in its form, which must fit the request size
# the settings allow (DATA_UPLOAD_MAX_MEMORY_SIZE), with room for the rest of the form.
_FORM_ROOM = 64 * 1024

# How the admin names the importer's options in its refusals (the command line names flags).
ADMIN_OPTIONS = {"overwrite": "“Replace newsroom changes”", "update_source": "“Update the stored source”"}


def text_budget() -> int | None:
    """How many bytes of story text one import may carry (None: the settings set no limit)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else max(limit - _FORM_ROOM, 0)


def _form_bytes(text: str) -> int:
    # Browsers send each line end as CR LF: one more byte per line than the file had.
    return len(text.encode("utf-8")) + text.count("\n")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file input that takes several files; cleans to a list of uploads."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(upload, initial) for upload in data]
        return [clean_one(data, initial)] if data else []


@dataclass
class Entry:
    """One story to import: its name (the file's, or "Pasted text"), its text, and why it
    could not be read (then it has no text and is never imported)."""

    name: str
    text: str = ""
    unreadable: str = ""
    line: int | None = None


class ImportUploadForm(forms.Form):
    files = MultipleFileField(
        required=False,
        label="Story files",
        help_text=f"One or several .txt files in the story format, up to {MAX_FILES} at a time.",
    )
    text = forms.CharField(
        required=False,
        strip=False,
        label="Or paste a story",
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80, "spellcheck": "false"}),
        help_text="The text of one story file, from its headline to its ⚠️ credit line.",
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                f"{len(files)} files were chosen; one import takes at most {MAX_FILES}. Import them in batches."
            )
        return files

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        entries = [_read_upload(upload) for upload in cleaned.get("files", [])]
        if cleaned.get("text", "").strip():
            entries.append(Entry(name=PASTED, text=cleaned["text"]))
        if not entries:
            raise forms.ValidationError("Choose one or more story files, or paste a story's text.")
        budget = text_budget()
        total = sum(_form_bytes(entry.text) for entry in entries)
        if budget is not None and total > budget:
            raise forms.ValidationError(
                f"Together these stories are {filesizeformat(total)}; one import carries at most "
                f"{filesizeformat(budget)}. Import them in smaller batches."
            )
        cleaned["entries"] = entries
        return cleaned


def _read_upload(upload) -> Entry:
    name = upload.name[:255]
    if upload.size > MAX_STORY_BYTES:
        return Entry(
            name=name,
            unreadable=f"the file is {filesizeformat(upload.size)}; a story file is at most "
            f"{filesizeformat(MAX_STORY_BYTES)}",
        )
    try:
        return Entry(name=name, text=decode(upload.read()))
    except StoryFormatError as error:
        return Entry(name=name, unreadable=error.message, line=error.line)


class StoryTextForm(forms.Form):
    """One story's text, carried from the preview to the confirm (and checked again there)."""

    name = forms.CharField(max_length=255, widget=forms.HiddenInput)
    text = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    unreadable = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    line = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def entry(self) -> Entry:
        data = self.cleaned_data
        return Entry(name=data["name"], text=data["text"], unreadable=data["unreadable"], line=data["line"])


StoryTextFormSet = forms.formset_factory(
    StoryTextForm, extra=0, min_num=1, validate_min=True, max_num=MAX_FILES + 1, absolute_max=MAX_FILES + 1
)
# One more than the files: a paste may come with them.


def entries_formset(entries: list[Entry]):
    return StoryTextFormSet(
        prefix="story",
        initial=[{"name": e.name, "text": e.text, "unreadable": e.unreadable, "line": e.line} for e in entries],
    )


class ImportChoicesForm(forms.Form):
    """What the editor gives the new drafts (updates keep their story's own), and the
    importer's two options."""

    desk = forms.ModelChoiceField(
        queryset=Desk.objects.order_by("name"),
        required=False,
        empty_label="— no desk —",
        help_text="For the new drafts; a story that is updated keeps its own desk, byline and tags.",
    )
    byline = forms.CharField(required=False, max_length=200, validators=[no_control_characters])
    tags = TagField(required=False, help_text="Separated by commas.")
    overwrite = forms.BooleanField(
        required=False,
        label="Replace newsroom changes",
        help_text="Update a known story even if someone changed it since its last import (the history keeps "
        "their version).",
    )
    update_source = forms.BooleanField(
        required=False,
        label="Update the stored source",
        help_text="Let a file's site and credit line replace the stored source's (recorded in the history of "
        "every story using it).",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.has_perm("articles.change_source"):
            del self.fields["update_source"]

    def options(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {"overwrite": bool(data.get("overwrite")), "update_source": bool(data.get("update_source"))}

    def new_story(self) -> NewStoryFields:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return NewStoryFields(desk=data.get("desk"), byline=data.get("byline", ""), tags=data.get("tags") or [])


@dataclass
class StoryPreview:
    """One story as the importer would take it now."""

    entry: Entry
    story: StoryData | None = None
    error: str = ""
    error_line: int | None = None
    plan: ImportPlan | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def refusal(self) -> str:
        return getattr(self.plan.refusal, "message", str(self.plan.refusal)) if self.plan and self.plan.refusal else ""

    @property
    def importable(self) -> bool:
        return self.story is not None and not self.refusal


def story_previews(entries: list[Entry], *, user, options: dict, new_story: NewStoryFields) -> list[StoryPreview]:
    """Parse each entry and check it with the importer's rules (nothing is written)."""
    previews = []
    for entry in entries:
        if entry.unreadable:
            previews.append(StoryPreview(entry=entry, error=entry.unreadable, error_line=entry.line))
            continue
        try:
            previews.append(StoryPreview(entry=entry, story=parse(entry.text)))
        except StoryFormatError as error:
            previews.append(StoryPreview(entry=entry, error=error.message, error_line=error.line))
    parsed = [preview for preview in previews if preview.story is not None]
    plans = import_plans(stories=[p.story for p in parsed], user=user, options=ADMIN_OPTIONS, **options)
    for preview, plan in zip(parsed, plans, strict=True):
        preview.plan = plan
        preview.warnings = _warnings(preview.story, plan, new_story)
    return previews


def _warnings(story: StoryData, plan: ImportPlan, new_story: NewStoryFields) -> list[str]:
    warnings = []
    if plan.created:
        if new_story.desk is None:
            warnings.append("No desk: choose one below, or give it one on the story's page.")
        if not new_story.byline:
            warnings.append("No byline: type one below, or add it on the story's page.")
        if not new_story.tags:
            warnings.append("No tags: add some below, or on the story's page.")
    elif plan.replaces_edits and not plan.refusal:
        warnings.append(f"Replaces newsroom changes: {plan.replaces_edits}.")
    if plan.source_changes and not plan.refusal:
        changed = " and ".join("credit" if column == "credit" else "site" for column in plan.source_changes)
        warnings.append(f"Replaces the stored source “{story.source_name}”'s {changed}, for every story using it.")
    return warnings

"""Import and export in the story admin: upload or paste story files, preview them block by
block, confirm; and download stories as story-format text (one .txt, or a .zip of several).

Every rule is the importer's (`articles.importing.story_save`, as `import_story` runs it)
and the exporter's (`articles.exporting`); these views only ask and show.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import content_disposition_header

from articles import exporting
from articles.admin_views import _article
from articles.import_forms import (
    ADMIN_OPTIONS,
    Entry,
    ImportChoicesForm,
    ImportUploadForm,
    StoryTextFormSet,
    entries_formset,
    story_previews,
)
from articles.importing import ImportRefused, story_save
from articles.models import Article
from articles.storyformat import StoryFormatError, parse
from articles.workflow import WorkflowError

MAX_EXPORT = 200  # stories per download: each is read part by part
TEMPLATES = "admin/articles/article/"


def _page(model_admin, request, template: str, title: str, **context) -> TemplateResponse:
    return TemplateResponse(
        request,
        TEMPLATES + template,
        {**model_admin.admin_site.each_context(request), "opts": Article._meta, "title": title, **context},
    )


def import_view(model_admin, request):
    """Upload or paste story files (step 1), preview them (step 2), import them (step 3).

    The stories' text travels in the preview's form and is parsed and checked again when
    the import is confirmed: nothing the preview showed is trusted.
    """
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    step = request.POST.get("step") if request.method == "POST" else None
    if step in ("check", "import"):
        stories = StoryTextFormSet(request.POST, prefix="story")
        choices = ImportChoicesForm(request.POST, user=request.user)
        if stories.is_valid() and choices.is_valid() and step == "import":
            return _import(model_admin, request, [form.entry() for form in stories.forms], choices)
        if not stories.is_valid():  # a forged or truncated form: nothing to show but start again
            messages.error(request, "The stories' text did not arrive whole; upload or paste them again.")
            return HttpResponseRedirect(reverse("admin:articles_article_import"))
        return _preview(model_admin, request, stories, choices)
    upload = ImportUploadForm(request.POST or None, request.FILES or None)
    if step == "preview" and upload.is_valid():
        entries = upload.cleaned_data["entries"]
        return _preview(model_admin, request, entries_formset(entries), ImportChoicesForm(user=request.user))
    return _page(model_admin, request, "import.html", "Import stories", form=upload)


def _preview(model_admin, request, stories, choices) -> TemplateResponse:
    entries = [form.entry() if stories.is_bound else _initial_entry(form) for form in stories.forms]
    options, new_story = choices.options(), choices.new_story()
    previews = story_previews(entries, user=request.user, options=options, new_story=new_story)
    importable = sum(preview.importable for preview in previews)
    return _page(
        model_admin,
        request,
        "import_preview.html",
        "Import stories: preview",
        previews=previews,
        stories=stories,
        choices=choices,
        importable=importable,
        refused=len(previews) - importable,
    )


def _initial_entry(form) -> Entry:
    return Entry(**form.initial)


def _import(model_admin, request, entries, choices) -> TemplateResponse:
    """Import each story on its own (one transaction each), through the importer's one path."""
    options, new_story = choices.options(), choices.new_story()
    results = []
    for entry in entries:
        result = {"name": entry.name, "article": None, "created": False, "refusal": ""}
        try:
            if entry.unreadable:
                raise StoryFormatError(entry.unreadable, entry.line)
            story = parse(entry.text)
            saved = story_save(story=story, user=request.user, new_story=new_story, options=ADMIN_OPTIONS, **options)
        except StoryFormatError as error:
            result["refusal"] = f"line {error.line}: {error.message}" if error.line else error.message
        except (ImportRefused, WorkflowError) as error:
            result["refusal"] = error.message
        else:
            result.update(article=saved.article, created=saved.created, note=saved.source_note)
        results.append(result)
    done = [r for r in results if r["article"]]
    if done:
        messages.success(request, f"Imported {len(done)} of {len(results)} stor{'y' if len(results) == 1 else 'ies'}.")
    if len(done) < len(results):
        messages.error(request, f"{len(results) - len(done)} not imported; see why below.")
    return _page(model_admin, request, "import_result.html", "Import stories: done", results=results)


def _download(content: bytes | str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _text_download(export: exporting.StoryExport) -> HttpResponse:
    return _download(export.text.encode("utf-8"), export.filename, "text/plain; charset=utf-8")


def _warn(request, export: exporting.StoryExport) -> None:
    for warning in export.warnings:
        messages.warning(request, f"“{export.article.title}”: {warning}.")


def export_view(model_admin, request, object_id):
    """The story's working copy as a story file (`<slug>.txt`)."""
    article = _article(model_admin, request, object_id)
    try:
        export = exporting.article_export(article)
    except exporting.ExportRefused as refusal:
        messages.error(request, refusal.message + ". Change the story so that it fits the story format, then export.")
        return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))
    _warn(request, export)
    return _text_download(export)


def export_selected(model_admin, request, queryset):
    """Download the selected stories: one `<slug>.txt`, or a .zip of them."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    articles = list(queryset.select_related("source", "desk")[: MAX_EXPORT + 1])
    if len(articles) > MAX_EXPORT:
        messages.error(request, f"At most {MAX_EXPORT} stories can be downloaded at once; select fewer.")
        return None
    exports = []
    for article in articles:
        try:
            exports.append(exporting.article_export(article))
        except exporting.ExportRefused as refusal:
            messages.error(request, f"Not downloaded: {refusal.message}.")
    for export in exports:
        _warn(request, export)
    if not exports:
        return None
    if len(articles) == 1:
        return _text_download(exports[0])
    return _download(exporting.exports_zip(exports), "stories.zip", "application/zip")


export_selected.short_description = "Download as text"
export_selected.allowed_permissions = ("view",)

"""The editors' screens: one change page edits a story and all its parts, with the
workflow's buttons; the workflow screens themselves are in admin_views."""

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import models, transaction
from django.db.models import Count, Exists, F, OuterRef, Value
from django.forms.models import BaseModelFormSet
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

import articles.admin_tasks  # noqa: F401 - the task results' pages (django-tasks-db's, extended)
from articles import admin_filters, admin_import, admin_views, attribution, publications, widgets, workflow
from articles.forms import ArticleAdminForm, SourceAdminForm
from articles.media import release_on_commit
from articles.models import Article, Desk, KeyFact, Point, Publication, Section, Source, Take, TakePoint
from articles.storyformat import TAKE_KINDS
from articles.uploads import discard_pending

# Rows being moved or deleted are parked this far up while a formset saves, so that the
# unique (parent, position) constraints never see two rows at one position mid-save.
_PARKING_OFFSET = 1_000_000


class StoryPartFormSet(nested_admin.formsets.NestedInlineFormSet):
    """Edits only this parent's own rows: each posted row id must name one of them.

    nested_admin looks posted ids up among every row of the model (so that a row dragged to
    another parent moves with it), which let a forged row change, move in or delete another
    story's part. Here a loaded row names one of this parent's rows, once; an added row
    names none; anything else is a form error, so the whole change form saves nothing.
    """

    def get_queryset(self):
        # Django's lookup, the rows of this parent (BaseInlineFormSet filters the queryset
        # by it), instead of nested_admin's lookup of whichever ids were posted.
        return BaseModelFormSet.get_queryset(self)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # Django's id field accepts any row of the model, and nested_admin saves an added
        # row over the row its id names.
        loaded = index is not None and index < self.initial_form_count()
        form.fields[self._pk_field.name].queryset = (
            self.get_queryset() if loaded else self.model._default_manager.none()
        )

    def clean(self):
        super().clean()
        # Checked on the posted ids, not on the id fields' errors: formsets skip the errors
        # of rows marked for deletion, and nested_admin those of rows it shows read-only.
        refusals, seen = [], set()
        for index, form in enumerate(self.forms):
            refusal = self._refusal(form, index, seen)
            if refusal:
                refusals.append(refusal)
        if refusals:
            raise ValidationError(refusals)

    def _refusal(self, form, index, seen: set) -> str:
        """Why this row's posted id is refused, or "" when it is not."""
        raw = form[self._pk_field.name].data
        if raw in (None, ""):
            return ""
        try:
            pk = self._get_to_python(self._pk_field)(raw)
        except ValidationError:
            pk = None
        part = self.model._meta.verbose_name
        if pk is None or self._existing_object(pk) is None:
            parent_meta = self.fk.related_model._meta
            parent, parents = (
                ("story", "stories")
                if self.fk.related_model is Article
                else (parent_meta.verbose_name, parent_meta.verbose_name_plural)
            )
            named = f"{part.capitalize()} {pk}" if pk is not None else f"A {part}"
            return (
                f"{named} does not belong to this {parent}; nothing was saved. Parts cannot be moved "
                f"between {parents}: delete the {part} where it is and add it where it should be."
            )
        if index >= self.initial_form_count() or pk in seen:
            return (
                f"{part.capitalize()} {pk} was sent twice; nothing was saved. Reload the page and make "
                f"the change again."
            )
        seen.add(pk)
        return ""

    # A last guard where rows are written, should a save ever run without validation.

    def save_existing(self, form, obj, commit=True):
        self._require_own(obj)
        return super().save_existing(form, obj, commit)

    def delete_existing(self, obj, commit=True):
        self._require_own(obj)
        super().delete_existing(obj, commit)

    def _require_own(self, obj):
        if self._existing_object(obj.pk) is None:
            raise SuspiciousOperation(f"{self.model.__name__} {obj.pk} is not a row of {self.instance!r}.")


class OrderedInlineFormSet(StoryPartFormSet):
    """Keeps (parent, position) unique while rows are reordered, added and deleted.

    nested_admin renumbers positions 0..n-1 from the order on the page, so duplicate
    positions in the submitted data are an ordering to resolve, not an error.
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # Tabular rows show their labels only as column headers: name each input for
        # screen readers, e.g. "Key fact 2: label".
        row = f"{self.model._meta.verbose_name.capitalize()} {index + 1}" if index is not None else "New row"
        for name, field in form.fields.items():
            field.widget.attrs.setdefault("aria-label", f"{row}: {field.label or name}")

    def save(self, commit=True):
        parent = getattr(self, "parent_form", None)
        if parent is not None and parent.parent_formset._should_delete_form(parent):
            # Deleting the parent row deletes these rows; saving them would re-create orphans.
            self.changed_objects, self.deleted_objects, self.new_objects = [], [], []
            return []
        return super().save(commit)

    def process_forms_pre_save(self, forms):
        forms = super().process_forms_pre_save(forms)
        field = self.sortable_field_name
        moving = []
        for form in forms:
            if not form._is_initial or form.instance.pk is None:
                continue
            if self._should_delete_form(form) or field in form.changed_data:
                moving.append(form.instance.pk)
        if moving:
            self.model.objects.filter(pk__in=moving).update(**{field: F(field) + _PARKING_OFFSET})
        return forms


class OrderedInlineForm(forms.ModelForm):
    """Leaves the position out of uniqueness checks: the formset renumbers on save."""

    def _get_validation_exclusions(self):
        return {*super()._get_validation_exclusions(), "position"}


def _story_of(obj):
    """The story an inline's parent object belongs to (an Article, Section or Take)."""
    if obj is None or isinstance(obj, Article):
        return obj
    return getattr(obj, "article", None)


class LockedWithStoryMixin:
    """A story's parts are locked exactly when the story is (in review, archived)."""

    def _editable(self, request, obj):
        story = _story_of(obj)
        return story is None or story.pk is None or workflow.can_edit(story, request.user)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._editable(request, obj)


class OrderedInlineMixin(LockedWithStoryMixin):
    """Rows ordered by dragging: the position is a hidden input that nested_admin's script
    renumbers 0..n-1 from the order on the page."""

    form = OrderedInlineForm
    formset = OrderedInlineFormSet
    sortable_field_name = "position"
    extra = 0

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == self.sortable_field_name:
            kwargs["widget"] = forms.HiddenInput()
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# Labels and points are one line each; words count towards the story's word count.
ONE_LINE = {models.CharField: {"widget": widgets.OneLineInput}, models.TextField: {"widget": widgets.OneLineInput}}
ONE_LINE_COUNTED = {
    models.CharField: {"widget": widgets.OneLineInput(words=True)},
    models.TextField: {"widget": widgets.OneLineInput(words=True)},
}


class KeyFactInline(OrderedInlineMixin, nested_admin.NestedTabularInline):
    model = KeyFact
    fields = ["label", "text", "position"]
    formfield_overrides = ONE_LINE


class PointInline(OrderedInlineMixin, nested_admin.NestedTabularInline):
    model = Point
    fields = ["label", "text", "position"]
    verbose_name = "point"
    formfield_overrides = ONE_LINE_COUNTED


class SectionInline(OrderedInlineMixin, nested_admin.NestedStackedInline):
    model = Section
    fields = [("heading", "points_heading"), "body", "position"]
    inlines = [PointInline]
    formfield_overrides = {models.TextField: {"widget": widgets.ParagraphsInput}}


class TakePointForm(OrderedInlineForm):
    """A take point's kind, shown as readers see it: with its emoji."""

    kind = forms.ChoiceField(
        choices=[("", "Choose a kind…"), *((kind, f"{emoji} {label}") for kind, (emoji, label) in TAKE_KINDS.items())]
    )


class TakePointInline(OrderedInlineMixin, nested_admin.NestedTabularInline):
    model = TakePoint
    form = TakePointForm
    fields = ["kind", "text", "position"]
    verbose_name = "take point"
    formfield_overrides = ONE_LINE_COUNTED


class TakeFormSet(StoryPartFormSet):
    """The story's one Take. A Take exists only with points: a blank one saves nothing, it is
    written with its first point, and removing its last point removes it (ArticleAdmin.save_related).
    A title typed without any point is refused, rather than dropped."""

    def clean(self):
        super().clean()
        for form in self.forms:
            if form.instance.pk is None and form.has_changed() and not _has_points(form):
                raise ValidationError(
                    "The take has a title but no points: add at least one point (🔥 Why This Matters, "
                    "⚠️ Limitations & Risks or 💡 Actionable Advice), or put the title back to leave the "
                    "story without a take."
                )


def _has_points(form) -> bool:
    """Whether a take form's nested points hold a row that will be saved."""
    for points in getattr(form, "nested_formsets", []):
        for point in points.forms:
            if point.has_changed() and not point.data.get(point.add_prefix("DELETE")):
                return True
    return False


class TakeInline(LockedWithStoryMixin, nested_admin.NestedStackedInline):
    """One fixed block, never added twice or deleted as a whole. A story without a Take gets
    the blank block from the page's script (static/js/story-form.js), as "Add" would, so the
    posted form is the one a browser sends and the part-scope checks see no phantom row."""

    model = Take
    formset = TakeFormSet
    fields = ["title"]
    inlines = [TakePointInline]
    max_num = 1
    extra = 0
    can_delete = False
    verbose_name = "take"
    verbose_name_plural = "The desk's take (🔥 Why This Matters · ⚠️ Limitations & Risks · 💡 Actionable Advice)"


class PublicationFilter(admin.SimpleListFilter):
    title = "publication"
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return [
            ("live", "Live now"),
            ("scheduled", "Scheduled"),
            ("changes", "Live, with unpublished changes"),
            ("offline", "Not on the site"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        mine = Publication.objects.filter(article=OuterRef("pk"))
        if self.value() == "live":
            return queryset.filter(Exists(mine.current(now)))
        if self.value() == "scheduled":
            return queryset.filter(Exists(mine.scheduled(now))).exclude(Exists(mine.current(now)))
        if self.value() == "changes":
            return queryset.filter(Exists(mine.current(now)), has_unpublished_changes=True)
        if self.value() == "offline":
            return queryset.exclude(Exists(mine.current(now)))
        return queryset


@admin.register(Article)
class ArticleAdmin(nested_admin.NestedModelAdmin):
    form = ArticleAdminForm
    list_display = ["title", "status_badge", "desk", "source", "tag_list", "live_column", "updated_at"]
    list_filter = [
        admin_filters.MineFilter,
        admin_filters.ChangesRequestedFilter,
        "status",
        PublicationFilter,
        "desk",
        "source",
        "tags",
    ]
    actions = [admin_import.export_selected]
    list_select_related = ["desk", "source"]
    search_fields = ["title", "slug", "lede", "byline", "original_url", "source__name"]
    ordering = ["-updated_at"]
    list_per_page = 50
    show_full_result_count = False  # counting 100,000 stories twice per page is the slow part
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["source", "desk"]
    readonly_fields = [
        "source_attribution",
        "status_badge",
        "live_column",
        "submitted_by",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": [("title", "slug"), "lede", ("byline", "desk", "tags"), "opened_version"]}),
        ("Attribution", {"fields": [("source", "original_url"), "source_attribution"]}),
        ("Hero image", {"fields": ["image", ("image_alt", "image_credit")]}),
        (
            "Workflow",
            {
                "classes": ["collapse"],
                "fields": [
                    ("status_badge", "live_column"),
                    ("submitted_by", "created_by", "updated_by"),
                    ("created_at", "updated_at"),
                ],
            },
        ),
        # Last, so that the heading sits right above the key facts it heads.
        ("Key facts", {"fields": ["key_facts_heading"]}),
    ]
    inlines = [KeyFactInline, SectionInline, TakeInline]

    class Media:
        css = {"all": ["css/admin.css"]}
        js = ["js/story-form.js"]

    def get_queryset(self, request):
        # Each story's standing with readers, read in the list's own query (publications.State).
        now = timezone.now()
        queryset = super().get_queryset(request).prefetch_related("tags")
        return queryset.annotate(state_now=Value(now), **publications.state_annotations(now))

    @admin.display(description="tags")
    def tag_list(self, obj):
        return ", ".join(sorted(tag.name for tag in obj.tags.all()))

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        label = obj.status_label()
        if obj.status == Article.Status.DRAFT and obj.review_comment:
            # A draft a moderator sent back: "Changes requested", with the rest of the label.
            label = "Changes requested" + label.removeprefix(obj.get_status_display())
            return format_html(
                '<span class="status-badge status-badge--draft status-badge--changes-requested">{}</span>', label
            )
        return format_html('<span class="status-badge status-badge--{}">{}</span>', obj.status, label)

    @admin.display(description="as readers will see it")
    def source_attribution(self, obj):
        return widgets.source_panel(obj.source if obj is not None and obj.source_id else None)

    def view_on_site(self, obj):
        """Only a live story has a public page; a draft has Preview instead."""
        return obj.get_absolute_url() if obj.is_live else None

    @admin.display(description="on the site", ordering="open_from")
    def live_column(self, obj):
        state = publications.state_of(obj)
        if state.open_from is None:
            if not state.ever_started:
                return "—"
            return "Unpublished" if obj.status == Article.Status.ARCHIVED else "Expired"
        when = timezone.localtime(state.open_from).strftime("%Y-%m-%d %H:%M")
        if state.is_scheduled:
            return format_html('<strong class="scheduled">Scheduled: goes live {}</strong>', when)
        if state.update_from is not None:
            update = timezone.localtime(state.update_from).strftime("%Y-%m-%d %H:%M")
            return format_html('Live since {} · <strong class="scheduled">update goes live {}</strong>', when, update)
        return f"Live since {when}"

    # Permissions: the workflow decides when a story may be edited.

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or workflow.can_edit(obj, request.user)

    # Saving: who did it, and a revision of every save.

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields and "widget" not in kwargs:
            kwargs["widget"] = widgets.NamedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using"), placeholder=f"Choose a {db_field.verbose_name}…"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user  # a class built for this request: the kept image is scoped to them
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if form.is_bound:
            form.keep_image_for_retry()
        sources = {
            str(pk): {"site": site, "credit": credit}
            for pk, site, credit in Source.objects.values_list("pk", "site", "credit")
        }
        context["source_attributions"] = sources
        context["part_errors"] = len(context.get("errors") or []) > len(form.errors)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        if change and "image" in form.changed_data:  # cleared or replaced: the old objects go, unless shown
            release_on_commit(Article.objects.filter(pk=obj.pk).values_list("image", flat=True).first())
        super().save_model(request, obj, form, change)
        if form.used_pending:
            name = form.used_pending
            transaction.on_commit(lambda: discard_pending.enqueue(name))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A Take without points is no Take (TakeFormSet): one emptied by this save goes.
        Take.objects.filter(article=form.instance, points__isnull=True).delete()
        workflow.article_saved(article=form.instance, user=request.user)

    # The change page: workflow buttons and the state of the story.

    def change_view(self, request, object_id, form_url="", extra_context=None):
        article = self.get_object(request, object_id)
        extra = {}
        if article is not None:
            if not workflow.can_edit(article, request.user) and request.method == "GET":
                messages.info(request, workflow.edit_refusal(article, request.user))
            extra = {
                "workflow_actions": workflow.available_actions(article, request.user),
                "status_label": article.status_label(),
                "approved": publications.approved(article.pk),
                "now": timezone.now(),
                **admin_views.change_page_context(article, request.user),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def history_view(self, request, object_id, extra_context=None):
        return admin_views.history_view(self, request, object_id)

    def changelist_view(self, request, extra_context=None):
        waiting = Article.objects.filter(status=Article.Status.IN_REVIEW).count()
        return super().changelist_view(request, {"review_waiting": waiting, **(extra_context or {})})

    def get_urls(self):
        wrap = self.admin_site.admin_view

        def view(func):
            return wrap(lambda request, *args, **kwargs: func(self, request, *args, **kwargs))

        return [
            path("review-queue/", view(admin_views.review_queue_view), name="articles_article_review_queue"),
            path("import/", view(admin_import.import_view), name="articles_article_import"),
            path("<path:object_id>/export/", view(admin_import.export_view), name="articles_article_export"),
            path(
                "<path:object_id>/transition/<slug:action>/",
                view(admin_views.transition_view),
                name="articles_article_transition",
            ),
            path("<path:object_id>/preview/", view(admin_views.preview_view), name="articles_article_preview"),
            path("<path:object_id>/share/", view(admin_views.share_view), name="articles_article_share"),
            path(
                "<path:object_id>/share/revoke/",
                view(admin_views.share_revoke_view),
                name="articles_article_share_revoke",
            ),
            path("<path:object_id>/revisions/<int:number>/", view(admin_views.diff_view), name="articles_article_diff"),
            path(
                "<path:object_id>/revisions/<int:number>/restore/",
                view(admin_views.restore_view),
                name="articles_article_restore",
            ),
            *super().get_urls(),
        ]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    list_display = ["name", "site", "credit", "story_count"]
    search_fields = ["name", "site"]

    def save_model(self, request, obj, form, change):
        """Save the source, and record the change in the history of every story using it
        (readers keep the credit approved with each live version)."""
        before = None
        if change:
            before = Source.objects.select_for_update().filter(pk=obj.pk).values(*attribution.SOURCE_FIELDS).first()
        super().save_model(request, obj, form, change)
        if before:
            count = workflow.source_changed(source=obj, before=before, user=request.user)
            if count:
                messages.info(
                    request,
                    f"The change is recorded in the history of {count} "
                    f"stor{'y' if count == 1 else 'ies'} using “{obj.name}”; live ones show it "
                    "as unpublished changes until a new version is approved.",
                )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(story_count=Count("articles")).order_by("name")

    @admin.display(description="stories", ordering="story_count")
    def story_count(self, obj):
        return obj.story_count


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

"""The editors' screens: one change page edits a story and all its parts."""

import nested_admin
from django import forms
from django.contrib import admin
from django.db.models import Count, F
from django.utils import timezone

from articles.models import Article, Desk, KeyFact, Point, Section, Source, Take, TakePoint

# Rows being moved or deleted are parked this far up while a formset saves, so that the
# unique (parent, position) constraints never see two rows at one position mid-save.
_PARKING_OFFSET = 1_000_000


class OrderedInlineFormSet(nested_admin.formsets.NestedInlineFormSet):
    """Keeps (parent, position) unique while rows are reordered, added and deleted.

    nested_admin renumbers positions 0..n-1 from the order on the page, so duplicate
    positions in the submitted data are an ordering to resolve, not an error.
    """

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


class OrderedInlineMixin:
    form = OrderedInlineForm
    formset = OrderedInlineFormSet
    sortable_field_name = "position"
    extra = 0


class KeyFactInline(OrderedInlineMixin, nested_admin.NestedTabularInline):
    model = KeyFact
    fields = ["label", "text", "position"]


class PointInline(OrderedInlineMixin, nested_admin.NestedTabularInline):
    model = Point
    fields = ["label", "text", "position"]
    verbose_name = "point"


class SectionInline(OrderedInlineMixin, nested_admin.NestedStackedInline):
    model = Section
    fields = ["heading", "body", "points_heading", "position"]
    inlines = [PointInline]


class TakePointInline(OrderedInlineMixin, nested_admin.NestedTabularInline):
    model = TakePoint
    fields = ["kind", "text", "position"]
    verbose_name = "take point"


class TakeInline(nested_admin.NestedStackedInline):
    model = Take
    fields = ["title"]
    inlines = [TakePointInline]
    max_num = 1
    extra = 0
    verbose_name_plural = "take"


@admin.register(Article)
class ArticleAdmin(nested_admin.NestedModelAdmin):
    list_display = ["title", "status", "desk", "source", "tag_list", "published_at", "updated_at"]
    list_filter = ["status", "desk", "source", "tags"]
    list_select_related = ["desk", "source"]
    search_fields = ["title", "slug", "lede", "byline", "original_url", "source__name"]
    date_hierarchy = "created_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["source", "desk"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "lede", "byline", "desk", "tags", "status", "published_at"]}),
        ("Hero image", {"fields": ["image", "image_alt", "image_credit"]}),
        ("Attribution", {"fields": ["source", "original_url"]}),
        ("Key facts", {"fields": ["key_facts_heading"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [KeyFactInline, SectionInline, TakeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="tags")
    def tag_list(self, obj):
        return ", ".join(sorted(tag.name for tag in obj.tags.all()))

    def save_model(self, request, obj, form, change):
        # Until the review workflow exists, publishing is setting the status here.
        if obj.status == Article.Status.PUBLISHED and obj.published_at is None:
            obj.published_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "credit", "story_count"]
    search_fields = ["name", "site"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(story_count=Count("articles"))

    @admin.display(description="stories", ordering="story_count")
    def story_count(self, obj):
        return obj.story_count


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

"""The story list's filters for a person's own work: "My stories" and "Changes requested"."""

from django.contrib import admin


class MineFilter(admin.SimpleListFilter):
    title = "whose"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("1", "My stories")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(created_by=request.user)
        return queryset


class ChangesRequestedFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "changes_requested"

    def lookups(self, request, model_admin):
        return [("1", "Changes requested")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(status="draft").exclude(review_comment="")
        return queryset

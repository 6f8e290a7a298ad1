"""The story list's filters for a person's own work: "My stories" and "Changes requested".

Both are the dashboard's own conditions (articles.dashboard), so a box's "see all" link and
the filtered list agree."""

from django.contrib import admin

from articles import dashboard


class MineFilter(admin.SimpleListFilter):
    title = "whose"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("1", "My stories")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(dashboard.mine(request.user))
        return queryset


class ChangesRequestedFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "changes_requested"

    def lookups(self, request, model_admin):
        return [("1", "Changes requested")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(dashboard.changes_requested())
        return queryset

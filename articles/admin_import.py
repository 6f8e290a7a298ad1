"""Import and export in the admin (being built: issue 15 parts 1 and 2)."""

from django.http import Http404


def import_view(model_admin, request):
    raise Http404("Not built yet.")


def export_view(model_admin, request, object_id):
    raise Http404("Not built yet.")


def export_selected(model_admin, request, queryset):
    raise Http404("Not built yet.")


export_selected.short_description = "Download as text"

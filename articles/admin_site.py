"""The newsroom's admin site: Django's, with a per-person dashboard as its start page."""

from django.contrib import admin

from articles import charts, dashboard


class NewsroomAdminSite(admin.AdminSite):
    index_template = "admin/dashboard.html"

    def index(self, request, extra_context=None):
        """The start page: the person's desk (articles.dashboard), with the app list beside it;
        only the app list for someone who may not see stories."""
        context = {"title": "Your desk"}
        if dashboard.can_see_stories(request.user):
            desk = dashboard.dashboard_for(request.user)
            context |= {
                "desk": desk,
                "chart": charts.turnaround_chart(desk.turnaround),
                "chart_rows": charts.table_rows(desk.turnaround),
            }
        return super().index(request, {**context, **(extra_context or {})})

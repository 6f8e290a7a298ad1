"""The newsroom's admin site: Django's, with a per-person dashboard as its start page
(being built: issue 15 part 4)."""

from django.contrib import admin


class NewsroomAdminSite(admin.AdminSite):
    pass

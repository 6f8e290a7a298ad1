"""The readers' side."""

from django.urls import path

from articles import views

app_name = "articles"

urlpatterns = [
    path("", views.front_page, name="front"),
    path("articles/<slug:slug>/", views.article_detail, name="detail"),
    path("preview/<str:token>/", views.shared_preview, name="shared_preview"),
]

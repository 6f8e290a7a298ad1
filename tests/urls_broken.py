"""URLs for the friendly-500 test: the real ones, with the front page looked up at call time."""

from django.urls import include, path

from articles import views


def front(request):
    return views.front_page(request)


urlpatterns = [path("", front), path("", include("newsroom.urls"))]

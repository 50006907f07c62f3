from django.contrib import admin
from django.urls import include, path

from apps.api.main import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("", include("apps.core.urls")),
    path("", include("apps.projects.urls")),
    path("", include("apps.prompts.urls")),
    path("", include("apps.curricula.urls")),
    path("", include("apps.runs.urls")),
    path("", include("apps.review.urls")),
    path("", include("apps.compare.urls")),
    path("", include("apps.sharing.urls")),
]

from django.urls import path

from apps.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("health/workers/", views.health_workers, name="health-workers"),
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
]

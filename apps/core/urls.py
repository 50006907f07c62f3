from django.urls import path

from apps.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/skills/new/", views.skill_new, name="skill_new"),
]

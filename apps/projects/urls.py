from django.urls import path

from apps.projects import views

app_name = "projects"

urlpatterns = [
    path("projects/", views.project_list, name="list"),
    path("projects/new/", views.project_new, name="new"),
    path("projects/new/jsonl/", views.jsonl_preview, name="jsonl_preview"),
    path("projects/new/jsonl/confirm/", views.jsonl_confirm, name="jsonl_confirm"),
    path("projects/<int:pk>/skills/", views.skill_list, name="skill_list"),
    path("projects/<int:pk>/skills/new/", views.skill_new, name="skill_new"),
    path("projects/<int:pk>/skills/<int:skill_pk>/", views.skill_detail, name="skill_detail"),
    path("projects/<int:pk>/skills/<int:skill_pk>/rename/", views.skill_rename_view,
         name="skill_rename"),
    path("projects/<int:pk>/skills/<int:skill_pk>/move/", views.skill_move_view,
         name="skill_move"),
    path("projects/<int:pk>/skills/<int:skill_pk>/merge/", views.skill_merge_view,
         name="skill_merge"),
    path("projects/<int:pk>/skills/<int:skill_pk>/delete/", views.skill_delete_view,
         name="skill_delete"),
    path("projects/<int:pk>/skills/extract/", views.skill_extract, name="skill_extract"),
    path("projects/<int:pk>/skills/extractions/<int:extraction_pk>/", views.extraction_detail,
         name="extraction_detail"),
    path("projects/<int:pk>/skills/proposals/<int:proposal_pk>/accept/", views.proposal_accept,
         name="proposal_accept"),
    path("projects/<int:pk>/skills/proposals/<int:proposal_pk>/reject/", views.proposal_reject,
         name="proposal_reject"),
]

from django.urls import path

from apps.projects import data_views, settings_views, views

app_name = "projects"

urlpatterns = [
    path("projects/", views.project_list, name="project-list"),
    path("projects/new/", views.project_new, name="project-new"),
    path("projects/new/jsonl/", views.jsonl_preview, name="jsonl-preview"),
    path("projects/new/jsonl/confirm/", views.jsonl_confirm, name="jsonl-confirm"),
    path("projects/new/jsonl/cancel/", views.jsonl_cancel, name="jsonl-cancel"),
    path("projects/<int:pk>/skills/", views.skill_list, name="skill-list"),
    path("projects/<int:pk>/skills/new/", views.skill_new, name="skill-new"),
    path("projects/<int:pk>/skills/<int:skill_pk>/", views.skill_detail, name="skill-detail"),
    path("projects/<int:pk>/skills/<int:skill_pk>/rename/", views.skill_rename_view,
         name="skill-rename"),
    path("projects/<int:pk>/skills/<int:skill_pk>/move/", views.skill_move_view,
         name="skill-move"),
    path("projects/<int:pk>/skills/<int:skill_pk>/merge/", views.skill_merge_view,
         name="skill-merge"),
    path("projects/<int:pk>/skills/<int:skill_pk>/delete/", views.skill_delete_view,
         name="skill-delete"),
    path("projects/<int:pk>/skills/extract/", views.skill_extract, name="skill-extract"),
    path("projects/<int:pk>/skills/extractions/<int:extraction_pk>/", views.extraction_detail,
         name="extraction-detail"),
    path("projects/<int:pk>/skills/proposals/<int:proposal_pk>/accept/", views.proposal_accept,
         name="proposal-accept"),
    path("projects/<int:pk>/skills/proposals/<int:proposal_pk>/reject/", views.proposal_reject,
         name="proposal-reject"),
]

urlpatterns += [
    path("projects/<int:pk>/import/", data_views.example_import, name="example-import"),
    path("projects/<int:pk>/import/confirm/", data_views.example_import_confirm,
         name="example-import-confirm"),
    path("projects/<int:pk>/import/cancel/", data_views.example_import_cancel,
         name="example-import-cancel"),
    path("projects/<int:pk>/imports/<int:job_pk>/", data_views.import_job, name="import-job"),
    path("projects/<int:pk>/export/", data_views.project_export, name="project-export"),
    path("projects/<int:pk>/review-settings/", settings_views.review_settings,
         name="review-settings"),
]

from django.urls import path

from apps.prompts import views

app_name = "prompts"

urlpatterns = [
    path("projects/<int:pk>/teachers/", views.teacher_list, name="teacher-list"),
    path("projects/<int:pk>/teachers/new/", views.teacher_new, name="teacher-new"),
    path("projects/<int:pk>/teachers/<int:teacher_pk>/", views.teacher_edit,
         name="teacher-edit"),
    path("projects/<int:pk>/prompts/", views.prompt_list, name="prompt-list"),
    path("projects/<int:pk>/prompts/defaults/", views.prompt_defaults, name="prompt-defaults"),
    path("projects/<int:pk>/prompts/new/", views.prompt_new, name="prompt-new"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/", views.prompt_detail,
         name="prompt-detail"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/preview/", views.prompt_preview,
         name="prompt-preview"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/try/", views.prompt_try, name="prompt-try"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/diff/", views.prompt_diff,
         name="prompt-diff"),
]

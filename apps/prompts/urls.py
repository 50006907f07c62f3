from django.urls import path

from apps.prompts import views

app_name = "prompts"

urlpatterns = [
    path("projects/<int:pk>/teachers/", views.teacher_list, name="teacher_list"),
    path("projects/<int:pk>/teachers/new/", views.teacher_new, name="teacher_new"),
    path("projects/<int:pk>/teachers/<int:teacher_pk>/", views.teacher_edit,
         name="teacher_edit"),
    path("projects/<int:pk>/prompts/", views.prompt_list, name="prompt_list"),
    path("projects/<int:pk>/prompts/defaults/", views.prompt_defaults, name="prompt_defaults"),
    path("projects/<int:pk>/prompts/new/", views.prompt_new, name="prompt_new"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/", views.prompt_detail,
         name="prompt_detail"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/preview/", views.prompt_preview,
         name="prompt_preview"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/try/", views.prompt_try, name="prompt_try"),
    path("projects/<int:pk>/prompts/<int:prompt_pk>/diff/", views.prompt_diff,
         name="prompt_diff"),
]

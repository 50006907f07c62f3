from django.urls import path

from apps.curricula import views

app_name = "curricula"

urlpatterns = [
    path("projects/<int:pk>/curricula/", views.curriculum_list, name="curriculum-list"),
    path("projects/<int:pk>/curricula/new/", views.curriculum_new, name="curriculum-new"),
    path("projects/<int:pk>/curricula/params/", views.curriculum_params,
         name="curriculum-params"),
    path("curricula/<int:pk>/", views.curriculum_detail, name="curriculum-detail"),
]

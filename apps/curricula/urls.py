from django.urls import path

from apps.curricula import views

urlpatterns = [
    path("projects/<int:pk>/curricula/", views.curriculum_list, name="curriculum_list"),
    path("projects/<int:pk>/curricula/new/", views.curriculum_new, name="curriculum_new"),
    path("projects/<int:pk>/curricula/params/", views.curriculum_params,
         name="curriculum_params"),
    path("curricula/<int:pk>/", views.curriculum_detail, name="curriculum_detail"),
]

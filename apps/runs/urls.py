from django.urls import path

from apps.runs import views

urlpatterns = [
    path("projects/<int:pk>/runs/", views.run_list, name="run_list"),
    path("projects/<int:pk>/runs/new/", views.run_new, name="run_new"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/live/", views.run_live, name="run_live"),
    path("runs/<int:pk>/<slug:action>/", views.run_action, name="run_action"),
]

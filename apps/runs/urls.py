from django.urls import path

from apps.runs import dashboard_views, export_views, views

app_name = "runs"

urlpatterns = [
    path("projects/<int:pk>/runs/", views.run_list, name="run-list"),
    path("projects/<int:pk>/runs/new/", views.run_new, name="run-new"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/live/", views.run_live, name="run-live"),
    path("runs/<int:pk>/export/<str:what>", export_views.run_export, name="run-export"),
    path("runs/<int:pk>/dashboard/failures/", dashboard_views.run_failures,
         name="run-failures"),
    path("runs/<int:pk>/<slug:action>/", views.run_action, name="run-action"),
]

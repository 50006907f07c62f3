from django.urls import path

from apps.compare import views

app_name = "compare"

urlpatterns = [
    path("projects/<int:pk>/compare/", views.comparison_new, name="comparison-new"),
    path("projects/<int:pk>/compare/export.<str:fmt>", views.selection_export,
         name="selection-export"),
    path("projects/<int:pk>/comparisons/", views.comparison_list, name="comparison-list"),
    path("projects/<int:pk>/comparisons/new/", views.comparison_create,
         name="comparison-create"),
    path("comparisons/<int:pk>/", views.comparison_detail, name="comparison-detail"),
    path("comparisons/<int:pk>/delete/", views.comparison_delete, name="comparison-delete"),
    path("comparisons/<int:pk>/export.<str:fmt>", views.comparison_export,
         name="comparison-export"),
]

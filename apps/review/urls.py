from django.urls import path

from apps.review import views

app_name = "review"

urlpatterns = [
    path("projects/<int:pk>/review/", views.queue, name="queue"),
    path("projects/<int:pk>/review/items/<int:example_pk>/decide/", views.decide,
         name="decide"),
    path("projects/<int:pk>/review/facets/", views.facets, name="facets"),
    path("projects/<int:pk>/review/pending/", views.pending_count, name="pending-count"),
    path("projects/<int:pk>/review/undo/", views.undo, name="undo"),
    path("projects/<int:pk>/review/bulk/", views.bulk, name="bulk"),
    path("projects/<int:pk>/examples/", views.example_list, name="example-list"),
    path("projects/<int:pk>/examples/<int:example_pk>/", views.example_detail,
         name="example-detail"),
]

from django.urls import path

from apps.sharing import public_views, views

app_name = "sharing"

urlpatterns = [
    path("shares/new/", views.link_new, name="link-new"),
    path("shares/<int:pk>/revoke/", views.link_revoke, name="link-revoke"),
    path("shares/team/<int:pk>/", views.link_list, name="link-list"),
    # The public side: no sign-in; the token alone names what is shown.
    path("s/<slug:token>/", public_views.shared_view, name="shared-view"),
    path("s/<slug:token>/failures/", public_views.shared_failures, name="shared-failures"),
]

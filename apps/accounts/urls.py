from django.contrib.auth import views as auth_views
from django.urls import path

from apps.accounts import team_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tokens/", views.token_list, name="token-list"),
    path("tokens/new/", views.token_new, name="token-new"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("teams/", team_views.team_list, name="team-list"),
    path("teams/new/", team_views.team_create_view, name="team-create"),
    path("teams/<int:pk>/members/", team_views.member_list, name="member-list"),
    path("teams/<int:pk>/members/add/", team_views.member_add_view, name="member-add"),
    path("teams/<int:pk>/members/<int:user_pk>/role/", team_views.member_role_view,
         name="member-role"),
    path("teams/<int:pk>/members/<int:user_pk>/remove/", team_views.member_remove_view,
         name="member-remove"),
]

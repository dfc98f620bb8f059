"""The core's pages: accounts, groups, conversations, notifications. The root URLconf
(`marketplace.urls`) includes every app's pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from . import views

accounts = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, next_page=reverse_lazy("groups")
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page=reverse_lazy("home")), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("password_change_done")),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("accounts/", include(accounts)),
    path("groups/", views.group_discover, name="groups"),
    path("groups/mine/", views.my_groups, name="my_groups"),
    path("groups/<int:group_id>/", views.group_profile, name="group_profile"),
    path("groups/<int:group_id>/manage/", views.group_manage, name="group_manage"),
    path("groups/<int:group_id>/members/", views.group_member_add, name="group_member_add"),
    path("groups/<int:group_id>/leave/", views.group_leave, name="group_leave"),
    path("groups/<int:group_id>/transfer/", views.group_transfer, name="group_transfer"),
    path("groups/<int:group_id>/delete/", views.group_delete, name="group_delete"),
    path(
        "groups/<int:group_id>/conversation/",
        views.conversation_start,
        name="conversation_start",
    ),
    path("conversations/", views.conversation_list, name="conversations"),
    path("conversations/<int:conversation_id>/", views.chat, name="chat"),
    path(
        "conversations/<int:conversation_id>/messages/",
        views.message_post,
        name="message_post",
    ),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]

"""Pages of the proposal workflow (included by `marketplace.urls_pages`)."""

from django.urls import path, re_path

from . import views

app_name = "proposals"
ACTIONS = "|".join(views.ACTION_SERVICES)

urlpatterns = [
    path(
        "conversations/<int:conversation_id>/proposals/",
        views.proposal_panel,
        name="panel",
    ),
    path(
        "conversations/<int:conversation_id>/proposals/new/",
        views.proposal_create,
        name="create",
    ),
    path("proposals/<int:proposal_id>/tasks/", views.task_dashboard, name="tasks"),
    path("proposals/<int:proposal_id>/tasks/board/", views.task_board, name="board"),
    path("proposals/<int:proposal_id>/tasks/new/", views.task_create, name="task_create"),
    path("tasks/<int:task_id>/move/", views.task_move, name="task_move"),
    path("tasks/<int:task_id>/assign/", views.task_assign, name="task_assign"),
    path(
        "proposals/<int:proposal_id>/extend-auto-release/",
        views.proposal_extend_auto_release,
        name="extend_auto_release",
    ),
    re_path(
        rf"^proposals/(?P<proposal_id>[0-9]+)/(?P<action>{ACTIONS})/$",
        views.proposal_action,
        name="action",
    ),
]

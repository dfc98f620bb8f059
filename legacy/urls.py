"""Legacy project/order pages (included by `marketplace.urls_pages`)."""

from django.urls import path

from . import views

app_name = "legacy"

urlpatterns = [
    path("legacy/projects/", views.project_list, name="projects"),
    path("legacy/projects/<int:project_id>/", views.project_detail, name="project"),
    path("legacy/projects/<int:project_id>/orders/", views.order_create, name="order_create"),
    path("legacy/projects/<int:project_id>/continue/", views.project_continue, name="continue"),
]

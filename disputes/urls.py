"""Dispute pages (included by `marketplace.urls_pages`)."""

from django.urls import path

from . import views

app_name = "disputes"

urlpatterns = [
    path("disputes/", views.dispute_list, name="list"),
    path("proposals/<int:proposal_id>/dispute/", views.dispute_new, name="new"),
    path("disputes/<int:dispute_id>/", views.dispute_detail, name="detail"),
    path("disputes/<int:dispute_id>/thread/", views.dispute_thread, name="thread"),
    path("disputes/<int:dispute_id>/messages/", views.dispute_message, name="message"),
]

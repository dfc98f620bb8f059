"""Wallet pages (included by `marketplace.urls_pages`)."""

from django.urls import path

from . import views
from .api_statements import wallet_statement_page

app_name = "escrow"

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/summary/", views.wallet_summary, name="summary"),
    path("wallet/deposit/", views.wallet_deposit, name="deposit"),
    path("wallet/withdraw/", views.wallet_withdraw, name="withdraw"),
    path("wallet/statement.csv", wallet_statement_page, name="statement_csv"),
    path("groups/<int:group_id>/wallet/", views.group_wallet, name="group_wallet"),
]

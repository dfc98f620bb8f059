"""Wallet API routes, under /api/. Every trailing slash is optional."""

from marketplace.core.api_common import api_path

from .api import (
    GroupWalletApi,
    MeApi,
    WalletApi,
    WalletDepositApi,
    WalletTransactionListApi,
    WalletWithdrawApi,
)
from .api_seal import LedgerSealApi
from .api_statements import WalletStatementCsvApi

urlpatterns = [
    api_path("me", MeApi.as_view(), "api-me"),
    api_path("wallet", WalletApi.as_view(), "api-wallet"),
    api_path("wallet/transactions", WalletTransactionListApi.as_view(), "api-wallet-transactions"),
    api_path("wallet/deposit", WalletDepositApi.as_view(), "api-wallet-deposit"),
    api_path("wallet/withdraw", WalletWithdrawApi.as_view(), "api-wallet-withdraw"),
    api_path(r"wallet/statement\.csv", WalletStatementCsvApi.as_view(), "api-wallet-statement-csv"),
    api_path("ledger/seal", LedgerSealApi.as_view(), "api-ledger-seal"),
    api_path(r"groups/(?P<group_id>[0-9]+)/wallet", GroupWalletApi.as_view(), "api-group-wallet"),
]

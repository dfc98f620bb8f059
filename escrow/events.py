"""Escrow's realtime announcements: every posting that changes a user's wallet tells that
user, once the transaction commits, with the wallet as the posting left it (`wallet.updated`,
the JSON of `GET /api/wallet`). Deposits, withdrawals, adjustments and every proposal's
money alike: the wallet page follows them all."""

from marketplace.core.events import publish_to_user

from .serializers import WalletOutputSerializer


def wallets_changed(wallets) -> None:
    """Announce each user wallet among `wallets` (cached balances, rows locked by the
    caller, so what is read is what commits)."""
    for wallet in sorted(wallets, key=lambda wallet: wallet.pk):
        publish_to_user(
            wallet.user_id,
            {"type": "wallet.updated", "wallet": dict(WalletOutputSerializer(wallet).data)},
        )

"""Every balance in the database, read through the ORM: a case that does not succeed must
leave the ledger and every balance exactly as they were. (A refused withdrawal may open
the caller's empty wallet: a wallet with nothing in it is no balance, so empty rows are
left out.)"""

from escrow.models import EscrowHold, EscrowTransaction, GroupWallet, Wallet


def _held(rows) -> list[tuple]:
    """The rows (pk first, then amounts) that hold something."""
    return [row for row in rows if any(row[1:])]


def money_snapshot() -> dict:
    return {
        "ledger": list(EscrowTransaction.objects.order_by("pk").values_list("pk", flat=True)),
        "wallets": _held(
            Wallet.objects.order_by("pk").values_list(
                "pk", "balance", "available_balance", "escrow_balance"
            )
        ),
        "group_wallets": _held(
            GroupWallet.objects.order_by("pk").values_list(
                "pk", "available_balance", "escrow_balance", "total_escrow_received"
            )
        ),
        "holds": _held(EscrowHold.objects.order_by("pk").values_list("pk", "amount")),
    }


def assert_money_unchanged_unless_success(status_code: int, before: dict) -> None:
    if not 200 <= status_code < 300:
        assert money_snapshot() == before, f"a {status_code} answer moved money"

"""The escrow ledger.

Money lives in accounts of three sorts: wallets (a user's, the platform's, and the
external world's, through which deposits come in and payouts go out), group wallets, and
escrow holds (the money locked for one deal). Every movement is one `EscrowTransaction`
from exactly one account to exactly one other, so every entry balances by construction.
Entries are append-only: a database trigger refuses UPDATE and DELETE.

The balance columns on wallets, group wallets and holds are a cache of the ledger,
updated under row lock in the same transaction as the entry; `manage.py reconcile`
proves they match. The platform and external wallets are touched by every release and
every deposit, so their balances are not cached (that would make them hot rows): they
are summed from the ledger on read.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Round
from django.db.models.lookups import Exact
from djmoney.models.fields import MoneyField

from marketplace.core.formats import money_text

from .money import AMOUNT

# A cached balance accumulates many operations (a wallet's balance, a group's
# `total_escrow_received` over years), so it is wider: 15 digits, up to
# 9 999 999 999 999.99. Fifteen significant digits is exactly what an IEEE double keeps
# (DBL_DIG), and SQLite, the embedded default, stores these columns as doubles: every
# value up to the maximum reads back to the cent and `round(x * 100)` is the exact number
# of cents. Wider columns would be exact on PostgreSQL but not on the embedded default.
# `escrow.ledger` refuses (409 `balance_limit_exceeded`) a posting that would pass it.
BALANCE = {"max_digits": 15, "decimal_places": 2, "default_currency": "USD"}


def cents(field: str) -> Round:
    """The column as a whole number of cents. Money equalities in the database compare
    these, never the decimals: SQLite compares its decimal columns as doubles, where
    0.10 + 0.20 != 0.30, and would refuse right balances (PostgreSQL's numeric is exact
    either way, and the integers say the same there)."""
    return Round(F(field) * Value(100))


def _same_currency(*fields: str) -> Q:
    first, *rest = fields
    return Q(**{f"{name}_currency": F(f"{first}_currency") for name in rest})


class Wallet(models.Model):
    class Kind(models.TextChoices):
        USER = "user", "User"
        PLATFORM = "platform", "Platform revenue"
        EXTERNAL = "external", "External (payment provider)"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.USER)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="wallet",
    )
    # balance = available_balance + escrow_balance: what the user owns in all.
    balance = MoneyField(default=0, **BALANCE)
    available_balance = MoneyField(default=0, **BALANCE)
    # Money this user has locked in escrow holds as a buyer (a view of their holds).
    escrow_balance = MoneyField(default=0, **BALANCE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "wallets"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="user", user__isnull=False)
                | (~Q(kind="user") & Q(user__isnull=True)),
                name="wallet_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "balance_currency"],
                condition=~Q(kind="user"),
                name="one_system_wallet_per_currency",
            ),
            models.CheckConstraint(
                condition=Q(available_balance__gte=0, escrow_balance__gte=0),
                name="wallet_balances_not_negative",
            ),
            models.CheckConstraint(
                condition=Exact(
                    cents("balance"), cents("available_balance") + cents("escrow_balance")
                ),
                name="wallet_balance_is_available_plus_escrow",
            ),
            models.CheckConstraint(
                condition=_same_currency("balance", "available_balance", "escrow_balance"),
                name="wallet_single_currency",
            ),
        ]

    def __str__(self):
        owner = self.user.username if self.user_id else self.get_kind_display()
        return f"{owner} wallet ({self.currency})"

    @property
    def currency(self) -> str:
        return str(self.balance_currency)

    @property
    def caches_balance(self) -> bool:
        return self.kind == self.Kind.USER


class GroupWallet(models.Model):
    group = models.OneToOneField(
        "marketplace.Group", on_delete=models.PROTECT, related_name="wallet"
    )
    balance = MoneyField(default=0, **BALANCE)
    available_balance = MoneyField(default=0, **BALANCE)
    # Escrow held for this group's deals (a view of their holds: the buyers' money).
    escrow_balance = MoneyField(default=0, **BALANCE)
    # Everything released from this group's holds to its leader and members, ever.
    total_escrow_received = MoneyField(default=0, **BALANCE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "group_wallets"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    available_balance__gte=0, escrow_balance__gte=0, total_escrow_received__gte=0
                ),
                name="group_wallet_balances_not_negative",
            ),
            # Two columns written from the same decimal are the same double on SQLite
            # too (no sum involved), so this one compares the values as they are.
            models.CheckConstraint(
                condition=Q(balance=F("available_balance")),
                name="group_wallet_balance_is_available",
            ),
            models.CheckConstraint(
                condition=_same_currency(
                    "balance", "available_balance", "escrow_balance", "total_escrow_received"
                ),
                name="group_wallet_single_currency",
            ),
        ]

    def __str__(self):
        return f"{self.group} group wallet ({self.currency})"

    @property
    def currency(self) -> str:
        return str(self.balance_currency)


class EscrowHold(models.Model):
    """Money a buyer has locked for one deal with one group, until released or refunded."""

    buyer_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds")
    group_wallet = models.ForeignKey(GroupWallet, on_delete=models.PROTECT, related_name="holds")
    amount = MoneyField(default=0, **BALANCE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "escrow_holds"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="hold_amount_not_negative")
        ]

    def __str__(self):
        return f"Escrow hold #{self.pk}: {money_text(self.amount)}"


def _one_account(side: str) -> Q:
    wallet, group_wallet, hold = (
        f"{side}_{name}__isnull" for name in ("wallet", "group_wallet", "hold")
    )
    return (
        Q(**{wallet: False, group_wallet: True, hold: True})
        | Q(**{wallet: True, group_wallet: False, hold: True})
        | Q(**{wallet: True, group_wallet: True, hold: False})
    )


class EscrowTransaction(models.Model):
    """One balanced transfer between two accounts. Never updated, never deleted."""

    class Kind(models.TextChoices):
        OPENING_BALANCE = "opening_balance", "Opening balance (migrated)"
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        LOCK = "escrow_lock", "Escrow locked"
        PLATFORM_FEE = "platform_fee", "Platform fee"
        LEADER_COMMISSION = "leader_commission", "Leader commission"
        MEMBER_SHARE = "member_share", "Member share"
        REFUND = "refund", "Refund"
        # Staff correction between a user's wallet and the platform account, with a reason.
        ADJUSTMENT = "adjustment", "Adjustment (staff)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = MoneyField(**AMOUNT)

    from_wallet = models.ForeignKey(Wallet, null=True, on_delete=models.PROTECT, related_name="+")
    from_group_wallet = models.ForeignKey(
        GroupWallet, null=True, on_delete=models.PROTECT, related_name="+"
    )
    from_hold = models.ForeignKey(EscrowHold, null=True, on_delete=models.PROTECT, related_name="+")
    to_wallet = models.ForeignKey(Wallet, null=True, on_delete=models.PROTECT, related_name="+")
    to_group_wallet = models.ForeignKey(
        GroupWallet, null=True, on_delete=models.PROTECT, related_name="+"
    )
    to_hold = models.ForeignKey(EscrowHold, null=True, on_delete=models.PROTECT, related_name="+")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # One operation writes several legs under one caller-supplied key; a retry finds them.
    idempotency_key = models.CharField(max_length=200)
    leg = models.PositiveSmallIntegerField(default=0)
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "escrow_transactions"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transaction_amount_positive"),
            models.CheckConstraint(condition=_one_account("from"), name="transaction_one_source"),
            models.CheckConstraint(
                condition=_one_account("to"), name="transaction_one_destination"
            ),
            models.CheckConstraint(
                condition=~Q(from_wallet=F("to_wallet"))
                & ~Q(from_group_wallet=F("to_group_wallet"))
                & ~Q(from_hold=F("to_hold")),
                name="transaction_not_to_itself",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key", "leg"], name="unique_idempotent_leg"
            ),
        ]
        # Statements and metrics read the ledger by kind over time; a wallet's entries are
        # read side by side (escrow.wallet_entries), each side in time order from its own
        # index.
        indexes = [
            models.Index(fields=["kind", "created_at"], name="transaction_kind_time"),
            *(
                models.Index(fields=[account, "created_at", "id"], name=f"entries_{account}_time")
                for account in (
                    "to_wallet",
                    "from_wallet",
                    "to_group_wallet",
                    "from_group_wallet",
                    "to_hold",
                    "from_hold",
                )
            ),
        ]
        permissions = [
            ("adjust_wallet", "Can adjust a wallet's balance with a ledger entry"),
            ("view_fee_statement", "Can export the platform fees by month"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {money_text(self.amount)}"


class LedgerSeal(models.Model):
    """A link of the hash chain over the ledger (`escrow.sealing`): it seals every escrow
    transaction with `after_id < id <= sealed_through_id`, hashed after the previous
    seal's hash. `after_id` is unique, so two sealers racing from the same seal cannot
    both append: the loser's insert fails and nothing else waits on it."""

    previous = models.OneToOneField(
        "self", null=True, on_delete=models.PROTECT, related_name="next_seal"
    )
    after_id = models.BigIntegerField(unique=True)
    sealed_through_id = models.BigIntegerField(unique=True)
    row_count = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ledger_seals"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sealed_through_id__gt=F("after_id")), name="seal_covers_some_ids"
            )
        ]

    def __str__(self):
        return f"Seal #{self.pk} through transaction #{self.sealed_through_id}"

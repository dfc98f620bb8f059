"""Exact books for the money stories: what every account must hold, in integer cents,
kept beside the real services and compared with the database after every step.

The expectations are computed here from first principles (integers, no Decimal, no
floats): the release rule of the README, "10 % platform fee and 3 % leader commission
rounded half up, the rest split equally to the cent with the leftover cents one each to
the members in order of joining".
"""

from dataclasses import dataclass, field
from decimal import Decimal

from djmoney.money import Money

from escrow.models import GroupWallet, Wallet
from escrow.reconcile import find_problems, ledger_balances
from tests.proposals.factories import Team

MAX_DEPOSIT_CENTS = 100_000_000  # settings.MAX_AMOUNT, 1 000 000.00: one deposit at most


def to_cents(amount) -> int:
    value = Decimal(str(amount))
    assert value == value.quantize(Decimal("0.01")), value
    return int(value * 100)


def text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def usd_cents(cents: int) -> Money:
    return Money(Decimal(text(cents)), "USD")


def half_up_percent(cents: int, percent: int) -> int:
    """round_half_up(cents * percent / 100) in whole cents, in integers."""
    return (cents * percent * 2 + 100) // 200


def release_plan(cents: int, sharers: int) -> tuple[int, int, list[int]]:
    """(platform fee, leader commission, shares in order of joining) of `cents` released."""
    fee = half_up_percent(cents, 10)
    commission = half_up_percent(cents, 3)
    base, leftover = divmod(cents - fee - commission, sharers)
    return fee, commission, [base + (1 if i < leftover else 0) for i in range(sharers)]


@dataclass
class Books:
    """The expected state: each person's (available, escrow) cents, the group wallet's
    escrow and total received, the platform's revenue."""

    team: Team
    people: dict[str, list[int]] = field(default_factory=dict)
    group_escrow: int = 0
    group_received: int = 0
    platform: int = 0

    def __post_init__(self):
        self.people = {name: [0, 0] for name in self.team.people}

    @property
    def sharers(self) -> list[str]:
        """Who shares the member pool, in order of joining: the leader, then m1, m2..."""
        return ["leader", *(f"m{i}" for i in range(1, len(self.team.members) + 1))]

    # --- what each step does to the books ---------------------------------------------

    def deposit(self, cents: int) -> None:
        self.people["buyer"][0] += cents

    def lock(self, cents: int) -> None:
        self.people["buyer"][0] -= cents
        self.people["buyer"][1] += cents
        self.group_escrow += cents

    def refund(self, cents: int) -> None:
        self.people["buyer"][1] -= cents
        self.people["buyer"][0] += cents
        self.group_escrow -= cents

    def release(self, cents: int) -> None:
        fee, commission, shares = release_plan(cents, len(self.sharers))
        assert fee + commission + sum(shares) == cents
        self.people["buyer"][1] -= cents
        self.group_escrow -= cents
        self.platform += fee
        self.people["leader"][0] += commission
        for name, share in zip(self.sharers, shares, strict=True):
            self.people[name][0] += share
        self.group_received += commission + sum(shares)

    # --- the comparison -------------------------------------------------------------

    def expected(self) -> dict:
        state = {
            name: {"balance": text(a + e), "available": text(a), "escrow": text(e)}
            for name, (a, e) in self.people.items()
        }
        state["group"] = {
            "balance": "0.00",
            "available": "0.00",
            "escrow": text(self.group_escrow),
            "received": text(self.group_received),
        }
        state["platform"] = text(self.platform)
        return state

    def actual(self) -> dict:
        state = {}
        for name, user in self.team.people.items():
            wallet = Wallet.objects.filter(user=user).first()
            columns = (
                (wallet.balance, wallet.available_balance, wallet.escrow_balance)
                if wallet
                else (None, None, None)
            )
            state[name] = {
                key: _exact(value)
                for key, value in zip(("balance", "available", "escrow"), columns, strict=True)
            }
        wallet = GroupWallet.objects.filter(group=self.team.group).first()
        state["group"] = {
            "balance": _exact(wallet and wallet.balance),
            "available": _exact(wallet and wallet.available_balance),
            "escrow": _exact(wallet and wallet.escrow_balance),
            "received": _exact(wallet and wallet.total_escrow_received),
        }
        platform = Wallet.objects.filter(kind=Wallet.Kind.PLATFORM, balance_currency="USD").first()
        state["platform"] = _exact(
            platform and Money(ledger_balances("wallet")[platform.pk], "USD")
        )
        return state

    def check(self, step: str) -> None:
        """Every wallet to the cent, then every ledger invariant."""
        assert self.actual() == self.expected(), f"after {step}"
        problems = find_problems()
        assert problems == [], f"after {step}:\n" + "\n".join(problems)


def _exact(value) -> str:
    """A stored amount as text with exactly two places; anything finer would show."""
    if value is None:
        return "0.00"
    amount = value.amount if isinstance(value, Money) else value
    assert amount == amount.quantize(Decimal("0.01")), amount
    return f"{amount:.2f}"

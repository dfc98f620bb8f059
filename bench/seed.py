"""Big data, fast: groups and ledger rows written with INSERT … SELECT generate_series,
keeping every ledger invariant so that `manage.py reconcile` stays clean.

The ledger is append-only (a trigger refuses UPDATE and DELETE on it), so rows are only
ever added. Each ledger row is one balanced transfer between the external account and a
user's wallet: row 2k is a deposit, row 2k+1 a smaller withdrawal by the same wallet, so
no wallet ever goes below zero. The wallets' cached balances are then set to what the
ledger says, in the same transaction. One user in ten rows is `heavy`, the user whose
pages and statement are timed: their share of the ledger grows with it.

Sizes are totals: `grow_to(groups=…, rows=…)` adds what is missing, so a small database
can be grown to a large one and measured again."""

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from escrow.models import Wallet
from escrow.services import system_wallet, wallet_get_or_open
from marketplace.core.names import skeleton

from . import world

PAYEES = 999  # at most, users besides `heavy` whose wallets the ledger rows touch
TOPICS = 100  # group names and descriptions carry one of `topic00`…`topic99`
SEARCH = "topic42"  # so a search matches 1 % of the seeded groups
SEEDED_FROM = datetime(2025, 1, 1, tzinfo=UTC)


def _seeded(kind: str) -> int:
    table, column, prefix = {
        "groups": ("groups", "name", "Seeded group "),
        "rows": ("escrow_transactions", "idempotency_key", "bench-seed/"),
    }[kind]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {column} LIKE %s", [f"{prefix}%"])
        return cursor.fetchone()[0]


def people(payees: int = PAYEES) -> tuple:
    """The timed user (`heavy`), their wallet's id and the payees' wallet ids, made
    through the services on first call."""
    heavy = world.person("heavy")
    if not Wallet.objects.filter(user__username="payee0").exists():
        for user in [heavy, *(world.person(f"payee{number}") for number in range(payees))]:
            wallet_get_or_open(user=user)
    wallets = Wallet.objects.filter(user__username__startswith="payee").order_by("pk")
    return heavy, Wallet.objects.get(user=heavy).pk, list(wallets.values_list("pk", flat=True))


def _add_groups(cursor, *, first: int, last: int, leader_id: int) -> None:
    """Groups `first`…`last` by COPY (the name's skeleton from the app's own function),
    each with its leader as first member."""
    columns = "name, name_skeleton, description, skills, created_at, leader_id"
    with cursor.copy(f"COPY groups ({columns}) FROM STDIN") as copy:
        for number in range(first, last + 1):
            topic = f"topic{number % TOPICS:02d}"
            name = f"Seeded group {number} {topic}"
            created = SEEDED_FROM + timedelta(minutes=number)
            description = f"We build {topic} things."
            copy.write_row((name, skeleton(name), description, f'["{topic}"]', created, leader_id))
    cursor.execute(
        """
        INSERT INTO group_members (group_id, user_id, joined_at)
        SELECT g.id, g.leader_id, g.created_at FROM groups AS g
        WHERE g.name LIKE 'Seeded group %%'
          AND NOT EXISTS (SELECT 1 FROM group_members AS m WHERE m.group_id = g.id)
        """,
        [],
    )


@transaction.atomic
def grow_to(*, groups: int, rows: int) -> None:
    # A payee per ten rows of the first size seeded, at most PAYEES.
    heavy, heavy_wallet, payee_wallets = people(min(PAYEES, max(1, rows // 10)))
    external = system_wallet(kind=Wallet.Kind.EXTERNAL, currency="USD").pk
    have_groups, have_rows = _seeded("groups"), _seeded("rows")
    with connection.cursor() as cursor:
        _add_groups(cursor, first=have_groups + 1, last=groups, leader_id=heavy.pk)
        # Row n moves money between the external account and wallet w(n): a deposit for
        # even n, then a smaller withdrawal by the same wallet for odd n.
        cursor.execute(
            """
            INSERT INTO escrow_transactions (
                kind, amount, amount_currency, idempotency_key, leg, memo, created_at,
                from_wallet_id, to_wallet_id)
            SELECT CASE WHEN n %% 2 = 0 THEN 'deposit' ELSE 'withdrawal' END,
                   CASE WHEN n %% 2 = 0 THEN 100 + (n / 2) %% 50 ELSE 10 + (n / 2) %% 7 END,
                   'USD', 'bench-seed/' || n, 0, '',
                   %(since)s + n * interval '10 seconds',
                   CASE WHEN n %% 2 = 0 THEN %(external)s ELSE w END,
                   CASE WHEN n %% 2 = 0 THEN w ELSE %(external)s END
            FROM (
                SELECT n, CASE WHEN (n / 2) %% 10 = 0 THEN %(heavy)s
                               ELSE (%(payees)s::bigint[])[1 + (n / 2) %% %(count)s] END AS w
                FROM generate_series(%(first)s, %(last)s) AS n
            ) AS rows
            """,
            {
                "external": external,
                "heavy": heavy_wallet,
                "payees": payee_wallets,
                "count": len(payee_wallets),
                "since": SEEDED_FROM,
                "first": have_rows,
                "last": rows - 1,
            },
        )
        # The cached balances of every seeded wallet, recomputed from the whole ledger.
        cursor.execute(
            """
            UPDATE wallets AS w
            SET available_balance = t.total, balance = t.total + w.escrow_balance
            FROM (
                SELECT wallet, sum(amount) AS total FROM (
                    SELECT to_wallet_id AS wallet, amount FROM escrow_transactions
                    WHERE to_wallet_id = ANY(%(wallets)s)
                    UNION ALL
                    SELECT from_wallet_id, -amount FROM escrow_transactions
                    WHERE from_wallet_id = ANY(%(wallets)s)
                ) AS moves GROUP BY wallet
            ) AS t
            WHERE w.id = t.wallet
            """,
            {"wallets": [heavy_wallet, *payee_wallets]},
        )


def analyze() -> None:
    """Fresh planner statistics, as autovacuum would have them on a live system."""
    with connection.cursor() as cursor:
        for table in ("groups", "group_members", "escrow_transactions", "wallets"):
            cursor.execute(f"ANALYZE {table}")

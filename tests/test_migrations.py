"""The schema history, proved on PostgreSQL with django-test-migrations.

The `0001_initial` migrations of marketplace, escrow, proposals and legacy are the old
system as it ran; everything after them is the additive change to escrow, proposals and
disputes. These tests write rows the way the old system did (through the historical
models of that state), migrate forward and back, and compare the rows column by column,
read with raw SQL so that no model layer can hide a change.

Every test here is transactional (the `migrator` fixture) and the fixture migrates the
database back to the latest state when the test ends, whatever happened in it.
"""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from djmoney.money import Money

from marketplace.core.names import skeleton

APPS = ("marketplace", "escrow", "proposals", "disputes", "legacy")

OLD_STATE = [
    ("marketplace", "0001_initial"),
    ("escrow", "0001_initial"),
    ("proposals", "0001_initial"),
    ("legacy", "0001_initial"),
    ("disputes", None),
]

# The tables of the old system and the columns it had (the new system adds columns to
# some of them; on the way back exactly these must remain).
OLD_TABLES = (
    "users",
    "groups",
    "group_members",
    "conversations",
    "conversation_messages",
    "wallets",
    "group_wallets",
    "project_proposals",
    "projects",
    "orders",
)
NEW_TABLES = (
    "escrow_holds",
    "escrow_transactions",
    "project_tasks",
    "proposal_participants",
    "disputes",
    "dispute_messages",
)
ADDED_COLUMNS = {
    # The look-alike skeletons (marketplace.core.names), filled in for the old rows.
    "users": {"username_skeleton"},
    "groups": {"name_skeleton"},
    "conversations": {"active_proposal_id", "total_proposals", "total_completed_projects"},
    "conversation_messages": {"metadata"},
    "wallets": {
        "kind",
        "available_balance",
        "available_balance_currency",
        "escrow_balance",
        "escrow_balance_currency",
    },
    "group_wallets": {
        "available_balance",
        "available_balance_currency",
        "escrow_balance",
        "escrow_balance_currency",
        "total_escrow_received",
        "total_escrow_received_currency",
    },
    "project_proposals": {
        "is_legacy",
        "escrow_hold_id",
        "escrow_amount",
        "escrow_amount_currency",
        "platform_fee",
        "platform_fee_currency",
        "platform_fee_rate",
        "leader_commission",
        "leader_commission_currency",
        "leader_commission_rate",
        "member_pool",
        "member_pool_currency",
        "accepted_at",
        "started_at",
        "delivered_at",
        "completed_at",
        "rejected_at",
        "withdrawn_at",
        "cancelled_at",
        "disputed_at",
        "resolved_at",
        "auto_release_extended_until",
        "auto_release_reminders_sent",
        "auto_release_reminded_for",
        "pool_split",
    },
    "projects": {"is_legacy", "continued_conversation_id", "continued_at"},
    "orders": {"is_legacy"},
}

D = Decimal


# --- helpers ---------------------------------------------------------------------------


def latest_state() -> list[tuple[str, str]]:
    """The leaf migration of every app: what `manage.py migrate` leads to."""
    return sorted(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())


def applied(apps=APPS) -> set[tuple[str, str]]:
    return {key for key in MigrationRecorder(connection).applied_migrations() if key[0] in apps}


def expected_old_applied() -> set[tuple[str, str]]:
    return {(app, name) for app, name in OLD_STATE if name is not None}


def expected_latest_applied() -> set[tuple[str, str]]:
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return {key for key in graph.nodes if key[0] in APPS}


def columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


def tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def rows(table: str, only: set[str] | None = None) -> dict[int, dict]:
    """Every row of a table by id, as the database holds it (raw SQL, no models)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" ORDER BY id')
        names = [c.name for c in cursor.description]
        result = {}
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            if only is not None:
                row = {k: v for k, v in row.items() if k in only}
            result[row["id"]] = row
        return result


def snapshot() -> dict[str, dict[int, dict]]:
    return {table: rows(table) for table in OLD_TABLES}


def run_sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def trigger_function_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_proc WHERE proname = 'escrow_transactions_append_only'")
        return cursor.fetchone() is not None


def trigger_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'escrow_transactions_append_only' "
            "AND tgenabled <> 'D'"
        )
        return cursor.fetchone() is not None


def drop_stray_trigger_function() -> None:
    """The trigger *function* of escrow 0005 is not a table: the migrator's clean start
    drops the tables (unlike a real `migrate` back) and leaves it behind, and 0005's plain
    `CREATE FUNCTION` would then fail. Drop it first."""
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION IF EXISTS escrow_transactions_append_only() CASCADE")


def go_to_clean_latest_state(migrator) -> None:
    """An empty database at the latest state, built from nothing, whatever an earlier
    test left behind."""
    drop_stray_trigger_function()
    migrator.apply_initial_migration(latest_state())
    assert applied() == expected_latest_applied()


def go_to_old_state(migrator):
    """Build the old system from a clean database and return its historical apps.

    `apply_initial_migration` drops every Django table and replays the plan up to the
    targets; the truncated plan can include later migrations of other apps that sort
    before the last target, so migrate once more to the exact targets and check.
    """
    drop_stray_trigger_function()
    migrator.apply_initial_migration(OLD_STATE)
    state = migrator.apply_tested_migration(OLD_STATE)
    assert applied() == expected_old_applied()
    assert not (set(NEW_TABLES) & tables())
    return state.apps


def seed_old_system(apps) -> dict:
    """Rows written as the old system wrote them, through the models of that state."""
    User = apps.get_model("marketplace", "User")
    Group = apps.get_model("marketplace", "Group")
    GroupMembership = apps.get_model("marketplace", "GroupMembership")
    Conversation = apps.get_model("marketplace", "Conversation")
    Message = apps.get_model("marketplace", "Message")
    Wallet = apps.get_model("escrow", "Wallet")
    GroupWallet = apps.get_model("escrow", "GroupWallet")
    Proposal = apps.get_model("proposals", "Proposal")
    Project = apps.get_model("legacy", "Project")
    Order = apps.get_model("legacy", "Order")

    def user(name):
        return User.objects.create(username=name, email=f"{name}@example.com", password="!")

    alice, bob, lea, max_, mia = (user(n) for n in ("alice", "bob", "lea", "max", "mia"))
    group = Group.objects.create(
        name="Pixel Crew", description="Design and Django", skills=["design", "django"], leader=lea
    )
    for member in (lea, max_, mia):
        GroupMembership.objects.create(group=group, user=member)
    chat = Conversation.objects.create(product_owner=alice, group=group)
    chat_bob = Conversation.objects.create(product_owner=bob, group=group)
    Message.objects.create(conversation=chat, sender=alice, body="Hello, can you build it?")
    Message.objects.create(conversation=chat, sender=lea, body="Yes, proposal coming.")
    Message.objects.create(conversation=chat_bob, sender=bob, body="Hi from Bob")

    wallets = {
        "alice": Wallet.objects.create(user=alice, balance=Money("250.75", "USD")),
        "bob": Wallet.objects.create(user=bob, balance=Money("0", "USD")),
        "lea": Wallet.objects.create(user=lea, balance=Money("99.99", "EUR")),
    }
    group_wallet = GroupWallet.objects.create(group=group, balance=Money("40.00", "USD"))

    # Two open proposals in one chat (the old system allowed it) and a zero-priced one:
    # the new constraints must let legacy rows through.
    pending = Proposal.objects.create(
        conversation=chat,
        created_by=lea,
        title="Landing page",
        price=Money("500.00", "USD"),
        status="pending",
    )
    accepted = Proposal.objects.create(
        conversation=chat,
        created_by=lea,
        title="Shop backend",
        description="Django + payments",
        price=Money("1200.50", "USD"),
        status="accepted",
        due_date="2026-12-31",
    )
    rejected = Proposal.objects.create(
        conversation=chat_bob,
        created_by=lea,
        title="Free audit",
        price=Money("0.00", "USD"),
        status="rejected",
    )
    project = Project.objects.create(
        owner=alice, title="Logo", budget=Money("300.00", "USD"), status="open"
    )
    project_eur = Project.objects.create(
        owner=bob, title="Flyer", budget=Money("75.25", "EUR"), status="closed"
    )
    Order.objects.create(project=project, buyer=bob, amount=Money("300.00", "USD"))
    Order.objects.create(
        project=project_eur, buyer=alice, amount=Money("75.25", "EUR"), status="paid"
    )

    return {
        "users": {u.username: u.pk for u in (alice, bob, lea, max_, mia)},
        "group": group.pk,
        "chat": chat.pk,
        "wallets": {name: w.pk for name, w in wallets.items()},
        "group_wallet": group_wallet.pk,
        "proposals": [pending.pk, accepted.pk, rejected.pk],
    }


def assert_old_values_as_written() -> None:
    """The exact values the seed wrote, as the raw rows show them."""
    wallets = rows("wallets")
    assert {(r["balance"], r["balance_currency"]) for r in wallets.values()} == {
        (D("250.75"), "USD"),
        (D("0.00"), "USD"),
        (D("99.99"), "EUR"),
    }
    group_wallets = rows("group_wallets")
    assert [(r["balance"], r["balance_currency"]) for r in group_wallets.values()] == [
        (D("40.00"), "USD")
    ]
    proposals = rows("project_proposals")
    assert [(r["title"], r["price"], r["status"]) for r in proposals.values()] == [
        ("Landing page", D("500.00"), "pending"),
        ("Shop backend", D("1200.50"), "accepted"),
        ("Free audit", D("0.00"), "rejected"),
    ]
    assert [(r["budget"], r["budget_currency"]) for r in rows("projects").values()] == [
        (D("300.00"), "USD"),
        (D("75.25"), "EUR"),
    ]
    assert [(r["amount"], r["status"]) for r in rows("orders").values()] == [
        (D("300.00"), "placed"),
        (D("75.25"), "paid"),
    ]
    assert len(rows("conversation_messages")) == 3
    assert len(rows("group_members")) == 3


# --- 1. forward ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_forward_keeps_every_old_row_and_opens_the_ledger(migrator):
    old_apps = go_to_old_state(migrator)
    ids = seed_old_system(old_apps)
    before = snapshot()
    assert_old_values_as_written()
    old_columns = {table: columns(table) for table in OLD_TABLES}

    new_apps = migrator.apply_tested_migration(latest_state()).apps
    assert applied() == expected_latest_applied()

    # Every old row survives with every old value.
    for table in OLD_TABLES:
        assert columns(table) == old_columns[table] | ADDED_COLUMNS.get(table, set()), table
        now = rows(table, only=old_columns[table])
        assert {pk: now[pk] for pk in before[table] if pk in now} == before[table], table
        # Only the wallets table gains rows (the external accounts, checked below).
        if table != "wallets":
            assert now.keys() == before[table].keys(), table

    # The old names got their look-alike skeletons.
    for table, name, skeleton_column in (
        ("users", "username", "username_skeleton"),
        ("groups", "name", "name_skeleton"),
    ):
        named = rows(table, only={"id", name, skeleton_column}).values()
        assert named and all(row[skeleton_column] == skeleton(row[name]) for row in named)

    # Legacy flags.
    assert {r["is_legacy"] for r in rows("projects").values()} == {True}
    assert {r["is_legacy"] for r in rows("orders").values()} == {True}
    proposals = rows("project_proposals")
    assert {r["is_legacy"] for r in proposals.values()} == {True}
    for proposal in proposals.values():
        assert proposal["escrow_hold_id"] is None
        assert proposal["escrow_amount"] == D("0.00")
        assert proposal["accepted_at"] is None
        assert proposal["pool_split"] == "equal"

    # Conversations and messages get the new columns' defaults.
    for conversation in rows("conversations").values():
        assert conversation["active_proposal_id"] is None
        assert conversation["total_proposals"] == 0
        assert conversation["total_completed_projects"] == 0
    for message in rows("conversation_messages").values():
        assert json.loads(message["metadata"]) == {}  # Django reads jsonb as text
        assert message["sender_id"] is not None

    # Wallets: available = old balance, nothing in escrow, balance unchanged, one currency.
    wallets = rows("wallets")
    for name, pk in ids["wallets"].items():
        wallet = wallets[pk]
        assert wallet["kind"] == "user", name
        assert wallet["available_balance"] == before["wallets"][pk]["balance"], name
        assert wallet["escrow_balance"] == D("0.00"), name
        assert wallet["balance"] == before["wallets"][pk]["balance"], name
        currency = before["wallets"][pk]["balance_currency"]
        assert wallet["available_balance_currency"] == currency, name
        assert wallet["escrow_balance_currency"] == currency, name
    assert wallets[ids["wallets"]["alice"]]["available_balance"] == D("250.75")
    assert wallets[ids["wallets"]["bob"]]["available_balance"] == D("0.00")
    assert wallets[ids["wallets"]["lea"]]["available_balance"] == D("99.99")

    group_wallet = rows("group_wallets")[ids["group_wallet"]]
    assert group_wallet["balance"] == D("40.00")
    assert group_wallet["available_balance"] == D("40.00")
    assert group_wallet["escrow_balance"] == D("0.00")
    assert group_wallet["total_escrow_received"] == D("0.00")
    assert {
        group_wallet[f"{c}_currency"]
        for c in ("balance", "available_balance", "escrow_balance", "total_escrow_received")
    } == {"USD"}

    # One external account per currency in use, nothing else new among the wallets.
    system = {pk: w for pk, w in wallets.items() if pk not in before["wallets"]}
    assert sorted((w["kind"], w["balance_currency"], w["user_id"]) for w in system.values()) == [
        ("external", "EUR", None),
        ("external", "USD", None),
    ]
    external = {w["balance_currency"]: pk for pk, w in system.items()}

    # Exactly one opening entry per funded wallet, the exact amount, from outside.
    entries = rows("escrow_transactions")
    got = sorted(
        (
            e["kind"],
            e["amount"],
            e["amount_currency"],
            e["from_wallet_id"],
            e["to_wallet_id"],
            e["to_group_wallet_id"],
            e["idempotency_key"],
        )
        for e in entries.values()
    )
    w, gw = ids["wallets"], ids["group_wallet"]
    assert got == sorted(
        [
            (
                "opening_balance",
                D("250.75"),
                "USD",
                external["USD"],
                w["alice"],
                None,
                f"opening-balance:wallet:{w['alice']}",
            ),
            (
                "opening_balance",
                D("99.99"),
                "EUR",
                external["EUR"],
                w["lea"],
                None,
                f"opening-balance:wallet:{w['lea']}",
            ),
            (
                "opening_balance",
                D("40.00"),
                "USD",
                external["USD"],
                None,
                gw,
                f"opening-balance:groupwallet:{gw}",
            ),
        ]
    )
    for entry in entries.values():
        assert entry["from_group_wallet_id"] is None
        assert entry["from_hold_id"] is None
        assert entry["to_hold_id"] is None
    assert rows("escrow_holds") == {}

    # The real models and the reconcile command agree with the migrated database.
    from escrow.reconcile import find_problems

    assert find_problems() == []
    call_command("reconcile", stdout=StringIO())

    # The append-only trigger guards the migrated entries too.
    entry_id = min(entries)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        run_sql("UPDATE escrow_transactions SET amount = 1 WHERE id = %s", [entry_id])
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        run_sql("DELETE FROM escrow_transactions WHERE id = %s", [entry_id])
    assert rows("escrow_transactions") == entries

    # Rows written afterwards in the new schema take the new defaults.
    User = new_apps.get_model("marketplace", "User")
    Conversation = new_apps.get_model("marketplace", "Conversation")
    Message = new_apps.get_model("marketplace", "Message")
    Wallet = new_apps.get_model("escrow", "Wallet")
    Proposal = new_apps.get_model("proposals", "Proposal")
    Project = new_apps.get_model("legacy", "Project")
    Order = new_apps.get_model("legacy", "Order")

    newcomer = User.objects.create(username="nina", password="!")
    wallet = Wallet.objects.create(user=newcomer)
    row = rows("wallets")[wallet.pk]
    assert (row["kind"], row["balance"], row["available_balance"], row["escrow_balance"]) == (
        "user",
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )
    chat = Conversation.objects.create(product_owner=newcomer, group_id=ids["group"])
    row = rows("conversations")[chat.pk]
    assert (row["total_proposals"], row["total_completed_projects"]) == (0, 0)
    system_message = Message.objects.create(conversation=chat, sender=None, body="Proposal sent")
    assert json.loads(rows("conversation_messages")[system_message.pk]["metadata"]) == {}

    # A new proposal is not legacy, and may be open beside the two open legacy ones.
    proposal = Proposal.objects.create(
        conversation_id=ids["chat"],
        created_by_id=ids["users"]["lea"],
        title="Redesign",
        price=Money("80.00", "USD"),
    )
    row = rows("project_proposals")[proposal.pk]
    assert (row["is_legacy"], row["status"]) == (False, "pending")
    # ...but only one new open proposal per conversation, and no free ones.
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.create(
            conversation_id=ids["chat"],
            created_by_id=ids["users"]["lea"],
            title="Second open",
            price=Money("10.00", "USD"),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.create(
            conversation_id=chat.pk,
            created_by_id=ids["users"]["lea"],
            title="Free",
            price=Money("0.00", "USD"),
        )

    # The deprecated endpoints keep writing legacy rows.
    project = Project.objects.create(owner=newcomer, title="Poster", budget=Money("20.00", "USD"))
    order = Order.objects.create(project=project, buyer=newcomer, amount=Money("20.00", "USD"))
    assert rows("projects")[project.pk]["is_legacy"] is True
    assert rows("orders")[order.pk]["is_legacy"] is True


# --- 2. the append-only trigger at the latest state ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ledger_refuses_update_and_delete_at_latest_state(migrator):
    from escrow.models import EscrowTransaction, Wallet
    from marketplace.core.models import User

    go_to_clean_latest_state(migrator)
    assert trigger_exists()

    user = User.objects.create(username="payer", password="!")
    wallet = Wallet.objects.create(user=user)
    outside = Wallet.objects.create(kind=Wallet.Kind.EXTERNAL)
    with transaction.atomic():
        entry = EscrowTransaction.objects.create(
            kind=EscrowTransaction.Kind.DEPOSIT,
            amount=Money("12.34", "USD"),
            from_wallet=outside,
            to_wallet=wallet,
            idempotency_key="deposit:trigger-test",
        )
        Wallet.objects.filter(pk=wallet.pk).update(available_balance=D("12.34"), balance=D("12.34"))
    before = rows("escrow_transactions")

    for statement, params in (
        ("UPDATE escrow_transactions SET amount = 0.01 WHERE id = %s", [entry.pk]),
        ("UPDATE escrow_transactions SET memo = 'edited'", []),
        ("DELETE FROM escrow_transactions WHERE id = %s", [entry.pk]),
        ("DELETE FROM escrow_transactions", []),
    ):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            run_sql(statement, params)

    # The ORM goes through the same wall.
    with pytest.raises(IntegrityError), transaction.atomic():
        EscrowTransaction.objects.filter(pk=entry.pk).update(memo="edited")
    with pytest.raises(IntegrityError), transaction.atomic():
        EscrowTransaction.objects.filter(pk=entry.pk).delete()

    assert rows("escrow_transactions") == before
    assert before[entry.pk]["amount"] == D("12.34")
    from escrow.reconcile import find_problems

    assert find_problems() == []


# --- 3. backward -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backward_restores_the_old_schema_with_the_money_new_activity_moved(migrator):
    old_apps = go_to_old_state(migrator)
    ids = seed_old_system(old_apps)
    before = snapshot()
    old_columns = {table: columns(table) for table in OLD_TABLES}

    new_apps = migrator.apply_tested_migration(latest_state()).apps

    # Activity in the new system, written as the ledger writes it.
    Message = new_apps.get_model("marketplace", "Message")
    Wallet = new_apps.get_model("escrow", "Wallet")
    GroupWallet = new_apps.get_model("escrow", "GroupWallet")
    EscrowHold = new_apps.get_model("escrow", "EscrowHold")
    EscrowTransaction = new_apps.get_model("escrow", "EscrowTransaction")
    Proposal = new_apps.get_model("proposals", "Proposal")
    Task = new_apps.get_model("proposals", "Task")
    Dispute = new_apps.get_model("disputes", "Dispute")
    DisputeMessage = new_apps.get_model("disputes", "DisputeMessage")
    users, wallets = ids["users"], ids["wallets"]
    external_usd = Wallet.objects.get(kind="external", balance_currency="USD")

    system_message = Message.objects.create(
        conversation_id=ids["chat"],
        sender=None,
        body="Lea sent a proposal",
        metadata={"event": "proposal_sent"},
    )
    user_message = Message.objects.create(
        conversation_id=ids["chat"], sender_id=users["alice"], body="Looks good"
    )

    # Bob deposits 19.25 USD.
    with transaction.atomic():
        EscrowTransaction.objects.create(
            kind="deposit",
            amount=Money("19.25", "USD"),
            from_wallet=external_usd,
            to_wallet_id=wallets["bob"],
            idempotency_key="deposit:bob:1",
        )
        Wallet.objects.filter(pk=wallets["bob"]).update(
            available_balance=D("19.25"), balance=D("19.25")
        )

    # Alice accepts a new proposal: 100.00 USD moves from her available balance into
    # escrow. Her balance (available + escrow) stays 250.75.
    with transaction.atomic():
        proposal = Proposal.objects.create(
            conversation_id=ids["chat"],
            created_by_id=users["lea"],
            title="Checkout flow",
            price=Money("100.00", "USD"),
            status="accepted",
            platform_fee=Money("10.00", "USD"),
            leader_commission=Money("3.00", "USD"),
            member_pool=Money("87.00", "USD"),
            platform_fee_rate=D("0.1000"),
            leader_commission_rate=D("0.0300"),
        )
        hold = EscrowHold.objects.create(
            buyer_wallet_id=wallets["alice"],
            group_wallet_id=ids["group_wallet"],
            amount=Money("100.00", "USD"),
        )
        EscrowTransaction.objects.create(
            kind="escrow_lock",
            amount=Money("100.00", "USD"),
            from_wallet_id=wallets["alice"],
            to_hold=hold,
            idempotency_key=f"lock:{proposal.pk}",
        )
        Wallet.objects.filter(pk=wallets["alice"]).update(
            available_balance=D("150.75"), escrow_balance=D("100.00")
        )
        # The group wallet shows the escrow held for its deal; its balance is untouched.
        GroupWallet.objects.filter(pk=ids["group_wallet"]).update(escrow_balance=D("100.00"))
        Proposal.objects.filter(pk=proposal.pk).update(escrow_hold=hold, escrow_amount=D("100.00"))
        proposal.participants.add(users["lea"], users["max"], users["mia"])
        Task.objects.create(proposal=proposal, title="Cart", assigned_to_id=users["max"])
        dispute = Dispute.objects.create(
            proposal=proposal,
            opened_by_id=users["alice"],
            reason="Late",
            proposal_status_before="accepted",
        )
        DisputeMessage.objects.create(dispute=dispute, author_id=users["alice"], body="Proof")

    from escrow.reconcile import find_problems

    assert find_problems() == []
    assert rows("wallets")[wallets["alice"]]["balance"] == D("250.75")

    # Back to the old system.
    migrator.apply_tested_migration(OLD_STATE)
    assert applied() == expected_old_applied()

    # The new tables, the new columns and the trigger are gone.
    assert not (set(NEW_TABLES) & tables())
    for table in OLD_TABLES:
        assert columns(table) == old_columns[table], table
    assert not trigger_function_exists()
    message_table = connection.introspection.get_table_description
    with connection.cursor() as cursor:
        sender = next(
            c for c in message_table(cursor, "conversation_messages") if c.name == "sender_id"
        )
    assert sender.null_ok is False

    after = snapshot()

    # Untouched tables are exactly as the old system left them.
    for table in ("users", "groups", "group_members", "conversations", "projects", "orders"):
        assert after[table] == before[table], table

    # Messages: the user messages survive, the system message is gone.
    messages = after["conversation_messages"]
    assert system_message.pk not in messages
    assert messages[user_message.pk]["body"] == "Looks good"
    assert {pk: m for pk, m in messages.items() if pk != user_message.pk} == before[
        "conversation_messages"
    ]

    # Wallets: the old balance column carries what happened in the new system. Bob's
    # deposit is in it; Alice's escrowed money is still hers; the system accounts are gone.
    expected_wallets = {pk: dict(row) for pk, row in before["wallets"].items()}
    expected_wallets[wallets["bob"]]["balance"] = D("19.25")
    assert after["wallets"] == expected_wallets
    assert after["wallets"][wallets["alice"]]["balance"] == D("250.75")
    assert after["wallets"][wallets["lea"]]["balance"] == D("99.99")
    assert after["wallets"][wallets["lea"]]["balance_currency"] == "EUR"
    assert after["group_wallets"] == before["group_wallets"]
    assert after["group_wallets"][ids["group_wallet"]]["balance"] == D("40.00")

    # Old proposals exactly as before; the one made in the new system stays, in old form.
    proposals = after["project_proposals"]
    assert {pk: proposals[pk] for pk in ids["proposals"]} == before["project_proposals"]
    assert (proposals[proposal.pk]["title"], proposals[proposal.pk]["price"]) == (
        "Checkout flow",
        D("100.00"),
    )

    # And forward again: the round trip opens the ledger from the balances as they are now.
    migrator.apply_tested_migration(latest_state())
    opening = sorted(
        (e["amount"], e["to_wallet_id"], e["to_group_wallet_id"])
        for e in rows("escrow_transactions").values()
    )
    assert opening == sorted(
        [
            (D("250.75"), wallets["alice"], None),
            (D("19.25"), wallets["bob"], None),
            (D("99.99"), wallets["lea"], None),
            (D("40.00"), None, ids["group_wallet"]),
        ]
    )
    assert find_problems() == []


# --- 4. every migration reverses; the models and migrations agree ----------------------


@pytest.mark.django_db(transaction=True)
def test_every_migration_reverses_to_zero_and_back(migrator):
    go_to_clean_latest_state(migrator)
    graph = MigrationLoader(None, ignore_no_migrations=True).graph

    # Step back one migration at a time, newest first, so every reverse runs on its own.
    order = []
    for leaf in sorted(k for k in graph.leaf_nodes() if k[0] in APPS):
        for key in graph.forwards_plan(leaf):
            if key[0] in APPS and key not in order:
                order.append(key)
    for app_label, name in reversed(order):
        if (app_label, name) not in applied():
            continue  # already unapplied as a dependant of an earlier step back
        previous = [
            parent
            for parent in graph.node_map[(app_label, name)].parents
            if parent.key[0] == app_label
        ]
        target = previous[0].key[1] if previous else "zero"
        call_command("migrate", app_label, target, verbosity=0)
        assert (app_label, name) not in applied()

    assert applied() == set()
    assert not ({*OLD_TABLES, *NEW_TABLES} & tables())
    assert not trigger_function_exists()

    call_command("migrate", verbosity=0)
    assert applied() == expected_latest_applied()
    assert {*OLD_TABLES, *NEW_TABLES} <= tables()
    assert trigger_exists()

    from escrow.reconcile import find_problems

    assert find_problems() == []


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()

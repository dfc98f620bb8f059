"""Staff roles as auth groups: "support" resolves disputes; "finance" releases and refunds
escrow and adjusts wallets (and reads the platform-fee statement). Any other staff user
sees the admin but moves no money.

The permissions are created here rather than waiting for `post_migrate`, so the groups
get them on a fresh database too; reversing removes the two groups (the permissions stay
with their models' Meta, as Django keeps them).
"""

from django.db import migrations

PERMISSIONS = {
    "disputes.dispute.resolve_dispute": "Can resolve a dispute (refund, release or split)",
    "proposals.proposal.release_escrow": "Can release a proposal's escrow (admin)",
    "proposals.proposal.refund_escrow": "Can refund a proposal's escrow (admin)",
    "escrow.escrowtransaction.adjust_wallet": "Can adjust a wallet's balance with a ledger entry",
    "escrow.escrowtransaction.view_fee_statement": "Can export the platform fees by month",
}
ROLES = {
    "support": ["disputes.dispute.resolve_dispute"],
    "finance": [
        "proposals.proposal.release_escrow",
        "proposals.proposal.refund_escrow",
        "escrow.escrowtransaction.adjust_wallet",
        "escrow.escrowtransaction.view_fee_statement",
    ],
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    db = schema_editor.connection.alias
    permissions = {}
    for dotted, name in PERMISSIONS.items():
        app_label, model, codename = dotted.split(".")
        content_type, _ = ContentType.objects.using(db).get_or_create(
            app_label=app_label, model=model
        )
        permissions[dotted], _ = Permission.objects.using(db).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for role, dotted_names in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        group.permissions.add(*(permissions[dotted] for dotted in dotted_names))


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("disputes", "0002_indexes"),
        ("proposals", "0006_auto_release_reminders"),
        ("escrow", "0007_adjustment_kind"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="dispute",
            options={
                "permissions": [
                    ("resolve_dispute", "Can resolve a dispute (refund, release or split)")
                ]
            },
        ),
        migrations.RunPython(create_roles, remove_roles),
    ]

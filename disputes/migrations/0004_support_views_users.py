"""The user admin is no longer open to every staff user: it needs `marketplace.view_user`
(the user model is `marketplace.User`), which superusers have and which this gives to the
"support" role, who look up the buyers and the groups' members of the disputes they
resolve. They see users read-only, without the password field; no one sees API tokens
there. "finance" does not get it: the wallet, escrow and ledger pages name the users they
need. A staff user without a role does not see the users at all.

The permission is created here if `post_migrate` has not made it yet (a fresh database),
as 0003 does; reversing takes it from the role again.
"""

from django.db import migrations

PERMISSIONS = {"marketplace.user.view_user": "Can view user"}
# Added to the roles of 0003 (seed_demo reads both).
ROLES = {"support": ["marketplace.user.view_user"]}


def _permissions(apps, db):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    permissions = {}
    for dotted, name in PERMISSIONS.items():
        app_label, model, codename = dotted.split(".")
        content_type, _ = ContentType.objects.using(db).get_or_create(
            app_label=app_label, model=model
        )
        permissions[dotted], _ = Permission.objects.using(db).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    return permissions


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    db = schema_editor.connection.alias
    permissions = _permissions(apps, db)
    for role, dotted_names in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        group.permissions.add(*(permissions[dotted] for dotted in dotted_names))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for role, dotted_names in ROLES.items():
        for dotted in dotted_names:
            app_label, model, codename = dotted.split(".")
            permission = Permission.objects.using(db).filter(
                content_type__app_label=app_label, content_type__model=model, codename=codename
            )
            for group in Group.objects.using(db).filter(name=role):
                group.permissions.remove(*permission)


class Migration(migrations.Migration):
    dependencies = [
        ("disputes", "0003_staff_roles"),
        ("marketplace", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(grant, revoke),
    ]

from django.db import migrations

NEW_WORKFLOW = "new_workflow"


def create_flag(apps, schema_editor):
    """The new workflow starts on for everyone; to roll it out gradually instead, set the
    flag's "everyone" to unknown in the admin and name a percentage, users or groups."""
    Flag = apps.get_model("waffle", "Flag")
    Flag.objects.get_or_create(
        name=NEW_WORKFLOW,
        defaults={"everyone": True, "note": "Proposals, tasks and disputes (the escrow workflow)."},
    )


def delete_flag(apps, schema_editor):
    apps.get_model("waffle", "Flag").objects.filter(name=NEW_WORKFLOW).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0005_rollout_flag_groups"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [migrations.RunPython(create_flag, delete_flag)]

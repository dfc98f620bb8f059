"""Usernames and group names get their look-alike skeleton (`marketplace.core.names`),
filled in for the rows there are; group descriptions are capped."""

from django.db import migrations, models

from marketplace.core.names import skeleton


def fill_skeletons(apps, schema_editor):
    for model_name, name_field, skeleton_field in (
        ("User", "username", "username_skeleton"),
        ("Group", "name", "name_skeleton"),
    ):
        model = apps.get_model("marketplace", model_name)
        rows = list(model.objects.only("pk", name_field))
        for row in rows:
            setattr(row, skeleton_field, skeleton(getattr(row, name_field)))
        model.objects.bulk_update(rows, [skeleton_field], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0011_idempotency_response_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="group",
            name="name_skeleton",
            field=models.TextField(db_index=True, default="", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="user",
            name="username_skeleton",
            field=models.TextField(db_index=True, default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(fill_skeletons, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="group",
            name="description",
            field=models.TextField(blank=True, max_length=2000),
        ),
    ]

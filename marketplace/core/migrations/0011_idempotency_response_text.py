"""Idempotency replays are byte for byte: the stored response body becomes the JSON text
as it was produced, keys in their order (a jsonb column reorders them). Existing bodies
are kept as their JSON text; a body not written yet is the empty string. Reversible."""

from django.db import migrations, models


def empty_for_null(apps, schema_editor):
    IdempotencyRecord = apps.get_model("marketplace", "IdempotencyRecord")
    IdempotencyRecord.objects.filter(response_body__isnull=True).update(response_body="")


def null_for_empty(apps, schema_editor):
    IdempotencyRecord = apps.get_model("marketplace", "IdempotencyRecord")
    IdempotencyRecord.objects.filter(response_body="").update(response_body=None)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0010_drop_plaintext_api_tokens"),
    ]

    operations = [
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response_body",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.RunPython(empty_for_null, null_for_empty),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response_body",
            field=models.TextField(blank=True, default=""),
        ),
    ]

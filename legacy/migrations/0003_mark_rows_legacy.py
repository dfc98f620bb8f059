from django.db import migrations, models


def mark_legacy(apps, schema_editor):
    """Every project and order that exists now was made by the old system."""
    for name in ("Project", "Order"):
        apps.get_model("legacy", name).objects.update(is_legacy=True)


class Migration(migrations.Migration):
    dependencies = [("legacy", "0002_is_legacy")]

    operations = [
        migrations.RunPython(mark_legacy, migrations.RunPython.noop),
        # The deprecated endpoints keep writing to these tables: what they write is legacy too.
        migrations.AlterField(
            model_name="order", name="is_legacy", field=models.BooleanField(default=True)
        ),
        migrations.AlterField(
            model_name="project", name="is_legacy", field=models.BooleanField(default=True)
        ),
    ]

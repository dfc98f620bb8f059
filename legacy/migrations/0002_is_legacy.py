from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("legacy", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order", name="is_legacy", field=models.BooleanField(default=False)
        ),
        migrations.AddField(
            model_name="project", name="is_legacy", field=models.BooleanField(default=False)
        ),
    ]

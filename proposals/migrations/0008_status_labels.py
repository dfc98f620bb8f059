# One label per status on every page: "In progress", "To do" (issue 14, finding 7).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0007_task_status_check"),
    ]

    operations = [
        migrations.AlterField(
            model_name="proposal",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("accepted", "Accepted"),
                    ("in_progress", "In progress"),
                    ("delivered", "Delivered"),
                    ("completed", "Completed"),
                    ("rejected", "Rejected"),
                    ("withdrawn", "Withdrawn"),
                    ("cancelled", "Cancelled"),
                    ("disputed", "Disputed"),
                    ("refunded", "Refunded"),
                    ("settled", "Settled"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="status",
            field=models.CharField(
                choices=[("todo", "To do"), ("in_progress", "In progress"), ("done", "Done")],
                default="todo",
                max_length=20,
            ),
        ),
    ]

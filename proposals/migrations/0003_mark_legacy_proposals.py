from django.db import migrations


def mark_existing_proposals_legacy(apps, schema_editor):
    """Every proposal written by the old system is history: no escrow was held for it."""
    Proposal = apps.get_model("proposals", "Proposal")
    Proposal.objects.update(is_legacy=True)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0002_escrow_fields_and_tasks")]

    # Backwards there is nothing to undo: 0002's reversal drops the column.
    operations = [migrations.RunPython(mark_existing_proposals_legacy, migrations.RunPython.noop)]

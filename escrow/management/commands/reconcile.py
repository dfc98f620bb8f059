from django.core.management.base import BaseCommand, CommandError

from escrow.models import EscrowTransaction
from escrow.reconcile import find_problems


class Command(BaseCommand):
    help = (
        "Recompute every balance from the escrow transactions and check the ledger "
        "invariants. Exits 0 when clean, non-zero with a report otherwise."
    )

    def handle(self, *args, **options):
        problems = find_problems()
        count = EscrowTransaction.objects.count()
        if problems:
            for problem in problems:
                self.stderr.write(f"  - {problem}")
            raise CommandError(
                f"Ledger NOT clean: {len(problems)} problem(s) in {count} transactions."
            )
        self.stdout.write(self.style.SUCCESS(f"Ledger clean: {count} transactions reconciled."))

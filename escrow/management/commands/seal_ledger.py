from django.core.management.base import BaseCommand

from escrow.sealing import seal_ledger


class Command(BaseCommand):
    help = (
        "Seal the unsealed escrow transactions, in id order, into a new hash-chained seal. "
        "Never blocks a money operation; safe to run on several hosts at once."
    )

    def handle(self, *args, **options):
        seal = seal_ledger()
        if seal is None:
            self.stdout.write("seal_ledger: nothing to seal.")
        else:
            self.stdout.write(
                f"seal_ledger: seal #{seal.pk} sealed {seal.row_count} transaction(s) "
                f"through #{seal.sealed_through_id}: {seal.hash}"
            )

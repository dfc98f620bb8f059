from django.core.management.base import BaseCommand

from marketplace.core.idempotency import purge_expired


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key responses older than 24 hours (run it from cron)."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {purge_expired()} expired idempotency record(s).")

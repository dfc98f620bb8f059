"""`manage.py auto_release`: release the escrow of delivered proposals whose buyer let
the release time pass, and send the reminders before it (`proposals.auto_release`).

One pass by default (for cron); `--loop --interval 60` keeps running, a pass a minute,
which is how `make run` starts it beside the web server, and also seals the ledger each
pass (`manage.py seal_ledger`). Safe on several hosts at once.
"""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from escrow.sealing import seal_ledger
from proposals.auto_release import auto_release_pass


class Command(BaseCommand):
    help = "Release due escrow automatically and remind buyers before it happens."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running.")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="Seconds between passes with --loop."
        )

    def handle(self, *args, loop=False, interval=60.0, **options):
        self._stopping = False
        if loop:
            signal.signal(signal.SIGTERM, self._stop)
        while True:
            try:
                result = auto_release_pass()
            except Exception as error:  # keep the loop alive; the next pass retries
                if not loop:
                    raise
                self.stderr.write(f"auto_release pass failed: {error!r}")
            else:
                if result.released or result.reminded or not loop:
                    self.stdout.write(
                        f"auto_release: released {len(result.released)}, "
                        f"reminded {len(result.reminded)}, skipped {result.skipped}, "
                        f"extended {result.not_due}"
                    )
            if not loop or self._stopping:
                return
            self._seal()
            self._sleep(interval)
            if self._stopping:
                return
            # A long-running process: drop connections the database closed meanwhile.
            close_old_connections()

    def _seal(self) -> None:
        try:
            seal = seal_ledger()
        except Exception as error:  # keep the loop alive; the next pass seals the rest
            self.stderr.write(f"seal_ledger failed: {error!r}")
        else:
            if seal is not None:
                self.stdout.write(f"seal_ledger: seal #{seal.pk} through #{seal.sealed_through_id}")

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))

    def _stop(self, signum, frame):
        self._stopping = True

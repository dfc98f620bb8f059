"""Background work of the escrow, run by the task worker (`manage.py db_worker`): calls
to the payment provider, an outside service, never run inside a request. Each task is
enqueued in the transaction that posted its ledger entry, so a rolled-back withdrawal
pays nothing out, and carries the ledger key as the provider's reference, so a retried
task cannot pay twice at a provider that honours references."""

from django.tasks import task
from djmoney.money import Money

from .payments import payment_provider


@task()
def withdrawal_payout(*, user_id: int, amount: str, currency: str, reference: str) -> None:
    payment_provider().payout(user_id=user_id, amount=Money(amount, currency), reference=reference)

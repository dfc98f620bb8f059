from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField


class Proposal(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        COMPLETED = "completed"

    conversation = models.ForeignKey(
        "marketplace.Conversation", on_delete=models.CASCADE, related_name="proposals"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "project_proposals"

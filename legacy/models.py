from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField


class Project(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    budget = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    status = models.CharField(max_length=20, default="open")
    # Every row of the old system is legacy; the deprecated endpoints still write here.
    is_legacy = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Where the project went in the new flow (status CONTINUED), and when.
    continued_conversation = models.ForeignKey(
        "marketplace.Conversation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legacy_projects",
    )
    continued_at = models.DateTimeField(null=True, blank=True)

    CONTINUED = "continued"

    class Meta:
        db_table = "projects"
        constraints = [
            models.CheckConstraint(
                name="project_continued_has_conversation",
                condition=(
                    models.Q(
                        status="continued",
                        continued_conversation__isnull=False,
                        continued_at__isnull=False,
                    )
                    | (
                        ~models.Q(status="continued")
                        & models.Q(continued_conversation__isnull=True, continued_at__isnull=True)
                    )
                ),
            )
        ]

    def __str__(self):
        return self.title


class Order(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    status = models.CharField(max_length=20, default="placed")
    is_legacy = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders"

    def __str__(self):
        return f"Order #{self.pk}"

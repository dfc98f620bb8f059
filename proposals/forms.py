"""Forms of the proposal and task pages: they parse input, the services decide."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from escrow.money import parse_amount
from marketplace.core.errors import DomainError
from marketplace.core.limits import DESCRIPTION_MAX_LENGTH
from marketplace.core.pages import friendly_message

from .models import TASK_POINTS_MAX, TASK_POINTS_MIN, Proposal, Task


class ProposalForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Parsed by `escrow.money.parse_amount` in `clean`, like the API does.
    price = forms.CharField(
        max_length=20,
        help_text="For example 1000.00.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(
        choices=[(code, code) for code in settings.CURRENCIES], initial=settings.DEFAULT_CURRENCY
    )
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    pool_split = forms.ChoiceField(
        label="How the member pool is shared",
        choices=Proposal.PoolSplit.choices,
        initial=Proposal.PoolSplit.EQUAL,
        required=False,
        help_text="By finished task points: each member's share follows the points of the "
        "done tasks assigned to them (equal shares while no task is done).",
    )

    def clean(self):
        data = super().clean()
        if "price" in data and "currency" in data:
            try:
                data["price"] = parse_amount(data["price"], data["currency"], field="price")
            except DomainError as error:
                self.add_error("price", ValidationError(friendly_message(error), code=error.code))
        return data


class RequestChangesForm(forms.Form):
    note = forms.CharField(
        label="What should change?", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def _member_choices(members, *, blank: str):
    return [("", blank)] + [(str(user.pk), user.username) for user in members]


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    assignee = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # Absent (an older form) means the default, 1.
    points = forms.IntegerField(
        min_value=TASK_POINTS_MIN, max_value=TASK_POINTS_MAX, initial=1, required=False
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = _member_choices(members, blank="Nobody yet")


class TaskMoveForm(forms.Form):
    status = forms.ChoiceField(choices=Task.Status.choices)


class TaskAssignForm(forms.Form):
    assignee = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Assignee"
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = _member_choices(members, blank="Nobody")

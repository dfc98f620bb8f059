"""Forms of the core pages. They only parse input; the services decide."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import UsernameField

from .accounts import username_refusal
from .limits import GROUP_DESCRIPTION_MAX_LENGTH, SEARCH_MAX_LENGTH, SKILL_MAX_LENGTH

User = get_user_model()


class SignUpForm(forms.Form):
    username = UsernameField(
        max_length=150,
        validators=User._meta.get_field("username").validators,
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label="Password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if refusal := username_refusal(username):
            raise forms.ValidationError(refusal)
        return username

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first and data.get("username"):
            candidate = User(username=data["username"], email=data.get("email", ""))
            try:
                password_validation.validate_password(first, user=candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class GroupSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=SEARCH_MAX_LENGTH)
    skill = forms.CharField(label="Skill", required=False, max_length=SKILL_MAX_LENGTH)


def _split_skills(raw: str) -> list[str]:
    return [skill for skill in (raw or "").split(",") if skill.strip()]


class GroupCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(
        required=False,
        max_length=GROUP_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    skills = forms.CharField(
        required=False, max_length=1000, help_text="Separated by commas, e.g. django, design."
    )

    def clean_skills(self) -> list[str]:
        skills = _split_skills(self.cleaned_data["skills"])
        if len(skills) > 30:
            raise forms.ValidationError("At most 30 skills.")
        if any(len(skill.strip()) > SKILL_MAX_LENGTH for skill in skills):
            raise forms.ValidationError(f"Each skill has at most {SKILL_MAX_LENGTH} characters.")
        return skills


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username of the new member")


class LeadershipTransferForm(forms.Form):
    new_leader = forms.TypedChoiceField(coerce=int, label="New leader")

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_leader"].choices = [(user.pk, user.username) for user in members]


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message", max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

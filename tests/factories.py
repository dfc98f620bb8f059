import factory
from django.contrib.auth import get_user_model

from marketplace.models import Conversation, Group, GroupMembership


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class GroupFactory(factory.django.DjangoModelFactory):
    """A group whose leader is its first member. Pass `members=[...]` to add more, in
    order of joining."""

    class Meta:
        model = Group
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Group {n}")
    description = "We build things."
    skills = factory.LazyFunction(lambda: ["django", "design"])
    leader = factory.SubFactory(UserFactory)

    @factory.post_generation
    def members(group, create, extracted, **kwargs):
        if not create:
            return
        GroupMembership.objects.create(group=group, user=group.leader)
        for member in extracted or ():
            GroupMembership.objects.create(group=group, user=member)


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    product_owner = factory.SubFactory(UserFactory)
    group = factory.SubFactory(GroupFactory)

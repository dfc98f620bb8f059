"""The new workflow's feature flag: everyone, a percentage of users, named users, auth
groups and marketplace groups; off means a clear refusal."""

import pytest
from django.contrib.auth.models import Group as AuthGroup
from waffle.models import Flag

from marketplace.core.errors import Forbidden
from marketplace.core.models import FlagGroup
from marketplace.core.rollout import NEW_WORKFLOW, flag_active_for, require_new_workflow
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag():
    flag = Flag.objects.get(name=NEW_WORKFLOW)  # created by a data migration
    flag.everyone = None
    flag.save()
    return flag


def test_the_migration_turns_the_new_workflow_on_for_everyone():
    flag = Flag.objects.get(name=NEW_WORKFLOW)
    assert flag.everyone is True
    assert flag_active_for(UserFactory())


def test_off_for_everyone_refuses_with_a_code(flag):
    flag.everyone = False
    flag.save()
    with pytest.raises(Forbidden) as refusal:
        require_new_workflow(UserFactory())
    assert refusal.value.code == "new_workflow_disabled"
    assert refusal.value.status == 403


def test_a_missing_flag_leaves_the_new_workflow_on():
    Flag.objects.filter(name=NEW_WORKFLOW).delete()
    assert flag_active_for(UserFactory())


def test_named_users(flag):
    chosen, other = UserFactory(), UserFactory()
    flag.users.add(chosen)
    assert flag_active_for(chosen)
    assert not flag_active_for(other)


def test_auth_groups(flag):
    testers = AuthGroup.objects.create(name="beta testers")
    tester, other = UserFactory(), UserFactory()
    tester.groups.add(testers)
    flag.groups.add(testers)
    assert flag_active_for(tester)
    assert not flag_active_for(other)


def test_marketplace_groups_enable_their_members_only(flag):
    member, outsider = UserFactory(), UserFactory()
    group = GroupFactory(members=[member])
    FlagGroup.objects.create(flag=flag, group=group)
    assert flag_active_for(member)
    assert flag_active_for(group.leader)
    assert not flag_active_for(outsider)


def test_a_percentage_is_decided_per_user_and_stable(flag):
    flag.percent = 30
    flag.save()
    users = [UserFactory() for _ in range(300)]
    first = [flag_active_for(user) for user in users]
    again = [flag_active_for(user) for user in users]
    assert first == again
    share = sum(first) / len(users)
    assert 0.2 < share < 0.4, share


def test_zero_percent_and_no_names_is_off(flag):
    assert not flag_active_for(UserFactory())

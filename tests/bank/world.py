"""The bank's world, made once before the workers start: buyers, groups of freelancers
with their conversations, a pool of freelancers the leaders can add, and a support
agent who resolves disputes. Every user gets an API token; `World` is what the workers
read (as JSON) to know who is who."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup

from marketplace.core.models import GroupMembership
from marketplace.core.services import conversation_open, group_create
from tests.conftest import issue_token


@dataclass
class World:
    tokens: dict[str, str]  # user id (as a string: JSON keys) -> API token
    buyers: list[int]
    freelancers: list[int]
    support: list[int]
    groups: list[int]
    # Who was in each group and who led it when the run began.
    initial_members: dict[str, list[int]]
    initial_leaders: dict[str, int]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> "World":
        return cls(**json.loads(Path(path).read_text()))


def _user(username: str):
    # No password (the workers use API tokens): hashing one costs more than the whole world.
    return get_user_model().objects.create_user(username=username, email=f"{username}@bank.test")


def world_create(*, buyers: int = 6, groups: int = 4, members_per_group: int = 3) -> World:
    buyer_users = [_user(f"buyer{n}") for n in range(buyers)]
    freelancers = [_user(f"free{n}") for n in range(groups * (members_per_group + 2))]
    support = [_user(f"support{n}") for n in range(2)]
    support_role = AuthGroup.objects.get(name="support")
    for agent in support:
        agent.is_staff = True
        agent.save(update_fields=["is_staff"])
        agent.groups.add(support_role)

    group_ids = []
    for index in range(groups):
        crew = freelancers[index * (members_per_group + 2) :][:members_per_group]
        group = group_create(leader=crew[0], name=f"Crew {index}", skills=["bank"])
        for member in crew[1:]:
            GroupMembership.objects.create(group=group, user=member)
        for buyer in buyer_users:
            conversation_open(buyer=buyer, group=group)
        group_ids.append(group.pk)

    everyone = [*buyer_users, *freelancers, *support]
    return World(
        tokens={str(user.pk): issue_token(user) for user in everyone},
        buyers=[user.pk for user in buyer_users],
        freelancers=[user.pk for user in freelancers],
        support=[user.pk for user in support],
        groups=group_ids,
        initial_members={
            str(group_id): list(
                GroupMembership.objects.filter(group_id=group_id).values_list("user_id", flat=True)
            )
            for group_id in group_ids
        },
        initial_leaders={
            str(group_id): freelancers[index * (members_per_group + 2)].pk
            for index, group_id in enumerate(group_ids)
        },
    )

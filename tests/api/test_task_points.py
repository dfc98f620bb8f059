"""Pool by finished work (CONTRACT.md, "Additions"): tasks carry `points`, a proposal's
`pool_split` may be `task_points`, and the release splits the member pool by the points
of each participant's done tasks with the largest-remainder rule, to the cent."""

import pytest

from proposals.models import Proposal, Task
from proposals.services import proposal_accept, proposal_deliver, task_create, task_update
from tests.factories import UserFactory
from tests.proposals.factories import expect, make_team, money_state

pytestmark = pytest.mark.django_db
S = Proposal.Status


@pytest.fixture
def team():
    # m2 joined before m1: the order of joining differs from the order of ids.
    return make_team(members=2, deposit="1500.00", joined_order=["leader", "m2", "m1"])


def create_proposal(client, team, price="100.00", **extra):
    body = {"conversation_id": team.conversation.pk, "title": "Shop", "price": price, **extra}
    return client.post("/api/proposals/create", body, format="json")


def accepted(client_for, team, price="100.00", pool_split="task_points") -> Proposal:
    response = create_proposal(client_for(team.leader), team, price, pool_split=pool_split)
    assert response.status_code == 201, response.json()
    proposal = Proposal.objects.get(pk=response.json()["id"])
    return proposal_accept(proposal=proposal, actor=team.buyer)


def done_task(team, proposal, assignee, points) -> Task:
    task = task_create(
        proposal=proposal, actor=team.leader, title="Work", assigned_to=assignee, points=points
    )
    return task_update(task=task, actor=team.leader, status=Task.Status.DONE)


def shares(client, proposal) -> list[tuple[int, int | None, str]]:
    response = client.get(f"/api/proposals/{proposal.pk}")
    assert response.status_code == 200
    return [(s["user"]["id"], s["points"], s["share"]) for s in response.json()["pool_shares"]]


def confirm(client_for, team, proposal):
    proposal_deliver(proposal=proposal, actor=team.leader)
    response = client_for(team.buyer).post(f"/api/proposals/{proposal.pk}/confirm", format="json")
    assert response.status_code == 200, response.json()
    return response


def test_the_worked_example_three_way_with_a_leftover_cent_and_a_tie(
    client_for, team, ledger_clean
):
    """100.00: fee 10.00, commission 3.00, pool 87.00 = 8700 cents. Done points leader 2,
    m1 3, m2 3 (total 8): 2175.00, 3262.50, 3262.50 → floors 2175, 3262, 3262 (8699);
    the one leftover cent goes to the tied remainders' earlier joiner, m2."""
    leader, (m1, m2) = team.leader, team.members
    proposal = accepted(client_for, team)
    done_task(team, proposal, leader, 2)
    done_task(team, proposal, m1, 3)
    done_task(team, proposal, m2, 3)
    # An undone task counts for nothing.
    task_create(proposal=proposal, actor=team.leader, title="Later", assigned_to=m1, points=50)

    # Order of joining: leader, m2, m1.
    expected = [(leader.pk, 2, "21.75"), (m2.pk, 3, "32.63"), (m1.pk, 3, "32.62")]
    assert shares(client_for(team.buyer), proposal) == expected
    confirm(client_for, team, proposal)

    assert money_state(team) == expect(
        team,
        buyer=("1400.00", "0.00"),
        leader=("24.75", "0.00"),  # 3.00 commission + 21.75 share
        m1=("32.62", "0.00"),
        m2=("32.63", "0.00"),
        group=("0.00", "90.00"),
        platform="10.00",
    )
    assert shares(client_for(team.buyer), proposal) == []
    ledger_clean()


def test_weight_zero_gets_nothing_and_the_first_joiner_wins_a_three_way_tie(
    client_for, ledger_clean
):
    """1000.00: pool 870.00 = 87000 cents. Points leader 5, m2 2, m1 2 → 48333.33,
    19333.33, 19333.33 (remainders tied): the leftover cent to the leader, who joined first."""
    team = make_team(members=3, deposit="1500.00", joined_order=["leader", "m2", "m1", "m3"])
    leader, (m1, m2, m3) = team.leader, team.members
    proposal = accepted(client_for, team, price="1000.00")
    done_task(team, proposal, leader, 5)
    done_task(team, proposal, m1, 2)
    done_task(team, proposal, m2, 2)

    assert shares(client_for(m3), proposal) == [
        (leader.pk, 5, "483.34"),
        (m2.pk, 2, "193.33"),
        (m1.pk, 2, "193.33"),
        (m3.pk, 0, "0.00"),
    ]
    confirm(client_for, team, proposal)

    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        leader=("513.34", "0.00"),
        m1=("193.33", "0.00"),
        m2=("193.33", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


def test_no_done_points_falls_back_to_equal_shares(client_for, team, ledger_clean):
    """87.00 among three with no done task: 29.00 each."""
    proposal = accepted(client_for, team)
    task_create(proposal=proposal, actor=team.leader, title="Open", assigned_to=team.leader)

    confirm(client_for, team, proposal)

    assert money_state(team) == expect(
        team,
        buyer=("1400.00", "0.00"),
        leader=("32.00", "0.00"),
        m1=("29.00", "0.00"),
        m2=("29.00", "0.00"),
        group=("0.00", "90.00"),
        platform="10.00",
    )
    ledger_clean()


def test_equal_stays_the_default_and_ignores_points(client_for, team, ledger_clean):
    """An equal pool of 87.01 (price 100.01): 29.01 to the first joiner, 29.00 to the
    others, whatever the done points say."""
    response = create_proposal(client_for(team.leader), team, "100.01")
    assert response.json()["pool_split"] == "equal"
    proposal = proposal_accept(
        proposal=Proposal.objects.get(pk=response.json()["id"]), actor=team.buyer
    )
    done_task(team, proposal, team.members[0], 90)

    assert [share for _, points, share in shares(client_for(team.buyer), proposal)] == [
        "29.01",
        "29.00",
        "29.00",
    ]
    confirm(client_for, team, proposal)
    assert money_state(team)["m1"] == ("29.00", "0.00")
    assert money_state(team)["leader"] == ("32.01", "0.00")
    ledger_clean()


def test_the_buyer_sees_the_rule_and_the_shares_before_accepting(client_for, team):
    response = create_proposal(client_for(team.leader), team, pool_split="task_points")
    assert response.status_code == 201
    assert response.json()["pool_split"] == "task_points"
    proposal = Proposal.objects.get(pk=response.json()["id"])

    body = client_for(team.buyer).get(f"/api/proposals/{proposal.pk}").json()

    assert body["pool_split"] == "task_points"
    assert [(s["points"], s["share"]) for s in body["pool_shares"]] == [(0, "29.00")] * 3


def test_an_unknown_pool_split_is_refused(client_for, team):
    response = create_proposal(client_for(team.leader), team, pool_split="by_mood")

    assert response.status_code == 400
    assert "pool_split" in response.json()["error"]["fields"]
    assert not Proposal.objects.exists()


# --- points on tasks ----------------------------------------------------------------


def test_points_on_create_default_and_patch_by_the_leader(client_for, team):
    proposal = accepted(client_for, team)
    leader = client_for(team.leader)

    plain = leader.post(
        "/api/tasks/create", {"proposal_id": proposal.pk, "title": "A"}, format="json"
    )
    heavy = leader.post(
        "/api/tasks/create", {"proposal_id": proposal.pk, "title": "B", "points": 8}, format="json"
    )
    patched = leader.patch(f"/api/tasks/{plain.json()['id']}", {"points": 13}, format="json")

    assert plain.json()["points"] == 1
    assert heavy.json()["points"] == 8
    assert patched.status_code == 200
    assert patched.json()["points"] == 13
    assert Task.objects.get(pk=plain.json()["id"]).points == 13


@pytest.mark.parametrize("points", [0, 101, -1, "many", 2.5])
def test_points_out_of_range_are_refused(client_for, team, points):
    proposal = accepted(client_for, team)
    leader = client_for(team.leader)
    task = task_create(proposal=proposal, actor=team.leader, title="A")

    created = leader.post(
        "/api/tasks/create",
        {"proposal_id": proposal.pk, "title": "B", "points": points},
        format="json",
    )
    patched = leader.patch(f"/api/tasks/{task.pk}", {"points": points}, format="json")

    for response in (created, patched):
        assert response.status_code == 400
        assert "points" in response.json()["error"]["fields"]
    assert list(Task.objects.values_list("points", flat=True)) == [1]


def test_only_the_leader_changes_points(client_for, team):
    proposal = accepted(client_for, team)
    m1 = team.members[0]
    task = task_create(proposal=proposal, actor=team.leader, title="A", assigned_to=m1)

    by_assignee = client_for(m1).patch(f"/api/tasks/{task.pk}", {"points": 9}, format="json")
    by_buyer = client_for(team.buyer).patch(f"/api/tasks/{task.pk}", {"points": 9}, format="json")
    by_stranger = client_for(UserFactory()).patch(
        f"/api/tasks/{task.pk}", {"points": 9}, format="json"
    )

    assert by_assignee.status_code == 403
    assert by_assignee.json()["error"]["code"] == "permission_denied"
    assert by_buyer.status_code == 403
    assert by_stranger.status_code == 404
    task.refresh_from_db()
    assert task.points == 1


def test_a_stranger_cannot_read_the_shares(client_for, team):
    proposal = accepted(client_for, team)

    response = client_for(UserFactory()).get(f"/api/proposals/{proposal.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_query_budgets(client_for, team, django_assert_max_num_queries):
    proposal = accepted(client_for, team)
    for member in team.members:
        done_task(team, proposal, member, 2)
    buyer, leader = client_for(team.buyer), client_for(team.leader)

    with django_assert_max_num_queries(12):
        assert buyer.get(f"/api/proposals/{proposal.pk}").status_code == 200
    with django_assert_max_num_queries(25):
        created = leader.post(
            "/api/tasks/create",
            {"proposal_id": proposal.pk, "title": "B", "points": 3},
            format="json",
        )
        assert created.status_code == 201
    with django_assert_max_num_queries(25):
        patched = leader.patch(f"/api/tasks/{created.json()['id']}", {"points": 4}, format="json")
        assert patched.status_code == 200

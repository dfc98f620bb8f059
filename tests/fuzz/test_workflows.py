"""Stateful fuzzing: Schemathesis chains operations through the links it infers from the
schema (an id one response returns is the path or body parameter of the next call:
`GET /api/proposals` → `POST /api/proposals/{proposal_id}/accept`, `POST /api/groups` →
`DELETE /api/groups/{group_id}` …), as the roles who own data in the world.

Every step is checked as in `test_operations`: no 5xx, the schema kept, and no balance or
ledger row changed by a step that did not succeed."""

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from .money import assert_money_unchanged_unless_success, money_snapshot
from .schema import EXCLUDED_CHECKS, auth_headers, schema

# Bounded so that the whole fuzz run stays within two minutes on two cores.
SCENARIOS_PER_ROLE = 6
STEPS_PER_SCENARIO = 8


class MoneyKeepingWorkflow(schema.as_state_machine()):
    headers: dict = {}

    def get_call_kwargs(self, case):
        return {"headers": self.headers}

    def before_call(self, case):
        super().before_call(case)
        self.money_before = money_snapshot()

    def after_call(self, response, case):
        super().after_call(response, case)
        assert_money_unchanged_unless_success(response.status_code, self.money_before)

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=EXCLUDED_CHECKS,
            headers=self.headers,
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_the_schema_links_operations():
    assert MoneyKeepingWorkflow.schema.statistic.transitions.total > 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["buyer", "leader", "member", "support"])
def test_workflows(role, world, wsgi_app):
    workflow = type(
        f"{role.title()}Workflow", (MoneyKeepingWorkflow,), {"headers": auth_headers(world, role)}
    )
    workflow.run(
        settings=hypothesis_settings(
            max_examples=SCENARIOS_PER_ROLE,
            stateful_step_count=STEPS_PER_SCENARIO,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )

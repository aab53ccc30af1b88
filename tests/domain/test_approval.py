"""The home's approval policy: every rule of approval_decision, and the order it applies
them in."""

from __future__ import annotations

from typing import Any

import pytest

from functions.domain.approval import approval_decision
from schemas.orders import PartSelection, Urgency
from schemas.registry import ApprovalPolicy
from tests.factories import a_diagnosis, a_home

GUIDE = "Clean the drain filter"


def decide(
    policy: ApprovalPolicy,
    *,
    cost: float = 120.0,
    urgency: Urgency = Urgency.NORMAL,
    self_fix: str | None = None,
    **facts: Any,
) -> str | None:
    return approval_decision(
        a_home(policy=policy),
        a_diagnosis(urgency=urgency, self_fix=self_fix),
        PartSelection(total_cost=cost),
        **facts,
    )


def test_the_default_policy_approves_an_emergency_at_once_whatever_it_costs():
    # Given the default policy: no auto-approval, no ceiling, emergencies always
    default = ApprovalPolicy()
    assert not default.auto_approve and default.emergencies_always
    # When a gas leak is reported, however expensive
    reason = decide(default, urgency=Urgency.EMERGENCY, cost=5000.0)
    # Then it is approved, and the history will say why
    assert reason == "approval policy: emergencies are always approved"


def test_an_emergency_is_approved_above_the_cost_ceiling():
    ceiling = ApprovalPolicy(auto_approve=True, max_auto_cost=100)
    assert decide(ceiling, urgency=Urgency.EMERGENCY, cost=900.0) is not None


def test_an_emergency_never_waits_for_a_self_fix_guide():
    assert decide(ApprovalPolicy(), urgency=Urgency.EMERGENCY, self_fix=GUIDE) is not None


def test_without_emergencies_always_an_emergency_follows_the_other_rules():
    # Given a homeowner who wants to decide on emergencies too
    policy = ApprovalPolicy(emergencies_always=False)
    # Then an emergency waits for them, like any repair
    assert decide(policy, urgency=Urgency.EMERGENCY) is None
    # And with a ceiling it is approved under the ceiling only
    ceiling = ApprovalPolicy(emergencies_always=False, max_auto_cost=200)
    assert decide(ceiling, urgency=Urgency.EMERGENCY, cost=150.0) is not None
    assert decide(ceiling, urgency=Urgency.EMERGENCY, cost=250.0) is None


@pytest.mark.parametrize("urgency", [Urgency.HIGH, Urgency.NORMAL, Urgency.LOW])
def test_the_default_policy_leaves_every_other_repair_to_the_homeowner(urgency):
    assert decide(ApprovalPolicy(), urgency=urgency) is None


def test_a_self_fix_guide_comes_first_even_with_auto_approval():
    policy = ApprovalPolicy(auto_approve=True)
    assert decide(policy, self_fix=GUIDE) is None
    # Once the homeowner tried it and it did not help, the policy applies again
    assert decide(policy, self_fix=GUIDE, self_fix_tried=True) == "auto-approval policy"


def test_a_self_fix_tried_still_waits_when_the_policy_does_not_approve():
    assert decide(ApprovalPolicy(), self_fix=GUIDE, self_fix_tried=True) is None


def test_warranty_repairs_are_approved_when_the_policy_says_so():
    policy = ApprovalPolicy(warranty_repairs=True)
    reason = decide(policy, cost=800.0, under_warranty=True)
    assert reason == "approval policy: the warranty covers this repair"
    # Not covered: the homeowner decides
    assert decide(policy, cost=800.0, under_warranty=False) is None
    # Covered, but the policy does not approve warranty repairs
    assert decide(ApprovalPolicy(), under_warranty=True) is None


def test_a_warranty_repair_with_a_self_fix_guide_waits_for_the_guide():
    policy = ApprovalPolicy(warranty_repairs=True)
    assert decide(policy, under_warranty=True, self_fix=GUIDE) is None


def test_a_cost_ceiling_approves_up_to_the_ceiling_and_no_further():
    ceiling = ApprovalPolicy(max_auto_cost=200)
    assert decide(ceiling, cost=120.0) == "auto-approval policy: estimate 120.00 <= 200.00"
    assert decide(ceiling, cost=200.0) is not None  # at most the ceiling
    assert decide(ceiling, cost=200.01) is None


def test_auto_approve_with_a_ceiling_approves_nothing_above_it():
    assert decide(ApprovalPolicy(auto_approve=True, max_auto_cost=100), cost=120.0) is None


def test_auto_approve_without_a_ceiling_approves_everything():
    assert decide(ApprovalPolicy(auto_approve=True), cost=10_000.0) == "auto-approval policy"


def test_a_zero_ceiling_approves_only_free_repairs():
    ceiling = ApprovalPolicy(max_auto_cost=0)
    assert decide(ceiling, cost=0.0) is not None
    assert decide(ceiling, cost=0.01) is None

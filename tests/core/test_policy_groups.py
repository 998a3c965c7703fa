"""Groups inside a stage ("the regional director AND one of procurement") and separation of duties decided by who
actually acted: the policy file, routing, the checker, and the workflow on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from policy_fixtures import small_policy
from sqlmodel import Session, select

from approvals import groups
from approvals.commands import Approve, Escalate, Reject
from approvals.errors import PolicyInvalid
from approvals.models import AuditEvent, Requisition
from approvals.policy import LoadedPolicy, load_policy_text
from approvals.policy.checker import check_policy
from approvals.policy.routing import route
from approvals.requisition import build_facts
from tests.factories import boxes, draft, submit

AT = datetime(2026, 11, 16, 15, 0, tzinfo=timezone.utc)

GROUPS = """\
policy: {id: groups, version: "1", currency: USD}
settings:
  separation_of_duties: acted
rules:
  - id: big
    when: {amount: {gt: 25000}}
    stages:
      - name: Operations and procurement
        mode: all
        check_limits: false
        approvers:
          - {role: regional_ops_director}
          - mode: any
            name: procurement
            approvers: [{role: procurement_director}, {category_manager: true}]
      - name: Supplier risk
        check_limits: false
        approvers: [{role: procurement_director}]
  - id: board
    when: {amount: {gt: 5000}}
    stages:
      - name: Board
        mode: all
        check_limits: false
        approvers:
          - {role: regional_ops_director}
          - mode: quorum
            quorum: 2
            approvers: [{person: catherine.moss}, {person: marcus.bell}, {person: david.okafor}]
  - id: small
    stages:
      - {name: Manager, approvers: [{manager: 1}]}
"""

BIG = [boxes(600)]  # $28,800 of packaging at Dallas: James Carter, Sofia Alvarez or Lucy Chen, then Supplier risk
BOARD = [boxes(200)]  # $9,600: James Carter and two of the executive committee


@pytest.fixture
def policy() -> LoadedPolicy:
    return load_policy_text(GROUPS, "groups.yaml")


def _problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_text(text, "matrix.yaml")
    return [(i.line, i.message) for i in caught.value.issues]


def _stage(*approvers: str) -> str:
    """A policy whose one stage is `mode: all` over the given YAML member lines (indented as group members)."""
    members = "\n".join(f"          {a}" for a in approvers)
    return (
        'policy: {id: t, version: "1", currency: USD}\n'
        "rules:\n"
        "  - id: r\n"
        "    stages:\n"
        "      - name: S\n"
        "        mode: all\n"
        "        approvers:\n"
        f"{members}\n"
    )


# ---------------------------------------------------------------- the policy file


def test_a_group_with_an_unknown_mode_is_refused_at_its_line():
    """`mode: either` on a group is refused with the file, the line of the mode and the modes that exist."""
    text = _stage("- {manager: 1}", "- mode: either", "  approvers: [{person: sofia.alvarez}]")
    problems = _problems(text)
    assert problems == [(9, "rules[0].stages[0].approvers[1].mode: Input should be 'any', 'all' or 'quorum'")]


def test_a_quorum_larger_than_its_members_is_refused_at_the_group():
    """A quorum of 3 over two named people can never be reached: refused at the group's line, saying what to do."""
    text = _stage(
        "- {manager: 1}",
        "- mode: quorum",
        "  quorum: 3",
        "  approvers: [{person: sofia.alvarez}, {person: lucy.chen}]",
    )
    [(line, message)] = _problems(text)
    assert line == 9
    assert "quorum 3 is more than the 2 member(s) of this group" in message and "lower the quorum" in message


def test_an_empty_group_is_refused_at_its_line():
    """A group with no approvers is refused at the line of its empty list."""
    text = _stage("- {manager: 1}", "- mode: any", "  approvers: []")
    problems = _problems(text)
    assert (
        10,
        "rules[0].stages[0].approvers[1].approvers: Tuple should have at least 1 item after validation, not 0",
    ) in (problems)


def test_a_misspelt_resolver_inside_a_group_is_named_at_its_line():
    """`persn:` inside a nested group is an unknown key, located at its own line."""
    text = _stage("- {manager: 1}", "- mode: any", "  approvers:", "    - {persn: sofia.alvarez}")
    assert (11, "rules[0].stages[0].approvers[1].approvers[0].persn: unknown key `persn`") in _problems(text)


def test_a_quorum_over_a_role_is_left_to_the_checker():
    """A quorum of 2 over one role may be reached when two people hold it, so the file loads."""
    load_policy_text(_stage("- mode: quorum", "  quorum: 2", "  approvers: [{role: buyer}]"), "matrix.yaml")


# ---------------------------------------------------------------- routing


def test_routing_plans_the_tree_and_the_fewest_approvals_it_needs(policy, company):
    """The big order's first stage needs James Carter and one of Sofia Alvarez or Lucy Chen: 2 approvals, said so."""
    facts = build_facts(draft(lines=BIG), company, policy)
    plan = route(facts, policy, company, (), AT)
    first = plan.stages[0]
    assert [s.approver for s in first.steps] == ["james.carter", "sofia.alvarez", "lucy.chen"]
    assert (first.mode, first.own_mode, first.required) == ("group", "all", 2)
    assert first.group == {
        "mode": "all",
        "need": 2,
        "name": None,
        "members": [0, {"mode": "any", "need": 1, "name": "procurement", "members": [1, 2]}],
    }
    assert "Operations and procurement (James Carter and one of: Sofia Alvarez or Lucy Chen)" in plan.explanation
    assert "regional ops director at DAL and (one of: the procurement director" in first.explanation


def test_a_group_that_cannot_reach_its_quorum_stops_with_the_reason(company):
    """A two-of group names Jake's manager twice: one person counts once, so the quorum cannot be met: stopped."""
    policy = small_policy(
        [
            {
                "id": "only",
                "stages": [
                    {
                        "name": "Pair",
                        "mode": "all",
                        "check_limits": False,
                        "approvers": [
                            {"person": "sofia.alvarez"},
                            {"mode": "quorum", "quorum": 2, "approvers": [{"manager": 1}, {"manager": 1}]},
                        ],
                    }
                ],
            }
        ]
    )
    plan = route(build_facts(draft(lines=BIG), company, policy), policy, company, (), AT)
    assert plan.outcome == "stop"
    assert "quorum 2 but only 1 eligible member(s)" in (plan.stop_reason or "")


def test_named_separation_still_leaves_out_everyone_an_earlier_group_names(company):
    """With `separation_of_duties: named`, Sofia is named on the first stage and is passed over on the second."""
    policy = load_policy_text(GROUPS.replace("  separation_of_duties: acted\n", "  separation_of_duties: named\n"))
    plan = route(build_facts(draft(lines=BIG), company, policy), policy, company, (), AT)
    risk = plan.stages[1]
    assert [s.approver for s in risk.steps] == ["marcus.bell"] and risk.group is None
    assert "Sofia Alvarez already approves an earlier stage" in risk.steps[0].substitutions[0]


def test_acted_separation_keeps_someone_an_earlier_group_can_do_without(policy, company):
    """With `acted`, Sofia keeps the risk stage provisionally; the plan names Marcus Bell should she sign the first."""
    plan = route(build_facts(draft(lines=BIG), company, policy), policy, company, (), AT)
    risk = plan.stages[1]
    assert [s.approver for s in risk.steps] == ["sofia.alvarez"]
    assert risk.steps[0].provisional == "Operations and procurement"
    assert risk.steps[0].fallback == {
        "approver": "marcus.bell",
        "approver_name": "Marcus Bell",
        "acting": "marcus.bell",
    }
    assert (
        "Sofia Alvarez takes 'Supplier risk' unless they approve 'Operations and procurement'; "
        "if they do, it goes to Marcus Bell"
    ) in plan.notes


def test_someone_a_group_cannot_do_without_is_left_out_at_once(company):
    """With `acted`, James is the only regional director on the first stage: certain to act, so passed over later."""
    policy = load_policy_text(
        GROUPS.replace(
            "        approvers: [{role: procurement_director}]\n",
            "        approvers: [{role: regional_ops_director}]\n",
        )
    )
    plan = route(build_facts(draft(lines=BIG), company, policy), policy, company, (), AT)
    risk = plan.stages[1]
    assert [s.approver for s in risk.steps] == ["marcus.bell"] and risk.steps[0].provisional is None


def test_what_a_stage_still_needs_reads_as_a_sentence():
    """A leaf, an any-of group and a two-of-three group: the inner groups are bracketed unless last, and approvals
    and rejections so far are taken into account."""
    names = ["James Carter", "Sofia Alvarez", "Lucy Chen", "Catherine Moss", "Marcus Bell", "David Okafor"]
    tree = {
        "mode": "all",
        "need": 3,
        "members": [
            0,
            {"mode": "any", "need": 1, "members": [1, 2]},
            {"mode": "quorum", "need": 2, "members": [3, 4, 5]},
        ],
    }
    assert groups.describe(tree, names.__getitem__) == (
        "James Carter, (one of: Sofia Alvarez or Lucy Chen) and 2 of: Catherine Moss, Marcus Bell, David Okafor"
    )
    status = {
        0: groups.APPROVED,
        1: groups.OPEN,
        2: groups.OPEN,
        3: groups.REJECTED,
        4: groups.APPROVED,
        5: groups.OPEN,
    }
    assert groups.describe(tree, names.__getitem__, status) == (
        "(one of: Sofia Alvarez or Lucy Chen) and 1 of: David Okafor"
    )
    assert groups.minimum(tree) == 4


# ---------------------------------------------------------------- the checker


def test_escalation_from_one_group_to_a_member_of_another_is_not_a_cycle(company):
    """Priya AND (Olivia or Ben), escalating to the finance team (Priya and Olivia): no group loops into itself."""
    stage = {
        "name": "Finance",
        "mode": "all",
        "check_limits": False,
        "escalate_to": {"group": "finance_team"},
        "approvers": [
            {"person": "priya.nair"},
            {"mode": "any", "approvers": [{"person": "olivia.grant"}, {"person": "ben.turner"}]},
        ],
    }
    issues = check_policy(small_policy([{"id": "only", "stages": [stage]}]), company)
    assert [i for i in issues if i.kind == "escalation_cycle"] == []


def test_escalation_round_and_round_inside_one_group_is_a_cycle(company):
    """The any-of group (Olivia or Priya) escalates to the finance team, which is that group itself: reported."""
    stage = {
        "name": "Finance",
        "mode": "all",
        "check_limits": False,
        "escalate_to": {"group": "finance_team"},
        "approvers": [
            {"person": "ben.turner"},
            {"mode": "any", "approvers": [{"person": "olivia.grant"}, {"person": "priya.nair"}]},
        ],
    }
    policy = small_policy([{"id": "only", "stages": [stage]}])
    cycles = [i for i in check_policy(policy, company) if i.kind == "escalation_cycle"]
    assert len(cycles) == 1 and "escalates back to its own approver(s) olivia.grant, priya.nair" in cycles[0].message
    assert cycles[0].line == policy.line_of("rules", 0, "stages", 0, "escalate_to")


def test_a_quorum_group_the_directory_cannot_fill_is_reported(company):
    """A quorum of 3 over the buyers (two people) inside a stage: the checker names the group and the site."""
    stage = {
        "name": "Buyers",
        "mode": "all",
        "check_limits": False,
        "approvers": [{"manager": 1}, {"mode": "quorum", "quorum": 3, "approvers": [{"group": "buyers"}]}],
    }
    policy = small_policy([{"id": "only", "stages": [stage]}])
    short = [i for i in check_policy(policy, company) if "quorum 3" in i.message]
    assert short and "approvers[1]" in short[0].message
    assert short[0].line == policy.line_of("rules", 0, "stages", 0, "approvers", 1, "quorum")


# ---------------------------------------------------------------- the workflow


def _events(service, number: str) -> list[AuditEvent]:
    with Session(service.engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number)).all())


def test_one_approval_of_the_any_group_with_the_director_completes_the_stage(service):
    """James approves: the stage still needs one of Sofia or Lucy; Lucy approves: it moves on, and Sofia, who did
    not approve the first stage, keeps the risk stage."""
    number = service.submit(submit(lines=BIG)).number
    first = service.approve(Approve(actor="james.carter", number=number))
    assert first.outcome == "recorded"
    assert "stage 'Operations and procurement' still needs one of: Sofia Alvarez or Lucy Chen" in first.message
    assert first.requisition.still_needed == "one of: Sofia Alvarez or Lucy Chen"
    second = service.approve(Approve(actor="lucy.chen", number=number))
    assert second.outcome == "advanced"
    assert second.requisition.waiting_on == ["sofia.alvarez"]
    assert second.requisition.provisional == []
    assert service.approve(Approve(actor="sofia.alvarez", number=number)).outcome == "approved"


def test_the_director_who_signed_the_first_stage_hands_the_risk_stage_on(service):
    """Sofia approves the first stage before James: the risk stage goes to Marcus Bell at once (audited), so no card
    keeps naming her for it while the first stage waits on James."""
    number = service.submit(submit(lines=BIG)).number
    before = service.approve(Approve(actor="sofia.alvarez", number=number)).requisition
    assert before.still_needed == "James Carter"
    assert before.provisional == []
    risk = [s for s in before.steps if s.stage_name == "Supplier risk"]
    assert risk[0].approver == "marcus.bell"
    assert risk[0].explanation.startswith("Sofia Alvarez approved 'Operations and procurement', so 'Supplier risk'")
    moved = service.approve(Approve(actor="james.carter", number=number))
    assert moved.outcome == "advanced" and moved.requisition.waiting_on == ["marcus.bell"]
    assert moved.requisition.provisional == []
    separated = [e for e in _events(service, number) if e.kind == "separated"]
    assert len(separated) == 1 and separated[0].after["approver"] == "marcus.bell"
    assert service.approve(Approve(actor="marcus.bell", number=number)).outcome == "approved"


def test_a_rejection_inside_an_any_group_stops_the_request(service):
    """Lucy rejects in the procurement group: as on a flat stage, the request is rejected."""
    number = service.submit(submit(lines=BIG)).number
    result = service.reject(Reject(actor="lucy.chen", number=number, reason="not this supplier"))
    assert result.outcome == "rejected"


def test_a_no_inside_a_quorum_group_is_one_vote(service):
    """Marcus votes no on the board's two-of-three: recorded; Catherine and David approve with James: approved.
    A second no would have ended it."""
    number = service.submit(submit(lines=BOARD)).number
    no = service.reject(Reject(actor="marcus.bell", number=number, reason="wait for Q1"))
    assert no.outcome == "recorded"
    assert "can still be approved by James Carter and 2 of: Catherine Moss, David Okafor" in no.message
    assert service.approve(Approve(actor="catherine.moss", number=number)).outcome == "recorded"
    assert service.approve(Approve(actor="james.carter", number=number)).outcome == "recorded"
    assert service.approve(Approve(actor="david.okafor", number=number)).outcome == "approved"


def test_two_noes_in_a_two_of_three_group_reject_the_request(service):
    """Marcus and David vote no on the board's two-of-three: it can no longer be reached, so it is rejected."""
    number = service.submit(submit(lines=BOARD)).number
    assert service.reject(Reject(actor="marcus.bell", number=number, reason="no")).outcome == "recorded"
    assert service.reject(Reject(actor="david.okafor", number=number, reason="no")).outcome == "rejected"
    with Session(service.engine) as s:
        assert s.exec(select(Requisition.state).where(Requisition.number == number)).one() == "rejected"


def test_an_escalated_member_counts_for_the_member_it_came_from(service):
    """James approves; the procurement group's steps are escalated; Marcus Bell, who took Sofia's, approves: the
    group is satisfied and the request moves on."""
    number = service.submit(submit(lines=BIG)).number
    service.approve(Approve(actor="james.carter", number=number))
    escalated = service.escalate(Escalate(actor="scheduler", surface="scheduler", number=number), as_admin=True)
    assert "marcus.bell" in escalated.requisition.waiting_on
    assert "Marcus Bell" in (escalated.requisition.still_needed or "")
    assert service.approve(Approve(actor="marcus.bell", number=number)).outcome == "advanced"


def test_whether_a_stage_can_do_without_someone_is_decided_as_the_workflow_decides_it():
    """'Maria AND one of (Dana, Sam) AND 2 of (Ann, Bo, Cy)': routing's check of who the stage can do without agrees
    with the workflow's own group rules for every set of people left out."""
    from itertools import combinations

    from approvals.policy.routing import _possible_without

    tree = {
        "mode": "all",
        "need": 3,
        "name": None,
        "members": [
            0,
            {"mode": "any", "need": 1, "name": "procurement", "members": [1, 2]},
            {"mode": "quorum", "need": 2, "name": "finance", "members": [3, 4, 5]},
        ],
    }
    for size in range(7):
        for gone in combinations(range(6), size):
            status = dict.fromkeys(range(6), groups.OPEN) | dict.fromkeys(gone, groups.REJECTED)
            assert _possible_without(tree, set(gone)) == groups.possible(tree, status), gone
    assert _possible_without(tree, {3}) and not _possible_without(tree, {3, 4}) and not _possible_without(tree, {0})

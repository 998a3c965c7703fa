"""A stage of groups on the cards: Slack, Teams, the web chat and the console say what is still needed
("one of: Sofia Alvarez or Lucy Chen") and list a provisional step until it resolves (both databases)."""

from __future__ import annotations

import html
import json

import pytest

from approvals.commands import Approve
from approvals.db import transaction
from approvals.policy import LoadedPolicy, load_policy_text
from approvals.policy_store import install_policy
from bot.cards.html import render_card
from bot.intake.cards import requisition_card
from bot.slack.blocks import card_blocks
from bot.teams import cards as teams_cards
from tests.core.test_policy_groups import BIG, GROUPS
from tests.edges.test_console import console, sign_in  # noqa: F401  (the console fixture, reused)
from tests.factories import submit

STILL = "Waiting on one of: Sofia Alvarez or Lucy Chen (Operations and procurement)."
PROVISIONAL = (
    "Provisionally: Sofia Alvarez takes 'Supplier risk' unless they approve 'Operations and procurement'; "
    "if they do, it goes to Marcus Bell."
)


@pytest.fixture
def policy() -> LoadedPolicy:
    return load_policy_text(GROUPS, "groups.yaml")


def _surfaces(card) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "slack": json.dumps(card_blocks(card)),
        "teams": json.dumps(teams_cards.render(card, secret=b"k" * 32)),
        "web": render_card(card),
    }


def test_every_surface_says_what_the_group_still_needs_and_the_provisional_step(service, directory):
    """After James approves, Lucy's card on each surface waits on one of Sofia or Lucy, and says Sofia's risk step
    is provisional."""
    number = service.submit(submit(lines=BIG)).number
    view = service.approve(Approve(actor="james.carter", number=number)).requisition
    card = requisition_card(view, "lucy.chen", directory)
    assert card.status.startswith(STILL) and card.status.endswith(PROVISIONAL)
    for surface, shown in _surfaces(card).items():
        assert "one of: Sofia Alvarez or Lucy Chen" in shown, surface
        assert "Sofia Alvarez takes" in shown and "Marcus Bell" in shown, surface


def test_the_card_drops_the_provisional_line_once_the_earlier_stage_is_done(service, directory):
    """Sofia approves the first stage with James: the card now waits on Marcus Bell and says nothing provisional."""
    number = service.submit(submit(lines=BIG)).number
    service.approve(Approve(actor="sofia.alvarez", number=number))
    view = service.approve(Approve(actor="james.carter", number=number)).requisition
    card = requisition_card(view, "marcus.bell", directory)
    assert card.status == "Waiting on Marcus Bell (Supplier risk)."


def test_a_flat_stage_keeps_its_status_line(service, directory):
    """A stage without groups still lists who it waits on, as before."""
    number = service.submit(submit(lines=[{**BIG[0], "quantity": 20}])).number
    view = service.view(number)
    assert requisition_card(view, "zoe.martin", directory).status == "Waiting on Zoe Martin (Manager)."


def test_the_console_shows_what_is_still_needed_and_the_hand_on(console_with_groups):
    """The console's requisition page lists 'Still needed' and the provisional step; once Sofia approves the first
    stage, the audited hand-on and no provisional step."""
    client = console_with_groups
    svc = client.runtime.service
    number = svc.submit(submit(lines=BIG)).number
    svc.approve(Approve(actor="james.carter", number=number))
    sign_in(client, "auditor")
    page = html.unescape(client.get(f"/console/requisitions/{number}").text)
    assert "Still needed" in page and "Sofia Alvarez" in page
    assert "<dt>Provisional</dt><dd>Sofia Alvarez takes 'Supplier risk' unless" in page
    svc.approve(Approve(actor="sofia.alvarez", number=number))
    page = html.unescape(client.get(f"/console/requisitions/{number}").text)
    assert "Handed on (separation of duties)" in page and "<dt>Provisional</dt>" not in page


@pytest.fixture
def console_with_groups(request, db_url, clock):  # type: ignore[no-untyped-def]
    client = request.getfixturevalue("console")
    with transaction(client.runtime.engine) as session:
        install_policy(session, load_policy_text(GROUPS, "groups.yaml"), at=clock())
    return client


def test_the_approval_chain_says_what_a_stage_of_groups_still_needs(service, directory):
    """After James approves his part, the chain's current stage reads 'waiting on one of: Sofia Alvarez or Lucy
    Chen', with James's approval listed before it."""
    number = service.submit(submit(lines=BIG)).number
    view = service.approve(Approve(actor="james.carter", number=number)).requisition
    current = next(line for line in requisition_card(view, "lucy.chen", directory).chain if line.startswith("\u25cf"))
    assert "approved by James Carter" in current and "waiting on one of: Sofia Alvarez or Lucy Chen" in current

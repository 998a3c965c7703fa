"""Honest stale answers on any stage, and the admin token's own rules: rotation revokes the old bootstrap token,
production refuses one that only looks long."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from approvals.commands import Approve, SetDelegation
from approvals.errors import StaleAction
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.tokens import find_token
from tests.factories import boxes, submit


def test_loser_on_an_earlier_stage_hears_who_acted(service, clock):
    """Zoe approves for Maria at the site stage; Maria's own tap a moment later is told who did it and when (409)."""
    service.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="zoe.martin",
            starts_at=clock() - timedelta(hours=1),
            ends_at=clock() + timedelta(days=3),
        )
    )
    number = service.submit(submit(lines=[boxes(200)])).number  # $9,600: site approval, then regional ops
    assert [s.stage_name for s in service.view(number).steps][:1] == ["Site approval"]
    service.approve(Approve(actor="zoe.martin", number=number))
    assert service.view(number).waiting_on == ["james.carter"]
    with pytest.raises(StaleAction) as stale:
        service.approve(Approve(actor="maria.lopez", number=number))
    assert f"{number} was already approved by Zoe Martin at 09:00 CST on Mon Nov 23" in stale.value.message
    assert "not an approver" not in stale.value.message
    assert stale.value.decided_by == "zoe.martin" and stale.value.decided_at.startswith("2026-11-23T15:00")
    # someone never on the route is still only told they are not an approver
    with pytest.raises(Exception) as refused:
        service.approve(Approve(actor="hannah.berg", number=number))
    assert not isinstance(refused.value, StaleAction)


@pytest.mark.parametrize("weak", ["a" * 32, "ab" * 20, "0123456789" * 4, "x" * 40, "short-but-random-Xq7v"])
def test_production_refuses_weak_admin_tokens(weak):
    """Production will not start with an admin token that is short, one letter, or a short pattern repeated."""
    with pytest.raises(ValidationError, match="PROCUREBOT_ADMIN_TOKEN"):
        Settings(env="production", database_url="postgresql://db/p", admin_token=weak, _env_file=None)


def test_rotating_the_admin_token_revokes_the_previous_one(db_url, tmp_path):
    """The operator changes PROCUREBOT_ADMIN_TOKEN and restarts: the new token works, the old one no longer does."""
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    assert Settings(env="production", database_url="postgresql://db/p", admin_token=new, _env_file=None)
    for token in (old, new):
        runtime = build_runtime(
            Settings(database_url=db_url, admin_token=token, env="dev", var_dir=tmp_path, _env_file=None)
        )
        engine = runtime.engine
    with Session(engine) as session:
        assert find_token(session, new) is not None
        assert find_token(session, old) is None
    engine.dispose()

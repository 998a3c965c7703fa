"""`procurebot demo seed`: half a year of the sample company's purchasing on a fresh install, lived through the real
services on a moving clock, so the dashboard, the what-if replay and the console have something to show."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from approvals.audit import verify_chain
from approvals.clock import utcnow
from approvals.db import make_engine
from approvals.directory import load_directory
from approvals.metrics.queries import Scope
from approvals.metrics.report import dashboard, last_days
from approvals.models import Delegation, Requisition
from approvals.states import State
from bot.cli import app
from bot.settings import get_settings

# what a requisition can be left in: `submitted` lasts only inside the submit's transaction, and `approved` only
# inside the final approval's (the ERP outbox moves it to po_pending with it)
LASTING = {s.value for s in State} - {"submitted", "approved"}


@pytest.fixture
def fresh(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PROCUREBOT_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_six_months_of_history_in_every_state_and_a_second_run_is_refused(fresh):
    """On a fresh install, `demo seed --months 6` leaves requisitions in every state a requisition can rest in,
    five or more months of cycle times on the dashboard, touchless and escalated requests, two delegations, a PO
    the ERP refused, an intact audit chain; running it again without --force changes nothing and says why."""
    seeded = CliRunner().invoke(app, ["demo", "seed", "--months", "6", "--per-day", "4", "--seed", "3"])
    assert seeded.exit_code == 0, seeded.output
    assert "requests submitted" in seeded.output and "purchase orders in the sandbox ERP" in seeded.output

    engine = make_engine(fresh)
    try:
        with Session(engine) as session:
            states = Counter(
                dict(session.exec(select(Requisition.state, func.count()).group_by(Requisition.state)).all())
            )
            assert set(states) == LASTING, states
            assert states["po_created"] > states["rejected"] > 0
            report = verify_chain(session)
            assert report.ok, report
        board = dashboard(engine, load_directory(get_settings().directory_file), last_days(utcnow(), 200), Scope.all())
        months = [m for m in board.cycle_by_month if m.count]
        assert len(months) >= 5, months
        assert 0 < board.touchless.numerator < board.touchless.denominator
        assert board.escalation.numerator > 0 and board.info_requests.numerator > 0
        with Session(engine) as session:  # two managers were away, each with a delegate
            assert session.exec(select(func.count()).select_from(Delegation)).one() == 2
        assert board.erp.failed >= 1 and board.erp.failing_now >= 1
        before = sum(states.values())

        again = CliRunner().invoke(app, ["demo", "seed", "--months", "6"])
        assert again.exit_code == 1
        assert f"already has {before} requisition(s)" in again.output and "--force" in again.output
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Requisition)).one() == before
    finally:
        engine.dispose()

"""Master data in: suppliers, items and budgets from the ERP into our tables, and into routing's facts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from erp_fakes import FakeNetSuite, FakeOdoo, FakeWebhookReceiver
from factories import submit
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from approvals import master_data
from approvals.master_data import ErpBudgetRecord, ErpItemRecord, ErpSupplierRecord, budget_lines, overlay
from approvals.outbox import install
from bot.erp_dispatcher import ErpDispatcher, MasterDataRefresher
from connectors.erp.config import ErpSettings
from connectors.erp.netsuite import NetSuite
from connectors.erp.odoo import Odoo
from connectors.erp.sandbox import SandboxErp
from connectors.erp.webhook import SignedWebhook

SECRET = "s" * 32
WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 10, "unit_price": 32}


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


class Silent:
    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        return "ok"


def test_sandbox_sync_stores_every_supplier_item_and_budget_once(engine, directory):
    """The embedded ERP's vendors, catalog and budgets land in our tables; a second pull changes no counts."""
    erp = SandboxErp(engine, directory)
    counts = master_data.sync(engine, erp)
    assert (counts.suppliers, counts.items, counts.budgets) == (
        len(directory.suppliers),
        len(directory.items),
        len(directory.cost_centers),
    )
    again = master_data.sync(engine, erp)
    assert again == counts and _count(engine, ErpSupplierRecord) == len(directory.suppliers)
    assert _count(engine, ErpItemRecord) == len(directory.items)
    with Session(engine) as s:
        dal = s.exec(select(ErpBudgetRecord).where(ErpBudgetRecord.cost_center == "DAL-OPS")).one()
    assert (dal.budget, dal.spent) == (Decimal("250000"), Decimal("180000"))
    assert "master data from sandbox:" in counts.sentence()


@pytest.fixture
def webhook_erp():  # type: ignore[no-untyped-def]
    master = {
        "suppliers": [
            {
                "id": "uline",
                "name": "Uline",
                "blocked": True,
                "block_reason": "on credit hold",
                "risk_tier": "low",
                "contracted": True,
            },
            {"id": "grainger", "name": "W.W. Grainger", "risk_tier": "high", "contracted": False},
            {"id": "newco", "name": "NewCo Packaging", "risk_tier": "medium"},
        ],
        "items": [
            {"sku": "PKG-SW-18", "name": "Stretch wrap 18in (ERP)", "category": "packaging", "unit_price": 30},
            {"sku": "PKG-NEW-1", "name": "Void fill", "category": "packaging", "unit": "bag"},
        ],
        "budgets": [{"cost_center": "DAL-OPS", "budget": "200000", "spent": "199900", "period": "FY26"}],
    }
    with FakeWebhookReceiver(secret=SECRET, vendors={"uline", "grainger", "newco"}, master=master) as fake:
        yield fake


def test_a_supplier_the_erp_blocked_stops_routing_and_its_budget_counts(service, engine, directory, webhook_erp):
    """The ERP puts Uline on credit hold and Dallas ops nearly out of budget: after a sync a stretch-wrap
    request is stopped with the ERP's reason, Grainger is high risk, and new ERP vendors and items are known."""
    counts = master_data.sync(engine, SignedWebhook(url=webhook_erp.url, secret=SECRET))
    assert (counts.suppliers, counts.items, counts.budgets) == (3, 2, 1)
    before = service.submit(submit("jake.miller", lines=[WRAP]))
    assert before.outcome == "auto_approved"
    service.directory = overlay(directory, master_data.load(engine, "webhook"))
    stopped = service.submit(submit("jake.miller", lines=[WRAP]))
    assert stopped.outcome == "stopped" and "on credit hold" in stopped.message
    d = service.directory
    assert d.supplier_by_id["grainger"].risk_tier == "high" and not d.supplier_by_id["grainger"].contracted
    assert d.supplier_by_id["newco"].name == "NewCo Packaging" and d.item_by_sku["PKG-NEW-1"].unit == "bag"
    assert d.item_by_sku["PKG-SW-18"].unit_price == Decimal("30")
    # the ERP's budget, less our committed spend (the first request, $320), not the directory's $250,000
    dal = d.cost_center_by_code["DAL-OPS"]
    assert (dal.budget, dal.spent) == (Decimal("200000"), Decimal("199900"))
    assert directory.cost_center_by_code["DAL-OPS"].budget == Decimal("250000")  # the file is untouched


def test_committed_spend_counts_until_the_erp_invoices_the_po(service, engine, directory, clock):
    """An approved request counts as committed against the ERP budget; once its PO is closed (invoiced) it
    is in the ERP's booked spend instead, never in both."""
    install(service)
    erp = SandboxErp(engine, directory)
    master_data.sync(engine, erp)
    number = service.submit(submit("jake.miller", lines=[WRAP])).number
    d = ErpDispatcher(engine, directory, erp, Silent(), settings=ErpSettings(_env_file=None), clock=clock)
    d.run_once()
    line = {x.cost_center: x for x in budget_lines(engine, directory, "sandbox")}["DAL-OPS"]
    assert (line.source, line.booked, line.committed) == ("erp", Decimal("180000"), Decimal("320"))
    assert line.remaining == Decimal("250000") - Decimal("180000") - Decimal("320")
    erp.move("PO-000001", "received")
    erp.move("PO-000001", "closed")
    d.sync_statuses()
    line = {x.cost_center: x for x in budget_lines(engine, directory, "sandbox")}["DAL-OPS"]
    assert line.committed == Decimal("0")  # invoiced: the ERP's next budget pull books it
    routed = overlay(directory, master_data.load(engine, "sandbox")).cost_center_by_code["DAL-OPS"]
    assert routed.spent == Decimal("180000") - Decimal("320")  # facts add the $320 back as committed
    assert service.view(number).state == "po_created"


def test_netsuite_and_odoo_master_data_land_per_connector(engine):
    """NetSuite's vendors and items (SuiteQL) and Odoo's partners and products are stored under their own
    connector; neither offers budgets, so none are stored and the directory's stand."""
    with (
        FakeNetSuite(token="ns-token", vendors={"uline", "grainger"}, items={"PKG-SW-18"}) as ns,
        FakeOdoo(
            api_key="k" * 40, database="lonestar", partners={"uline": 7}, products={"PKG-SW-18": 31, "PKG-BOX-2012": 32}
        ) as odoo,
    ):
        a = master_data.sync(engine, NetSuite(base_url=ns.url, access_token="ns-token"))
        b = master_data.sync(engine, Odoo(url=odoo.url, api_key="k" * 40, database="lonestar"))
    assert (a.suppliers, a.items, a.budgets) == (2, 1, None) and (b.suppliers, b.items, b.budgets) == (1, 2, None)
    assert "offered no budgets" in a.sentence()
    with Session(engine) as s:
        rows = s.exec(select(ErpSupplierRecord.connector, ErpSupplierRecord.supplier_id)).all()
    assert sorted(rows) == [("netsuite", "grainger"), ("netsuite", "uline"), ("odoo", "uline")]


def test_a_list_the_erp_fails_to_give_is_reported_and_stored_rows_stay(engine, webhook_erp):
    """The ERP answers 500 for items: suppliers and budgets still land, the stored items stay, and the
    problem names what failed."""
    erp = SignedWebhook(url=webhook_erp.url, secret=SECRET)
    master_data.sync(engine, erp)
    webhook_erp.faults += [None, "500"]  # suppliers fine, items fail
    counts = master_data.sync(engine, erp)
    assert counts.items is None and counts.suppliers == 3 and counts.problems
    assert "items:" in counts.problems[0] and "500" in counts.problems[0]
    assert _count(engine, ErpItemRecord) == 2


def test_a_vendor_gone_from_the_erp_is_gone_from_our_tables(engine, webhook_erp):
    """A vendor the ERP no longer lists is removed on the next pull (an empty list changes nothing)."""
    erp = SignedWebhook(url=webhook_erp.url, secret=SECRET)
    master_data.sync(engine, erp)
    webhook_erp.master["suppliers"] = webhook_erp.master["suppliers"][:1]
    webhook_erp.master["items"] = []
    counts = master_data.sync(engine, erp)
    assert counts.suppliers == 1 and counts.items is None
    assert _count(engine, ErpSupplierRecord) == 1 and _count(engine, ErpItemRecord) == 2


def test_the_server_refresher_swaps_in_the_erp_facts_once_per_change(service, engine, directory, clock):
    """A replica's refresher lays newly synced master data over its service's directory, and only when it
    changed."""
    runtime = type("R", (), {"engine": engine, "directory": directory, "service": service})()
    refresher = MasterDataRefresher(runtime, "sandbox", clock=clock)
    assert refresher.refresh(force=True) is False and service.directory is directory  # nothing synced yet
    master_data.sync(engine, SandboxErp(engine, directory), now=clock.now)
    assert refresher.refresh(force=True) is True and service.directory is not directory
    clock.advance(minutes=1)
    assert refresher.refresh() is False  # same data: the directory stays as it is


def test_erp_sync_and_budgets_commands_on_a_fresh_database(tmp_path, monkeypatch):
    """`procurebot erp sync --only master` pulls the sandbox's master data; `erp budgets` shows the ERP's
    figures beside committed spend."""
    from bot.cli import app
    from bot.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'procurebot.db'}")
    monkeypatch.setenv("PROCUREBOT_ERP_CONNECTOR", "sandbox")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["erp", "sync", "--only", "master"])
        assert result.exit_code == 0, result.output
        assert "master data from sandbox:" in result.output and "suppliers" in result.output
        result = CliRunner().invoke(app, ["erp", "budgets"])
        assert result.exit_code == 0, result.output
        assert "DAL-OPS" in result.output and "erp" in result.output
        result = CliRunner().invoke(app, ["erp", "sync", "--only", "everything"])
        assert result.exit_code == 2 and "--only must be" in result.output
    finally:
        get_settings.cache_clear()


def test_a_budget_for_a_cost_center_we_do_not_know_is_named_once_in_the_log(directory, caplog):
    """The ERP's budget carries a code no cost center of ours has: it is not used, and the log says so once."""
    import logging

    from approvals.master_data import MasterData

    data = MasterData(
        budgets={"ZZ-NOWHERE": ErpBudgetRecord(connector="erp", cost_center="ZZ-NOWHERE", budget=Decimal("5000"))}
    )
    with caplog.at_level(logging.WARNING, logger="procurebot.erp"):
        laid = overlay(directory, data)
        overlay(directory, data)
    assert [c.code for c in laid.cost_centers] == [c.code for c in directory.cost_centers]
    assert len([r for r in caplog.records if "ZZ-NOWHERE" in r.getMessage()]) == 1

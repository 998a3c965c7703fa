"""Cost-center budgets read from the ERPs' own budget stores, mapped to our cost centers, used by routing."""

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal

import pytest
from erp_fakes import FakeBusinessCentral, FakeNetSuite, FakeOdoo
from factories import submit
from sqlmodel import Session, select

from approvals import master_data
from approvals.master_data import ErpBudgetRecord, overlay
from connectors.erp.business_central import BusinessCentral
from connectors.erp.config import ErpSettings
from connectors.erp.netsuite import NetSuite
from connectors.erp.odoo import Odoo

KEY = "k" * 40
TODAY = date(2026, 11, 22)
WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 10, "unit_price": 32}


def _line(i: int, account: list | bool, budget: float, achieved: float, **extra) -> dict:  # type: ignore[type-arg]
    row = {
        "id": i,
        "account_id": account,
        "budget_amount": budget,
        "achieved_amount": achieved,
        "date_from": "2026-01-01",
        "date_to": "2026-12-31",
        "budget_analytic_state": "confirmed",
        "budget_analytic_id.budget_type": "expense",
    }
    return {**row, **extra}


ACCOUNTS = {
    11: {"code": "PHX-OPS", "name": "Phoenix operations"},
    12: {"code": False, "name": "Marketing"},
    13: {"code": "ZZZ-9", "name": "A cost center we do not have"},
}
LINES = [
    _line(1, [11, "PHX-OPS Phoenix operations"], 100000, 96000),
    _line(2, [11, "PHX-OPS Phoenix operations"], 46100, 50000),  # two lines of one account add up
    _line(3, [11, "PHX-OPS Phoenix operations"], 900000, 0, budget_analytic_state="draft"),
    _line(4, [11, "PHX-OPS Phoenix operations"], 800000, 0, **{"budget_analytic_id.budget_type": "revenue"}),
    _line(5, [11, "PHX-OPS Phoenix operations"], 700000, 0, date_from="2025-01-01", date_to="2025-12-31"),
    _line(6, [12, "Marketing"], 5000, 100),  # no code: cannot be mapped
    _line(7, False, 6000, 0),  # a line on another analytic plan only
    _line(8, [13, "ZZZ-9 A cost center we do not have"], 1000, 10),
]


def test_odoo_budget_lines_become_our_cost_center_budgets_and_stop_an_overspend(service, engine, directory, caplog):
    """Odoo's open Phoenix expense budget has $100 left: after a sync a $320 Phoenix request is stopped by the
    cost center's hard stop; draft, revenue and last year's budgets are not counted, and lines whose analytic
    account has no code are skipped with a log line naming it."""
    rosa = submit("rosa.silva", site="PHX", cost_center="PHX-OPS", lines=[WRAP])
    assert service.submit(rosa).outcome != "stopped"  # the directory's figures: $4,000 left
    with FakeOdoo(
        api_key=KEY,
        database="lonestar",
        partners={"uline": 7},
        products={"PKG-SW-18": 31},
        budget_lines=LINES,
        analytic_accounts=ACCOUNTS,
    ) as odoo:
        with caplog.at_level(logging.INFO, logger="connectors.erp.odoo"):
            counts = master_data.sync(engine, Odoo(url=odoo.url, api_key=KEY, database="lonestar", today=lambda: TODAY))
        sent = [(p, h, json.loads(b)) for m, p, h, b in odoo.requests if "budget" in p]
    assert counts.budgets == 2 and not counts.problems
    path, headers, payload = sent[0]
    assert path == "/json/2/budget.line/search_read" and headers["authorization"] == f"bearer {KEY}"
    assert ["budget_analytic_state", "=", "confirmed"] in payload["domain"]
    assert ["date_from", "<=", "2026-11-22"] in payload["domain"] and "achieved_amount" in payload["fields"]
    assert "analytic account 'Marketing' has no code" in caplog.text and "has no analytic account" in caplog.text
    with Session(engine) as s:
        phx = s.exec(
            select(ErpBudgetRecord).where(ErpBudgetRecord.connector == "odoo", ErpBudgetRecord.cost_center == "PHX-OPS")
        ).one()
    assert (phx.budget, phx.spent, phx.period) == (Decimal("146100"), Decimal("146000"), "2026-01..2026-12")
    service.directory = overlay(directory, master_data.load(engine, "odoo"))
    stopped = service.submit(submit("rosa.silva", site="PHX", cost_center="PHX-OPS", lines=[WRAP]))
    assert stopped.outcome == "stopped" and "PHX-OPS" in stopped.message
    # a code we have no cost center for changes nothing we route on
    assert "ZZZ-9" not in service.directory.cost_center_by_code
    assert service.directory.cost_center_by_code["DAL-OPS"] == directory.cost_center_by_code["DAL-OPS"]


def test_odoo_without_the_budget_app_gives_no_budgets_and_the_rest_still_syncs(engine, caplog):
    """Odoo without the Budget app answers 404 for budget.line: vendors and products still land, budgets are
    reported as not offered, nothing is called a failure, and the log says why."""
    with FakeOdoo(api_key=KEY, database="lonestar", partners={"uline": 7}, products={"PKG-SW-18": 31}) as odoo:
        with caplog.at_level(logging.INFO, logger="connectors.erp.odoo"):
            counts = master_data.sync(engine, Odoo(url=odoo.url, api_key=KEY, database="lonestar"))
        answered = [p for m, p, h, b in odoo.requests]
    assert (counts.suppliers, counts.items, counts.budgets, counts.problems) == (1, 1, None, ())
    assert "/json/2/budget.line/search_read" in answered
    assert "Budget app is not installed" in caplog.text


def test_odoo_budgets_keyed_by_analytic_account_name_when_configured(engine):
    """With PROCUREBOT_ODOO_BUDGET_KEY=name, the analytic account's name is the cost-center code."""
    accounts = {21: {"code": "4711", "name": "CHI-OPS"}}
    with FakeOdoo(
        api_key=KEY,
        database="lonestar",
        partners={},
        products={},
        budget_lines=[_line(1, [21, "4711 CHI-OPS"], 230000, 91000)],
        analytic_accounts=accounts,
    ) as odoo:
        rows = Odoo(
            url=odoo.url, api_key=KEY, database="lonestar", budget_key="name", today=lambda: TODAY
        ).list_budgets()
    assert [(b.cost_center, b.budget, b.spent) for b in rows] == [("CHI-OPS", Decimal("230000"), Decimal("91000"))]


# ---------------------------------------------------------------------------------- Business Central

COMPANY = "8a1f7a6c-0000-4000-8000-000000000001"
BUDGET_API = "lonestar/finance/v1.0/costCenterBudgets"
BC_ROWS = [
    {"id": "e1", "costCenterCode": "PHX-OPS", "budgetAmount": 100000, "actualAmount": 96000},
    {"id": "e2", "costCenterCode": "", "budgetAmount": 5000, "actualAmount": 0},  # no dimension value
    {"id": "e3", "costCenterCode": "PHX-OPS", "budgetAmount": 46100, "actualAmount": 50000},
    {"id": "e4", "costCenterCode": "ZZZ-9", "budgetAmount": 1000, "actualAmount": 10},
    {"id": "e5", "costCenterCode": "CHI-OPS", "budgetAmount": 230000, "actualAmount": 91000},
]


def _bc(fake: FakeBusinessCentral, budget_api: str = BUDGET_API) -> BusinessCentral:
    return BusinessCentral(
        base_url=f"{fake.url}/api/v2.0", company_id=COMPANY, token_provider=lambda: "bc-token-1", budget_api=budget_api
    )


def test_bc_custom_budget_page_rows_become_our_cost_center_budgets(service, engine, directory, caplog):
    """Business Central's custom budget API page (three pages of rows) gives Phoenix $100 left: after a sync a
    $320 Phoenix request is stopped, Chicago's ERP figures are used, and a row with no cost-center code is
    skipped with a log line."""
    with FakeBusinessCentral(
        company=COMPANY, vendors={"ULINE"}, items={"PKG-SW-18"}, budget_api=BUDGET_API, budgets=BC_ROWS
    ) as bc:
        with caplog.at_level(logging.WARNING, logger="connectors.erp.business_central"):
            counts = master_data.sync(engine, _bc(bc))
        asked = [(p, h["authorization"]) for m, p, h, b in bc.requests if "costCenterBudgets" in p]
    assert counts.budgets == 3 and not counts.problems
    assert asked[0] == (f"/api/lonestar/finance/v1.0/companies({COMPANY})/costCenterBudgets", "Bearer bc-token-1")
    assert len(asked) == 3  # followed @odata.nextLink
    assert "budget row e2 skipped: it has no costCenterCode" in caplog.text
    service.directory = overlay(directory, master_data.load(engine, "business_central"))
    phx, chi = (service.directory.cost_center_by_code[c] for c in ("PHX-OPS", "CHI-OPS"))
    assert (phx.budget, phx.spent, chi.budget, chi.spent) == (146100, 146000, 230000, 91000)
    stopped = service.submit(submit("rosa.silva", site="PHX", cost_center="PHX-OPS", lines=[WRAP]))
    assert stopped.outcome == "stopped" and "PHX-OPS" in stopped.message
    assert "ZZZ-9" not in service.directory.cost_center_by_code


def test_bc_without_a_budget_page_keeps_the_directory_budgets_and_syncs_the_rest(engine):
    """Not configured, Business Central offers no budgets and vendors still land; configured but not published
    in BC (404), the sync says so for budgets only and still stores vendors and items."""
    with FakeBusinessCentral(company=COMPANY, vendors={"ULINE"}, items={"PKG-SW-18"}) as bc:
        plain = master_data.sync(
            engine,
            BusinessCentral(base_url=f"{bc.url}/api/v2.0", company_id=COMPANY, token_provider=lambda: "bc-token-1"),
        )
        missing = master_data.sync(engine, _bc(bc))
        asked = [p for m, p, h, b in bc.requests]
    assert (plain.suppliers, plain.items, plain.budgets, plain.problems) == (1, 1, None, ())
    assert sum("costCenterBudgets" in p for p in asked) == 1  # only the configured connector asked
    assert (missing.suppliers, missing.items, missing.budgets) == (1, 1, None)
    assert len(missing.problems) == 1 and missing.problems[0].startswith("budgets:") and "404" in missing.problems[0]
    with Session(engine) as s:
        assert s.exec(select(ErpBudgetRecord)).all() == []


def test_bc_budget_api_setting_is_checked_at_start_up():
    """A malformed PROCUREBOT_BC_BUDGET_API is refused with the expected shape, before any call."""
    with pytest.raises(ValueError, match="publisher/group/version/entitySet"):
        BusinessCentral(
            base_url="https://bc.example/api/v2.0",
            company_id=COMPANY,
            token_provider=lambda: "t",
            budget_api="costCenterBudgets",
        )


# ---------------------------------------------------------------------------------- NetSuite

# what an administrator writes for their account: a custom record of theirs, not a table we guess; the ';' and
# '--' inside the literal are data, not a second statement or a comment
NS_QUERY = (
    "SELECT cc.custrecord_code AS cost_center, SUM(b.custrecord_amount) AS budget, SUM(b.custrecord_actual) AS spent "
    "FROM customrecord_lonestar_budget b JOIN customrecord_lonestar_cc cc ON cc.id = b.custrecord_cc "
    "WHERE b.custrecord_status <> 'draft; -- not in force' GROUP BY cc.custrecord_code"
)
NS_ROWS = [
    {"cost_center": "PHX-OPS", "budget": "100000", "spent": "96000"},  # NetSuite may send numbers as text
    {"cost_center": None, "budget": 5000, "spent": 0},  # no cost-center code
    {"cost_center": "PHX-OPS", "budget": 46100, "spent": 50000},
    {"cost_center": "SEA-OPS", "budget": "n/a", "spent": 0},  # not a number
    {"cost_center": "CHI-OPS", "budget": 230000},  # spent is optional
    {"cost_center": "ZZZ-9", "budget": 1000, "spent": 10},
]


def _suiteql_calls(fake: FakeNetSuite) -> list[tuple[dict, dict, dict]]:  # type: ignore[type-arg]
    """(query-string parameters, headers, body) of each SuiteQL request the fake answered."""
    from urllib.parse import parse_qs, urlsplit

    return [
        (parse_qs(urlsplit(p).query), h, json.loads(b))
        for m, p, h, b in fake.requests
        if m == "POST" and urlsplit(p).path == "/query/v1/suiteql"
    ]


def test_netsuite_budget_query_rows_become_our_cost_center_budgets_and_stop_an_overspend(
    service, engine, directory, caplog
):
    """The administrator's budget query gives Phoenix $100 left in NetSuite: after a sync a $320 Phoenix request
    is stopped by the cost center's hard stop, Chicago's NetSuite budget is used, and rows without a code or with a
    non-numeric budget are skipped with a log line (Seattle keeps the directory's figures)."""
    with FakeNetSuite(
        token="ns-token", vendors={"uline"}, items={"PKG-SW-18"}, budget_query=NS_QUERY, budget_rows=NS_ROWS
    ) as ns:
        with caplog.at_level(logging.WARNING, logger="connectors.erp.netsuite"):
            counts = master_data.sync(engine, NetSuite(base_url=ns.url, access_token="ns-token", budget_query=NS_QUERY))
        calls = [c for c in _suiteql_calls(ns) if c[2]["q"] == NS_QUERY]
    assert (counts.suppliers, counts.items, counts.budgets, counts.problems) == (1, 1, 3, ())
    params, headers, _ = calls[0]
    assert len(calls) == 1 and params == {"limit": ["1000"], "offset": ["0"]}
    assert headers["prefer"] == "transient" and headers["authorization"] == "Bearer ns-token"
    assert "budget row 2 skipped: it has no cost_center" in caplog.text
    assert "budget row 4 skipped: cost_center 'SEA-OPS' has a non-numeric budget" in caplog.text
    service.directory = overlay(directory, master_data.load(engine, "netsuite"))
    phx, chi, sea = (service.directory.cost_center_by_code[c] for c in ("PHX-OPS", "CHI-OPS", "SEA-OPS"))
    assert (phx.budget, phx.spent, chi.budget, chi.spent) == (146100, 146000, 230000, 0)
    assert sea == directory.cost_center_by_code["SEA-OPS"]
    stopped = service.submit(submit("rosa.silva", site="PHX", cost_center="PHX-OPS", lines=[WRAP]))
    assert stopped.outcome == "stopped" and "PHX-OPS" in stopped.message
    assert "ZZZ-9" not in service.directory.cost_center_by_code


def test_netsuite_budget_query_is_read_across_pages(engine):
    """A budget query answering 1,500 rows is read in two pages (offset 0 and 1000) and every row counts, the
    last one on the second page included."""
    rows = [{"cost_center": "CHI-OPS", "budget": 100, "spent": 40}] * 1499
    rows.append({"cost_center": "DAL-MAINT", "budget": "9000.50", "spent": "1"})
    with FakeNetSuite(token="ns-token", vendors=set(), items=set(), budget_query=NS_QUERY, budget_rows=rows) as ns:
        counts = master_data.sync(engine, NetSuite(base_url=ns.url, access_token="ns-token", budget_query=NS_QUERY))
        pages = [p for p, h, b in _suiteql_calls(ns) if b["q"] == NS_QUERY]
    assert counts.budgets == 2 and not counts.problems
    assert [(p["offset"], p["limit"]) for p in pages] == [(["0"], ["1000"]), (["1000"], ["1000"])]
    with Session(engine) as s:
        stored = {
            r.cost_center: (r.budget, r.spent)
            for r in s.exec(select(ErpBudgetRecord).where(ErpBudgetRecord.connector == "netsuite"))
        }
    assert stored == {"CHI-OPS": (149900, 59960), "DAL-MAINT": (Decimal("9000.50"), 1)}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("DELETE FROM customrecord_lonestar_budget", "must be one SuiteQL SELECT statement; it starts with 'DELETE'"),
        (NS_QUERY + "; DELETE FROM customrecord_lonestar_budget", "single SELECT statement: remove the ';'"),
        ("SELECT cost_center, budget INTO customrecord_copy FROM customrecord_lonestar_budget", "may only read"),
        ("SELECT name, amount FROM customrecord_lonestar_budget", "must return columns named cost_center and budget"),
        ("SELECT 'x AS cost_center, amount AS budget FROM customrecord_lonestar_budget", "not closed"),
    ],
    ids=["not-a-select", "second-statement", "select-into", "contract-columns-missing", "open-string"],
)
def test_netsuite_budget_query_setting_is_checked_at_start_up(query, says):
    """A PROCUREBOT_NETSUITE_BUDGET_QUERY that is not one reading SELECT returning cost_center and budget is
    refused when the connector is built from the settings, before anything is sent with the integration's
    credentials, and the message names the setting and what to change."""
    settings = ErpSettings(
        erp_connector="netsuite",
        netsuite_base_url="https://127.0.0.1:9/services/rest",
        netsuite_access_token="ns-token",
        netsuite_budget_query=query,
    )
    with pytest.raises(ValueError, match="PROCUREBOT_NETSUITE_BUDGET_QUERY") as refused:
        NetSuite.from_settings(settings)
    assert says in str(refused.value)


def test_netsuite_failing_budget_query_is_a_budgets_problem_and_the_rest_still_syncs(engine):
    """Unset, NetSuite offers no budgets and sends no budget query. Configured, budgets land; when NetSuite later
    refuses the query (400, e.g. a field renamed in the account), the sync reports it for budgets only with
    NetSuite's reason, vendors and items still land, and the budgets stored before stay."""
    rows = [{"cost_center": "PHX-OPS", "budget": 150000, "spent": 1000}]
    with FakeNetSuite(
        token="ns-token", vendors={"uline", "grainger"}, items={"PKG-SW-18"}, budget_query=NS_QUERY, budget_rows=rows
    ) as ns:
        plain = master_data.sync(engine, NetSuite(base_url=ns.url, access_token="ns-token"))
        asked_unset = len(_suiteql_calls(ns))
        configured = NetSuite(base_url=ns.url, access_token="ns-token", budget_query=NS_QUERY)
        first = master_data.sync(engine, configured)
        ns.budget_query = None  # the account no longer answers the query
        broken = master_data.sync(engine, configured)
    assert (plain.suppliers, plain.items, plain.budgets, plain.problems) == (2, 1, None, ())
    assert asked_unset == 2  # vendors and items only
    assert first.budgets == 1 and not first.problems
    assert (broken.suppliers, broken.items, broken.budgets) == (2, 1, None) and len(broken.problems) == 1
    problem = broken.problems[0]
    assert problem.startswith("budgets: NetSuite refused PROCUREBOT_NETSUITE_BUDGET_QUERY (400)")
    assert "Record 'budget' was not found" in problem and "Records Catalog" in problem
    with Session(engine) as s:
        kept = s.exec(select(ErpBudgetRecord).where(ErpBudgetRecord.connector == "netsuite")).one()
    assert (kept.cost_center, kept.budget, kept.spent) == ("PHX-OPS", 150000, 1000)

"""`policy check`, second round: band boundaries, missing rates and limits, gap dimensions, real cycles only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from policy_fixtures import COMPANY_FILE, one_stage, small_policy
from typer.testing import CliRunner

from approvals.directory import load_directory
from approvals.errors import PolicyIssue
from approvals.master_data import ErpSupplierRecord
from approvals.policy import load_policy_text
from approvals.policy.checker import check_policy
from bot.cli import app
from bot.settings import get_settings

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.yaml"


def manager() -> list[dict[str, object]]:
    return [{"name": "Manager", "approvers": [{"manager": 1}]}]


def finance() -> dict[str, object]:
    return {"name": "Finance", "approvers": [{"role": "finance_controller"}]}


def _only(issues: list[PolicyIssue], kind: str) -> list[PolicyIssue]:
    return [i for i in issues if i.kind == kind]


def test_a_gt_gte_slip_hidden_by_a_catch_all_is_reported_at_the_band(company):
    """`lt 5000` then `gt 5000` before a catch-all: exactly $5,000 skips both bands; the checker says so."""
    policy = small_policy(
        [
            {"id": "small", "when": {"amount": {"lt": 5000}}, "stages": manager()},
            {"id": "large", "when": {"amount": {"gt": 5000}}, "stages": [finance()]},
            {"id": "rest", "stages": manager()},
        ]
    )
    slips = _only(check_policy(policy, company), "boundary")
    assert len(slips) == 1 and "exactly 5000" in slips[0].message and "rest" in slips[0].message
    assert slips[0].line == policy.line_of("rules", 1, "when", "amount") and slips[0].hint


def test_bands_that_meet_exactly_have_no_slip(company):
    """`lte 5000` then `gt 5000` leaves nothing between the bands."""
    policy = small_policy(
        [
            {"id": "small", "when": {"amount": {"lte": 5000}}, "stages": manager()},
            {"id": "large", "when": {"amount": {"gt": 5000}}, "stages": [finance()]},
            {"id": "rest", "stages": manager()},
        ]
    )
    assert _only(check_policy(policy, company), "boundary") == []


def test_overlapping_bands_that_add_the_same_stage_twice_at_the_boundary(company):
    """A rule up to and including $25,000 and an overlay from $25,000 both add Finance: twice at exactly $25,000."""
    policy = small_policy(
        [
            {"id": "mid", "when": {"amount": {"lte": 25000}}, "stages": [finance()]},
            {"id": "big", "when": {"amount": {"gt": 25000}}, "stages": manager()},
        ],
        overlays=[{"id": "finance-large", "when": {"amount": {"gte": 25000}}, "stage": finance()}],
    )
    dupes = _only(check_policy(policy, company), "duplicate_stage")
    assert len(dupes) == 1 and "exactly 25000" in dupes[0].message and dupes[0].severity == "error"
    assert dupes[0].line == policy.line_of("overlays", 0, "stage")


def test_a_currency_the_company_buys_in_without_a_rate_is_an_error(company):
    """The sample company has a supplier invoicing in EUR: a policy with no EUR rate is refused by the checker."""
    text = yaml.safe_dump(
        {"policy": {"id": "t", "version": "1", "currency": "USD"}, "rules": [one_stage({"manager": 1})]},
        sort_keys=False,
    )
    issues = _only(check_policy(load_policy_text(text), company), "missing_rate")
    assert len(issues) == 1 and "EUR" in issues[0].message and "euro-conveyor" in issues[0].message
    assert issues[0].severity == "error" and "rates:" in issues[0].hint


def test_a_person_with_no_limit_on_a_limit_checked_stage_is_an_error(tmp_path):
    """Priya without an approval_limit in the directory on a limit-checked Finance stage: an error naming her."""
    data = yaml.safe_load(COMPANY_FILE.read_text())
    for person in data["people"]:
        if person["id"] == "priya.nair":
            del person["approval_limit"]
    path = tmp_path / "company.yaml"
    path.write_text(yaml.safe_dump(data))
    directory = load_directory(path)
    checked = small_policy([one_stage({"role": "finance_controller"})])
    unchecked = small_policy([one_stage({"role": "finance_controller"}, check_limits=False)])
    issues = _only(check_policy(checked, directory), "missing_limit")
    assert len(issues) == 1 and "priya.nair" in issues[0].message and issues[0].severity == "error"
    assert _only(check_policy(unchecked, directory), "missing_limit") == []


def test_a_gap_names_the_dimension_that_makes_it(company):
    """Rules for standard and urgent requests only: the gap says 'when urgency is emergency'."""
    policy = small_policy(
        [{"id": "normal", "when": {"urgency": ["standard", "urgent"]}, "stages": manager()}],
    )
    gaps = _only(check_policy(policy, company), "gap")
    assert gaps and all("when urgency is emergency" in g.message for g in gaps)


def test_an_any_of_group_whose_members_escalate_past_each_other_is_not_a_cycle(company):
    """Ben reports to Sofia, both on an any-of stage; escalating to the approver's manager goes on to Marcus."""
    policy = small_policy(
        [one_stage({"person": "ben.turner"}, {"person": "sofia.alvarez"}, escalate_to={"approver_manager": 1})]
    )
    assert _only(check_policy(policy, company), "escalation_cycle") == []


def test_a_real_escalation_loop_is_still_an_error(company):
    """Escalating from Priya to Priya goes nowhere: still an escalation cycle."""
    policy = small_policy([one_stage({"person": "priya.nair"}, escalate_to={"person": "priya.nair"})])
    assert len(_only(check_policy(policy, company), "escalation_cycle")) == 1


def test_the_settings_escalation_default_is_checked_for_loops_too(company):
    """settings.escalate_to {person: priya.nair} on a stage Priya alone approves: the default loops, and is reported."""
    policy = small_policy(
        [one_stage({"person": "priya.nair"})],
        settings={"escalate_to": {"person": "priya.nair"}},
    )
    assert len(_only(check_policy(policy, company), "escalation_cycle")) == 1


def _erp_vendor(supplier_id: str, currency: str | None, connector: str = "netsuite") -> ErpSupplierRecord:
    return ErpSupplierRecord(connector=connector, supplier_id=supplier_id, name=supplier_id, currency=currency)


def test_a_currency_only_the_erp_vendor_master_uses_without_a_rate_is_an_error(company):
    """The ERP's vendor master has a Monterrey supplier billing in MXN: with no MXN rate the checker says so at
    `rates:`, naming the ERP supplier, with the line to add; vendors in USD or EUR (rated) raise nothing."""
    policy = small_policy([one_stage({"manager": 1})])
    vendors = [_erp_vendor("V100", "USD"), _erp_vendor("V200", "eur"), _erp_vendor("V300", None)]
    assert _only(check_policy(policy, company, vendors), "missing_rate") == []
    [issue] = _only(check_policy(policy, company, [*vendors, _erp_vendor("V77", "MXN")]), "missing_rate")
    assert issue.severity == "error" and issue.line == policy.line_of("rates")
    assert "currency MXN is used (ERP supplier V77 in netsuite)" in issue.message
    assert issue.hint == "add `MXN: <USD per 1 MXN>` under `rates:`"


@pytest.fixture
def cli_env(db_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_activate_refuses_a_policy_without_a_rate_for_a_currency_in_the_erp_master_data(service, cli_env, tmp_path):
    """The ERP sync stored a vendor billing in BRL: `policy activate` refuses a policy with no BRL rate, naming the
    vendor at the policy's line, and activates it once the rate is added."""
    from sqlmodel import Session

    with Session(service.engine) as session:
        session.add(_erp_vendor("V88", "BRL"))
        session.commit()
    doc = yaml.safe_load(EXAMPLE_POLICY.read_text())
    doc["policy"]["version"] = "2099.1"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    refused = CliRunner().invoke(app, ["policy", "activate", str(path), "--directory", str(COMPANY_FILE)])
    assert refused.exit_code == 2, refused.output
    assert "currency BRL is used (ERP supplier V88 in netsuite) but has no rate" in refused.output
    assert "not activated" in refused.output
    doc["rates"]["BRL"] = 0.18
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    activated = CliRunner().invoke(app, ["policy", "activate", str(path), "--directory", str(COMPANY_FILE)])
    assert activated.exit_code == 0, activated.output
    assert "is now active" in activated.output

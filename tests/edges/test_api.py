"""The HTTP API: tokens and roles, requisitions and actions, field-level errors, policy, audit."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from approvals.models import Requisition
from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.tokens import create_token
from tests.factories import STRETCH_WRAP, boxes

EXAMPLES_POLICY = "examples/policy.yaml"


@pytest.fixture
def api(db_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db_url, admin_token=None, env="dev", _env_file=None)
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    app = create_app(settings, runtime=runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.tokens = {
            role: create_token(runtime.engine, name=f"test-{role}", role=role, act_as=True)  # type: ignore[attr-defined]
            for role in ("admin", "auditor", "service")
        }
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def auth(client, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[role]}"}


def new_request(**overrides):
    body = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [boxes(80)],
    }
    body.update(overrides)
    return body


def count_requisitions(client) -> int:
    with Session(client.runtime.engine) as s:
        return s.exec(select(func.count()).select_from(Requisition)).one()


def test_health_and_readiness(api):
    """Health answers without a token; readiness reports the database."""
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_missing_forged_and_wrong_role_tokens(api):
    """No token is 401, a forged token is 401, an auditor creating a requisition is 403; nothing is written."""
    assert api.get("/api/v1/requisitions").status_code == 401
    forged = api.get("/api/v1/requisitions", headers={"Authorization": "Bearer pb_forged"})
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
    denied = api.post("/api/v1/requisitions", json=new_request(), headers=auth(api, "auditor"))
    assert denied.status_code == 403
    assert count_requisitions(api) == 0


def test_create_get_list_and_approve(api):
    """A service creates a requisition, reads it back, finds it in the approver's queue and approves it."""
    created = api.post("/api/v1/requisitions", json=new_request(), headers=auth(api, "service"))
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["requisition"]["waiting_on"] == ["maria.lopez"]
    got = api.get(f"/api/v1/requisitions/{number}", headers=auth(api, "auditor")).json()
    assert got["state"] == "pending_approval" and got["steps"][0]["explanation"]
    queue = api.get("/api/v1/requisitions", params={"waiting_on": "maria.lopez"}, headers=auth(api, "service"))
    assert [r["number"] for r in queue.json()] == [number]
    approved = api.post(
        f"/api/v1/requisitions/{number}/actions",
        headers={**auth(api, "service"), "Idempotency-Key": "t-1"},
        json={"action": "approve", "actor": "maria.lopez"},
    )
    # approved, and handed to the ERP outbox in the same transaction
    assert approved.status_code == 200 and approved.json()["outcome"] == "approved"
    assert approved.json()["requisition"]["state"] == "po_pending"
    replay = api.post(
        f"/api/v1/requisitions/{number}/actions",
        headers={**auth(api, "service"), "Idempotency-Key": "t-1"},
        json={"action": "approve", "actor": "maria.lopez"},
    )
    assert replay.json()["replayed"] is True


def test_stale_and_illegal_actions_are_409_with_who(api):
    """A second tap after a decision is 409 naming who acted; reject without reason is 422."""
    number = api.post("/api/v1/requisitions", json=new_request(), headers=auth(api, "service")).json()["number"]
    no_reason = api.post(
        f"/api/v1/requisitions/{number}/actions",
        headers=auth(api, "service"),
        json={"action": "reject", "actor": "maria.lopez"},
    )
    assert no_reason.status_code == 422
    api.post(
        f"/api/v1/requisitions/{number}/actions",
        headers=auth(api, "service"),
        json={"action": "approve", "actor": "maria.lopez"},
    )
    stale = api.post(
        f"/api/v1/requisitions/{number}/actions",
        headers=auth(api, "service"),
        json={"action": "approve", "actor": "maria.lopez"},
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["decided_by"] == "maria.lopez"


@pytest.mark.parametrize(
    "line, field",
    [
        ({"description": "wrap", "quantity": "a lot", "unit_price": 32}, "lines[0].quantity"),
        ({"description": "wrap", "quantity": -5, "unit_price": 32}, "lines[0].quantity"),
        ({"description": "wrap", "quantity": 0, "unit_price": 32}, "lines[0].quantity"),
        ({"description": "wrap", "quantity": 3, "unit_price": 0}, "lines[0].unit_price"),
        ({"description": "wrap", "quantity": 3, "unit_price": "thirty"}, "lines[0].unit_price"),
    ],
)
def test_bad_numbers_get_field_errors_and_nothing_is_written(api, line, field):
    """Non-numeric, negative or zero quantities and prices are refused per field; no requisition exists after."""
    response = api.post("/api/v1/requisitions", json=new_request(lines=[line]), headers=auth(api, "service"))
    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert count_requisitions(api) == 0


def test_unknown_references_are_field_errors(api):
    """An unknown supplier, site and currency each get their own actionable message."""
    response = api.post(
        "/api/v1/requisitions",
        json=new_request(supplier="acme-unknown", site="ZZZ", currency="JPY"),
        headers=auth(api, "service"),
    )
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["error"]["fields"]}
    assert "supplier master" in fields["supplier"]
    assert "sites are" in fields["site"]
    assert "exchange rate" in fields["currency"]
    assert count_requisitions(api) == 0


def test_absurd_sizes_are_refused(api):
    """Ten megabytes of text is 413; ten thousand lines is a 422 on `lines`; nothing is written."""
    huge = api.post(
        "/api/v1/requisitions",
        headers={**auth(api, "service"), "Content-Type": "application/json"},
        content=json.dumps(new_request(justification="x" * 10_000_000)),
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"
    many = api.post(
        "/api/v1/requisitions", json=new_request(lines=[STRETCH_WRAP] * 10_000), headers=auth(api, "service")
    )
    assert many.status_code in (413, 422)
    if many.status_code == 422:
        assert "lines" in [f["field"] for f in many.json()["error"]["fields"]]
    long_text = api.post(
        "/api/v1/requisitions", json=new_request(justification="y" * 5000), headers=auth(api, "service")
    )
    assert long_text.status_code == 422
    assert count_requisitions(api) == 0


def test_malformed_json_is_a_clear_422(api):
    """A body that is not JSON gets a JSON error, never a stack trace."""
    response = api.post(
        "/api/v1/requisitions",
        content=b"{not json",
        headers={**auth(api, "service"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "Traceback" not in response.text and response.json()["error"]["code"] == "validation_failed"


def test_delegations_crud(api, clock):
    """A manager sets a delegation, it is listed as active, and ending it removes it from the list."""
    body = {
        "actor": "maria.lopez",
        "delegator": "maria.lopez",
        "delegate": "frank.novak",
        "starts_at": clock.now.isoformat(),
        "ends_at": "2026-12-31T00:00:00+00:00",
    }
    created = api.post("/api/v1/delegations", json=body, headers=auth(api, "service"))
    assert created.status_code == 201, created.text
    delegation = created.json()
    assert delegation["active"] is True
    listed = api.get("/api/v1/delegations", params={"person": "maria.lopez"}, headers=auth(api, "auditor")).json()
    assert [d["id"] for d in listed] == [delegation["id"]]
    ended = api.delete(
        f"/api/v1/delegations/{delegation['id']}", params={"actor": "maria.lopez"}, headers=auth(api, "service")
    )
    assert ended.status_code == 200 and ended.json()["cancelled_at"]
    assert api.get("/api/v1/delegations", headers=auth(api, "admin")).json() == []
    someone_else = api.post("/api/v1/delegations", json={**body, "actor": "frank.novak"}, headers=auth(api, "service"))
    assert someone_else.status_code == 403


def test_policy_current_and_validate_upload(api):
    """The active policy version is shown; an uploaded broken file is reported with its line and not activated."""
    current = api.get("/api/v1/policy", headers=auth(api, "auditor")).json()
    assert current["version"] == "2026.11.1" and len(current["content_hash"]) == 64
    broken = "policy: {id: x, version: '1', currency: USD}\nrules:\n  - id: r1\n    auto_approve: yes please\n"
    report = api.post(
        "/api/v1/policy/validate", files={"file": ("broken.yaml", broken)}, headers=auth(api, "admin")
    ).json()
    assert report["valid"] is False
    assert report["findings"][0]["line"] == 4
    good = open(EXAMPLES_POLICY, encoding="utf-8").read()
    ok = api.post("/api/v1/policy/validate", files={"file": ("policy.yaml", good)}, headers=auth(api, "admin")).json()
    assert ok["valid"] is True and ok["version"] == "2026.11.1"
    assert api.get("/api/v1/policy", headers=auth(api, "admin")).json()["content_hash"] == current["content_hash"]


def test_validate_upload_needs_a_rate_for_a_currency_in_the_erp_vendor_master(api):
    """The ERP sync stored a vendor billing in BRL: an uploaded policy with no BRL rate is reported invalid, the
    finding naming the vendor."""
    from sqlmodel import Session

    from approvals.master_data import ErpSupplierRecord

    with Session(api.app.state.runtime.engine) as session:
        session.add(ErpSupplierRecord(connector="netsuite", supplier_id="V88", name="Sao Paulo Pack", currency="BRL"))
        session.commit()
    good = open(EXAMPLES_POLICY, encoding="utf-8").read()
    report = api.post("/api/v1/policy/validate", files={"file": ("p.yaml", good)}, headers=auth(api, "admin")).json()
    assert report["valid"] is False
    assert any("currency BRL is used (ERP supplier V88 in netsuite)" in f["message"] for f in report["findings"])


def test_audit_export_and_verify_need_auditor(api):
    """Auditors export the trail as JSONL or CSV and verify it; a service token cannot."""
    api.post("/api/v1/requisitions", json=new_request(), headers=auth(api, "service"))
    assert api.get("/api/v1/audit/export", headers=auth(api, "service")).status_code == 403
    jsonl = api.get("/api/v1/audit/export", headers=auth(api, "auditor"))
    events = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [e["kind"] for e in events][-3:] == ["created", "submitted", "routed"]
    csv_text = api.get("/api/v1/audit/export", params={"format": "csv"}, headers=auth(api, "auditor")).text
    assert csv_text.splitlines()[0].startswith("seq,at,kind")
    assert api.get("/api/v1/audit/verify", headers=auth(api, "auditor")).json()["ok"] is True


def test_openapi_lists_the_api(api):
    """The OpenAPI document describes requisitions, actions, delegations, policy and audit."""
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/requisitions",
        "/api/v1/requisitions/{number}/actions",
        "/api/v1/delegations",
        "/api/v1/policy",
        "/api/v1/policy/validate",
        "/api/v1/audit/export",
    ):
        assert path in paths


@pytest.mark.parametrize(
    "request_args",
    [
        ("POST", "/api/v1/requisitions", {"json": new_request(justification="before\x00after")}),
        ("GET", "/api/v1/requisitions?state=ap%00proved", {}),
        ("GET", f"/api/v1/requisitions?offset={2**63}", {}),
        ("DELETE", f"/api/v1/delegations/{2**63}?actor=maria.lopez", {}),
        (
            "POST",
            "/api/v1/delegations",
            {
                "json": {
                    "actor": "maria.lopez",
                    "delegator": "maria.lopez",
                    "delegate": "frank.novak",
                    "max_amount": "1e30",
                    "starts_at": "2026-11-23T00:00:00Z",
                    "ends_at": "2026-12-01T00:00:00Z",
                }
            },
        ),
        (
            "POST",
            "/api/v1/delegations",
            {
                "json": {
                    "actor": "maria.lopez",
                    "delegator": "maria.lopez",
                    "delegate": "frank.novak",
                    "starts_at": "0001-01-01T00:00:00+14:00",
                    "ends_at": "9999-12-30T00:00:00-12:00",
                }
            },
        ),
        (
            "POST",
            "/api/v1/requisitions",
            {"json": new_request(lines=[{"description": "wrap", "quantity": "1,5", "unit_price": 32}])},
        ),
        (
            "POST",
            "/api/v1/requisitions",
            {"json": new_request(lines=[{"description": "wrap", "quantity": "0.001", "unit_price": "0.001"}])},
        ),
    ],
)
def test_hostile_input_is_a_clear_422_never_a_500(api, request_args):
    """NUL characters, 64-bit overflows, absurd amounts and years, ambiguous commas, sub-cent totals: 422, a field."""
    method, url, kwargs = request_args
    response = api.request(method, url, headers=auth(api, "admin"), **kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_failed"
    assert count_requisitions(api) == 0


def test_ambiguous_decimal_comma_is_explained(api):
    """'1,5' rolls could mean 1.5 or 15, so the requester is asked to write it unambiguously."""
    response = api.post(
        "/api/v1/requisitions",
        headers=auth(api, "service"),
        json=new_request(lines=[{"description": "wrap", "quantity": "1,5", "unit_price": 32}]),
    )
    message = {f["field"]: f["message"] for f in response.json()["error"]["fields"]}["lines[0].quantity"]
    assert "ambiguous" in message and "1,500.00" in message


def test_delegation_end_can_be_moved(api, clock):
    """Maria comes back early: she moves her delegation's end, and the audit records the change."""
    body = {
        "actor": "maria.lopez",
        "delegator": "maria.lopez",
        "delegate": "frank.novak",
        "starts_at": clock.now.isoformat(),
        "ends_at": "2026-12-31T00:00:00+00:00",
    }
    delegation = api.post("/api/v1/delegations", json=body, headers=auth(api, "service")).json()
    moved = api.patch(
        f"/api/v1/delegations/{delegation['id']}",
        headers=auth(api, "service"),
        json={"actor": "maria.lopez", "ends_at": "2026-11-30T00:00:00+00:00"},
    )
    assert moved.status_code == 200 and moved.json()["ends_at"].startswith("2026-11-30")
    backwards = api.patch(
        f"/api/v1/delegations/{delegation['id']}",
        headers=auth(api, "service"),
        json={"actor": "maria.lopez", "ends_at": "2026-11-01T00:00:00+00:00"},
    )
    assert backwards.status_code == 422
    stranger = api.patch(
        f"/api/v1/delegations/{delegation['id']}",
        headers=auth(api, "service"),
        json={"actor": "frank.novak", "ends_at": "2026-12-05T00:00:00+00:00"},
    )
    assert stranger.status_code == 403
    export = api.get("/api/v1/audit/export", headers=auth(api, "auditor"))
    kinds = [json.loads(line)["kind"] for line in export.text.splitlines()]
    assert "delegation_changed" in kinds


def test_readiness_names_the_active_policy(api):
    """/readyz reports the policy version it would route with to a caller with a token, and only to them."""
    assert api.get("/readyz", headers=auth(api, "service")).json()["policy"].startswith("2026.11.1 (sha256:")
    assert api.get("/readyz").json() == {"status": "ready"}

"""The OpenAPI document against the API's real answers: every status a call gives is declared for its operation,
and every body matches the schema the document declares for that status."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from sqlalchemy import create_engine

from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.tokens import create_token
from tests.factories import boxes

POLICY = "examples/policy.yaml"


class Observed:
    """Calls the API by operation (method and path template) and remembers every status each one gave."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens
        self.seen: list[tuple[str, str, int, Any, str]] = []

    def __call__(self, method: str, template: str, role: str | None = "admin", **kwargs: Any) -> Any:
        params = kwargs.pop("path", {})
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers = {"Authorization": f"Bearer {self.tokens.get(role, role)}", **headers}
        res = self.client.request(method, template.format(**params), headers=headers, **kwargs)
        kind = res.headers.get("content-type", "").split(";")[0]
        body = res.json() if kind == "application/json" else None
        self.seen.append((method.lower(), template, res.status_code, body, kind))
        return res


@pytest.fixture
def api(tmp_path, sqlite_template, clock):  # type: ignore[no-untyped-def]
    db = tmp_path / "api.db"
    db.write_bytes(sqlite_template.read_bytes())
    settings = Settings(
        database_url=f"sqlite:///{db}", admin_token=None, env="dev", _env_file=None, max_body_bytes=20_000
    )
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    app = create_app(settings, runtime=runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        tokens = {
            role: create_token(runtime.engine, name=f"t-{role}", role=role, act_as=True)
            for role in ("admin", "auditor", "service")
        }
        yield Observed(client, tokens), app
    runtime.engine.dispose()


def request(**overrides: Any) -> dict[str, Any]:
    body = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [boxes(80)],
    }
    return {**body, **overrides}


def exercise(call: Observed) -> None:
    """Each operation, with what succeeds and with the mistakes clients make."""
    req, one, acts = "/api/v1/requisitions", "/api/v1/requisitions/{number}", "/api/v1/requisitions/{number}/actions"
    call("GET", "/healthz", role=None)
    call("GET", "/readyz", role=None)
    created = call("POST", req, role="service", json=request(), headers={"Idempotency-Key": "k-1"})
    number = created.json()["number"]
    call("POST", req, role="service", json=request(lines=[boxes(81)]), headers={"Idempotency-Key": "k-1"})  # 409
    call("POST", req, role=None, json=request())  # 401
    call("POST", req, role="auditor", json=request())  # 403
    call("POST", req, role="service", json=request(lines=[]))  # 422
    call("POST", req, role="service", json=request(justification="x" * 30_000))  # 413
    call("GET", req, role="auditor")
    call("GET", req, role="service", params={"limit": 0})  # 422
    call("GET", one, role="auditor", path={"number": number})
    call("GET", one, role="service", path={"number": "PR-9999"})  # 404
    approver = created.json()["requisition"]["waiting_on"][0]
    call("POST", acts, role="service", path={"number": number}, json={"action": "reassign", "actor": approver})  # 403
    call("POST", acts, role="service", path={"number": number}, json={"action": "fly", "actor": approver})  # 422
    call("POST", acts, role="service", path={"number": "PR-9999"}, json={"action": "approve", "actor": approver})
    call("POST", acts, role="service", path={"number": number}, json={"action": "approve", "actor": approver})
    call("POST", acts, role="service", path={"number": number}, json={"action": "approve", "actor": approver})  # 409

    dels, dele = "/api/v1/delegations", "/api/v1/delegations/{delegation_id}"
    window = {"actor": "zoe.martin", "delegator": "zoe.martin", "delegate": "priya.nair"}
    made = call("POST", dels, json={**window, "starts_at": "2026-12-20T00:00:00Z", "ends_at": "2027-01-03T00:00:00Z"})
    call("POST", dels, json={**window, "starts_at": "2027-01-03T00:00:00Z", "ends_at": "2026-12-20T00:00:00Z"})
    ident = made.json()["id"]
    call("GET", dels, role="auditor")
    call("GET", dele, role="auditor", path={"delegation_id": ident})
    call("GET", dele, role="auditor", path={"delegation_id": 999})  # 404
    call("PATCH", dele, path={"delegation_id": ident}, json={"actor": "zoe.martin", "ends_at": "2027-01-10T00:00:00Z"})
    call("PATCH", dele, path={"delegation_id": ident}, json={"actor": "zoe.martin"})  # 422
    call("DELETE", dele, path={"delegation_id": ident}, params={"actor": "zoe.martin"})
    call("DELETE", dele, path={"delegation_id": ident}, params={"actor": "zoe.martin"})  # already ended
    call("DELETE", dele, path={"delegation_id": 999}, params={"actor": "zoe.martin"})  # 404

    call("GET", "/api/v1/policy", role="auditor")
    with open(POLICY, "rb") as policy:
        call("POST", "/api/v1/policy/validate", files={"file": ("policy.yaml", policy, "text/yaml")})
    call("POST", "/api/v1/policy/validate")  # 422: no file
    call("GET", "/api/v1/audit/export", role="auditor", params={"requisition": number})
    call("GET", "/api/v1/audit/export", role="auditor", params={"since": "0001-01-01T00:00:00Z"})  # 422
    call("GET", "/api/v1/audit/verify", role="auditor")
    call("GET", "/api/v1/audit/verify", role="service")  # 403
    call("GET", "/metrics", role="service")
    for _ in range(11):  # a token sprayer from one address: 401s, then 429
        call("GET", req, role="pb_forged")


def test_every_status_the_api_gives_is_declared_for_its_operation(api, monkeypatch):  # type: ignore[no-untyped-def]
    """Each call's status is in its operation's responses, and its JSON body matches the schema declared there
    (errors: the {error: {code, message, fields}} body); 401, 403, 404, 409, 413, 422, 429 and 503 are all seen."""
    call, app = api
    exercise(call)
    with monkeypatch.context() as m:  # the database goes away: readiness says so
        m.setattr(app.state.runtime, "engine", create_engine("sqlite:////nonexistent-dir/procurebot.db"))
        call("GET", "/readyz", role=None)
    doc = app.openapi()
    missing, wrong = [], []
    for method, template, status, body, kind in call.seen:
        declared = doc["paths"][template][method]["responses"]
        if str(status) not in declared:
            missing.append(f"{method.upper()} {template} {status}")
            continue
        schema = declared[str(status)].get("content", {}).get(kind, {}).get("schema")
        if body is not None and schema is not None:
            validator = Draft202012Validator({**schema, "components": doc["components"]})
            for error in validator.iter_errors(body):
                wrong.append(f"{method.upper()} {template} {status}: {error.message[:200]}")
    assert missing == [] and wrong == []
    statuses = {status for _, _, status, _, _ in call.seen}
    assert {200, 201, 401, 403, 404, 409, 413, 422, 429, 503} <= statuses


def test_the_document_names_operations_roles_and_the_error_body(api):  # type: ignore[no-untyped-def]
    """Operation ids read as words, each secured operation says which roles it needs, every error status refers
    to the one error schema, and the create and act operations carry examples."""
    _, app = api
    doc = app.openapi()
    ids = []
    for template, operations in doc["paths"].items():
        for method, op in operations.items():
            ids.append(op["operationId"])
            assert "_api_v1_" not in op["operationId"] and not op["operationId"].endswith(("_get", "_post"))
            if op.get("security"):
                assert "Needs an API token" in op["description"] and "`admin`" in op["description"], template
                assert {"401", "403", "429"} <= set(op["responses"]), template
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")) and template != "/readyz":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (template, status)
    assert len(ids) == len(set(ids))
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = doc["paths"]["/api/v1/requisitions"]["post"]
    assert create["operationId"] == "create_requisition"
    assert create["requestBody"]["content"]["application/json"]["example"]["requester"] == "jake.miller"
    acts = doc["paths"]["/api/v1/requisitions/{number}/actions"]["post"]
    assert set(acts["requestBody"]["content"]["application/json"]["examples"]) == {"approve", "reject"}
    assert "stale_action" in str(acts["responses"]["409"])

"""Who may call what, against a real `procurebot serve` process: every route of /openapi.json with no token, a
garbage token, a revoked token and each role; acting as a person with and without an act-as grant; what the
audit trail says about the credential; idempotency keys per credential; failed sign-ins slowed per source."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from typing import Any, Iterator

import httpx
import pytest
from security_served import BIN, Served

from approvals.db import make_engine
from bot.tokens import create_token, list_tokens, revoke_token

READ = {"admin", "auditor", "service"}
WRITE = {"admin", "service"}
AUDIT = {"admin", "auditor"}
# the roles each route admits; a route the app serves that is missing here fails test_every_route_is_known
ROLES: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    ("POST", "/api/v1/requisitions"): WRITE,
    ("GET", "/api/v1/requisitions"): READ,
    ("GET", "/api/v1/requisitions/{number}"): READ,
    ("POST", "/api/v1/requisitions/{number}/actions"): WRITE,
    ("GET", "/api/v1/requisitions/{number}/comments"): READ,
    ("POST", "/api/v1/requisitions/{number}/comments"): WRITE,
    ("GET", "/api/v1/requisitions/{number}/attachments"): READ,
    ("POST", "/api/v1/requisitions/{number}/attachments"): WRITE,
    ("GET", "/api/v1/requisitions/{number}/attachments/{attachment_id}"): READ,
    ("GET", "/api/v1/delegations"): READ,
    ("POST", "/api/v1/delegations"): WRITE,
    ("GET", "/api/v1/delegations/{delegation_id}"): READ,
    ("DELETE", "/api/v1/delegations/{delegation_id}"): WRITE,
    ("PATCH", "/api/v1/delegations/{delegation_id}"): WRITE,
    ("GET", "/api/v1/policy"): READ,
    ("POST", "/api/v1/policy/validate"): WRITE,
    ("GET", "/api/v1/audit/export"): AUDIT,
    ("GET", "/api/v1/audit/verify"): AUDIT,
    ("GET", "/metrics"): READ,
}
# the routes whose body or query names the person acting
NAMES_A_PERSON = {
    ("POST", "/api/v1/requisitions"),
    ("POST", "/api/v1/requisitions/{number}/actions"),
    ("POST", "/api/v1/requisitions/{number}/comments"),
    ("POST", "/api/v1/requisitions/{number}/attachments"),
    ("POST", "/api/v1/delegations"),
    ("DELETE", "/api/v1/delegations/{delegation_id}"),
    ("PATCH", "/api/v1/delegations/{delegation_id}"),
}
_sources = itertools.count(2)


def source() -> str:
    """A loopback address of its own, so one case's failed sign-ins never slow another's."""
    n = next(_sources)
    return f"127.0.{n // 250}.{n % 250 + 1}"


def client(address: str | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address or source())
    return httpx.Client(transport=transport, timeout=30)


def new_request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}],
    }
    body.update(overrides)
    return body


class World:
    """The served process, its tokens by label, and a requisition number to aim at."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.engine = make_engine(served.env["DATABASE_URL"])
        make = lambda name, role, **kw: create_token(self.engine, name=name, role=role, **kw)  # noqa: E731
        self.tokens = {
            "admin": make("matrix-admin", "admin", act_as=True),
            "auditor": make("matrix-auditor", "auditor"),
            "service": make("matrix-service", "service", act_as=True),
            "plain-service": make("plain-service", "service"),
            "plain-admin": make("plain-admin", "admin"),
            "jake": make("jake-portal", "service", person="jake.miller"),
            "maria": make("maria-portal", "service", person="maria.lopez"),
            "chi-only": make("chi-portal", "service", act_as=True, act_as_sites=["CHI"]),
            "jake-only": make("jake-only", "service", act_as=True, act_as_people=["jake.miller"]),
            "revoked": make("revoked-one", "service", act_as=True),
        }
        revoked = next(t for t in list_tokens(self.engine) if t.name == "revoked-one")
        revoke_token(self.engine, revoked.id or 0)

    def h(self, label: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[label]}", **extra}

    def submit(self, label: str = "service", **overrides: Any) -> httpx.Response:
        with client() as c:
            return c.post(
                f"{self.served.base}/api/v1/requisitions", headers=self.h(label), json=new_request(**overrides)
            )

    def act(self, label: str, number: str, **body: Any) -> httpx.Response:
        with client() as c:
            return c.post(f"{self.served.base}/api/v1/requisitions/{number}/actions", headers=self.h(label), json=body)

    def events(self, **params: str) -> list[dict[str, Any]]:
        with client() as c:
            res = c.get(f"{self.served.base}/api/v1/audit/export", headers=self.h("auditor"), params=params)
        assert res.status_code == 200, res.text
        return [json.loads(line) for line in res.text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def world(served: Served) -> Iterator[World]:
    w = World(served)
    yield w
    w.engine.dispose()


def _call(c: httpx.Client, base: str, method: str, path: str, number: str, headers: dict[str, str]) -> httpx.Response:
    url = base + path.replace("{number}", number).replace("{delegation_id}", "1").replace("{attachment_id}", "1")
    kw: dict[str, Any] = {"headers": headers}
    if method == "POST" and path.endswith("/actions"):
        kw["json"] = {"action": "approve", "actor": "maria.lopez"}
    elif method == "POST" and path.endswith("/comments"):
        kw["json"] = {"actor": "maria.lopez", "text": "Checking the contract price first."}
    elif method == "POST" and path.endswith("/attachments"):
        kw["data"] = {"actor": "maria.lopez"}
        kw["files"] = {"file": ("quote.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}
    elif method == "POST" and path.endswith("/requisitions"):
        kw["json"] = new_request()
    elif method == "POST" and path.endswith("/delegations"):
        kw["json"] = {
            "actor": "maria.lopez",
            "delegator": "maria.lopez",
            "delegate": "zoe.martin",
            "starts_at": "2030-01-02T00:00:00+00:00",
            "ends_at": "2030-01-05T00:00:00+00:00",
        }
    elif method == "POST" and path.endswith("/validate"):
        kw["files"] = {"file": ("policy.yaml", b"policy_id: x\n", "application/x-yaml")}
    elif method == "PATCH":
        kw["json"] = {"actor": "maria.lopez", "ends_at": "2030-01-04T00:00:00+00:00"}
    elif method == "DELETE":
        url += "?actor=maria.lopez"
    return c.request(method, url, **kw)


def routes(served: Served) -> list[tuple[str, str, bool]]:
    spec = httpx.get(f"{served.base}/openapi.json", timeout=10).json()
    return [(m.upper(), p, bool(op.get("security"))) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_auth_matrix_over_every_route(served, world):
    """Every route the server publishes: no token, garbage, revoked (401); each role (403 outside its roles, never
    else); a token without act-as naming Maria (403 wherever a person is named)."""
    published = {(m, p) for m, p, _ in routes(served)}
    assert published == set(ROLES), f"routes whose roles this test does not know: {published ^ set(ROLES)}"
    number = world.submit().json()["number"]
    failures, checked = [], 0
    for method, path, secured in routes(served):
        expected = ROLES[(method, path)]
        with client() as c:
            for label, headers in (
                ("no token", {}),
                ("garbage", {"Authorization": "Bearer pb_not-a-real-token-0000000000000000"}),
                ("revoked", world.h("revoked")),
            ):
                res = _call(c, served.base, method, path, number, headers)
                checked += 1
                if expected is not None and res.status_code != 401:
                    failures.append(f"{method} {path} {label}: {res.status_code}")
                if expected is None and res.status_code in (401, 403, 500):
                    failures.append(f"{method} {path} {label} (public): {res.status_code}")
            for role in ("admin", "auditor", "service"):
                res = _call(c, served.base, method, path, number, world.h(role))
                checked += 1
                allowed = expected is None or role in expected
                if allowed and res.status_code in (401, 403, 429, 500):
                    failures.append(f"{method} {path} {role}: {res.status_code} {res.text[:120]}")
                if not allowed and res.status_code != 403:
                    failures.append(f"{method} {path} {role} (not admitted): {res.status_code}")
            if (method, path) in NAMES_A_PERSON:
                res = _call(c, served.base, method, path, number, world.h("plain-service"))
                checked += 1
                if res.status_code != 403:
                    failures.append(f"{method} {path} as maria.lopez without act-as: {res.status_code}")
    assert not failures, "\n".join(failures)
    assert checked == 6 * len(ROLES) + len(NAMES_A_PERSON)


def test_a_token_without_act_as_cannot_approve_as_someone_else(served, world):
    """A plain service token names Maria as the approver: 403, nothing decided, and the refusal is audited."""
    number = world.submit().json()["number"]
    res = world.act("plain-service", number, action="approve", actor="maria.lopez")
    assert res.status_code == 403, res.text
    assert "act-as" in res.json()["error"]["message"]
    with client() as c:
        state = c.get(f"{served.base}/api/v1/requisitions/{number}", headers=world.h("auditor")).json()["state"]
    assert state == "pending_approval"
    refused = [e for e in world.events(requisition=number) if e["kind"] == "act_as_refused"]
    assert refused and refused[-1]["actor"] == "maria.lopez"
    assert refused[-1]["after"]["credential"]["name"] == "plain-service"


def test_an_admin_token_without_act_as_cannot_act_as_a_person(served, world):
    """An admin token is no skeleton key: without --act-as it cannot approve in Maria's name (403)."""
    number = world.submit().json()["number"]
    assert world.act("plain-admin", number, action="approve", actor="maria.lopez").status_code == 403


def test_a_token_without_act_as_cannot_submit_for_someone_else(served, world):
    """A plain service token submits a requisition in Jake's name: 403 and no requisition is made."""
    before = len(world.events())
    res = world.submit("plain-service")
    assert res.status_code == 403, res.text
    kinds = [e["kind"] for e in world.events()[before:]]
    assert kinds == ["act_as_refused"]


def test_a_person_token_acts_as_its_person_only(served, world):
    """Jake's own token submits as Jake (201); naming Maria as requester or approver is refused (403)."""
    mine = world.submit("jake")
    assert mine.status_code == 201, mine.text
    assert world.submit("jake", requester="maria.lopez").status_code == 403
    assert world.act("jake", mine.json()["number"], action="approve", actor="maria.lopez").status_code == 403
    maria = world.act("maria", mine.json()["number"], action="approve", actor="maria.lopez")
    assert maria.status_code == 200, maria.text


def test_act_as_limited_to_sites_and_people(served, world):
    """A Chicago-only grant may submit for Luis at CHI but not for Jake at DAL; a Jake-only grant only as Jake."""
    chi = world.submit("chi-only", requester="luis.garcia", site="CHI", cost_center="CHI-OPS")
    assert chi.status_code == 201, chi.text
    assert world.submit("chi-only").status_code == 403
    assert world.submit("jake-only").status_code == 201
    number = world.submit().json()["number"]
    assert world.act("jake-only", number, action="approve", actor="maria.lopez").status_code == 403


def test_audit_names_the_credential_and_the_server_sets_the_surface(served, world):
    """A portal says its call came from "teams": the audit says api, with the token's id and name beside Maria."""
    number = world.submit().json()["number"]
    res = world.act("service", number, action="approve", actor="maria.lopez", surface="teams")
    assert res.status_code == 200, res.text
    approved = [e for e in world.events(requisition=number) if e["kind"] == "approved" or e["actor"] == "maria.lopez"]
    assert approved, world.events(requisition=number)
    event = approved[-1]
    assert event["surface"] == "api"
    credential = event["after"]["credential"]
    assert credential["kind"] == "api_token" and credential["name"] == "matrix-service"
    assert re.fullmatch(r"\d+", credential["id"]) and credential["act_as"] == "anyone"
    submitted = world.events(requisition=number)[0]
    assert submitted["after"]["credential"]["name"] == "matrix-service"


def test_idempotency_keys_are_per_credential(served, world):
    """Two clients happen to use the same Idempotency-Key for different requisitions: both are made, no 409."""
    headers = {"Idempotency-Key": "order-1"}
    with client() as c:
        first = c.post(f"{served.base}/api/v1/requisitions", headers=world.h("service", **headers), json=new_request())
        second = c.post(
            f"{served.base}/api/v1/requisitions",
            headers=world.h("admin", **headers),
            json=new_request(
                lines=[{"description": "Stretch wrap", "sku": "PKG-SW-18", "quantity": 4, "unit_price": 32}]
            ),
        )
        again = c.post(f"{served.base}/api/v1/requisitions", headers=world.h("service", **headers), json=new_request())
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    assert first.json()["number"] != second.json()["number"]
    assert again.json()["replayed"] and again.json()["number"] == first.json()["number"]


def test_failed_sign_ins_are_limited_per_source(served, world):
    """A script guessing tokens from one address is told to wait (429, Retry-After); another address is not."""
    guesser = source()
    with client(guesser) as c:
        codes = [
            c.get(f"{served.base}/api/v1/policy", headers={"Authorization": f"Bearer pb_guess{i}"}).status_code
            for i in range(12)
        ]
        blocked = c.get(f"{served.base}/api/v1/policy", headers=world.h("service"))
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429], codes
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    with client() as other:
        assert other.get(f"{served.base}/api/v1/policy", headers=world.h("service")).status_code == 200


def test_console_sign_in_is_limited_per_source(served, world):
    """Guessing tokens on the console's sign-in form is slowed the same way (429 with Retry-After)."""
    with client(source()) as c:
        page = c.get(f"{served.base}/console/login")
        csrf = re.search(r'name="login_csrf" value="([^"]*)"', page.text)
        form = {"token": "wrong"} | ({"login_csrf": csrf.group(1)} if csrf else {})
        headers = {"Origin": served.base}
        codes = [c.post(f"{served.base}/console/login", data=form, headers=headers).status_code for _ in range(11)]
    assert codes[-1] == 429, codes
    assert 429 not in codes[:10]


def test_token_list_shows_the_act_as_grant(served, world):
    """`procurebot token list` shows each token's person and act-as grant, never the token."""
    out = subprocess.run(
        [str(BIN / "procurebot"), "token", "list"], env=served.env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = {line.split("\t")[1]: line for line in out.stdout.splitlines() if "\t" in line}
    assert "act-as: anyone (sites CHI)" in lines["chi-portal"]
    assert "act-as: no" in lines["plain-service"] and "person jake.miller" in lines["jake-portal"]
    assert world.tokens["chi-only"] not in out.stdout

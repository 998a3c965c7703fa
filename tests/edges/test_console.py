"""The admin console over HTTP: sign-in, roles on every page, CSRF, search, timeline, policy upload and activation."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from approvals.commands import Approve, SetDelegation
from approvals.models import AuditEvent, PolicyVersion
from bot.api.app import create_app
from bot.console.session import COOKIE, Identity, decode, encode
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.tokens import create_token, revoke_token
from tests.factories import boxes, submit

REPO = Path(__file__).resolve().parents[2]
PAGES = ("/console", "/console/requisitions", "/console/policy", "/console/audit", "/console/delegations")


def good_policy_text() -> str:
    """The sample policy as a new version whose touchless limit is $5,000 instead of $1,000."""
    text = (REPO / "examples/policy.yaml").read_text()
    return text.replace('version: "2026.11.1"', 'version: "2026.12.1"').replace(
        "amount: {lte: 1000}\n      item_type: [stock, mro]", "amount: {lte: 5000}\n      item_type: [stock, mro]"
    )


@pytest.fixture
def console(db_url, clock, tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=db_url, admin_token=None, env="dev", session_secret="s" * 40, var_dir=tmp_path, _env_file=None
    )
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False) as client:
        client.tokens = {
            role: create_token(runtime.engine, name=f"test-{role}", role=role)  # type: ignore[attr-defined]
            for role in ("admin", "auditor", "service")
        }
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def login_form(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The sign-in form's hidden fields, as a browser gets them (its sign-in cookie kept by the client)."""
    page = client.get("/console/login").text
    return {"login_csrf": re.search(r'name="login_csrf" value="([^"]*)"', page).group(1)}  # type: ignore[union-attr]


def sign_in(client, role: str):  # type: ignore[no-untyped-def]
    data = {"token": client.tokens[role], **login_form(client)}
    response = client.post("/console/login", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def csrf(client, path: str = "/console") -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_every_page_needs_a_session_and_the_cookie_is_httponly_and_strict(console):
    """Without signing in every page sends you to sign-in; the session cookie cannot be read by scripts."""
    for path in PAGES + ("/console/requisitions/PR-1001", "/console/audit/export"):
        r = console.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), path
    cookie = sign_in(console, "admin").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    for path in PAGES:
        r = console.get(path)
        assert r.status_code == 200 and "Sign out" in r.text, path
        assert "script-src" not in r.headers["content-security-policy"]  # no scripts at all: default-src 'none'


def test_bad_token_and_service_token_are_refused(console):
    """A wrong token and a service token cannot sign in, and each refusal says what to do."""
    r = console.post("/console/login", data={"token": "pb_not-a-token", **login_form(console)})
    assert r.status_code == 401 and "procurebot token create" in r.text
    r = console.post("/console/login", data={"token": console.tokens["service"], **login_form(console)})
    assert r.status_code == 403 and "admin or auditor" in r.text
    assert COOKIE not in console.cookies


def test_forged_expired_and_revoked_sessions_end(console):
    """A cookie signed with another key, an expired one, and one whose token was revoked all lead back to sign-in."""
    sign_in(console, "auditor")
    good = console.cookies[COOKIE]
    who = decode(b"s" * 40, good)
    assert who is not None and who.role == "auditor"
    forged = encode(b"another key", Identity(who.subject, who.name, "admin", "token", who.csrf, who.expires))
    expired = encode(b"s" * 40, Identity(who.subject, who.name, who.role, "token", who.csrf, 1))
    promoted = encode(b"s" * 40, Identity(who.subject, who.name, "admin", "token", who.csrf, who.expires))
    edited = promoted.split(".")[0] + "." + good.split(".")[1]  # the role changed, the old signature kept
    for value in (forged, expired, edited):
        console.cookies.clear()
        console.cookies.set(COOKIE, value, path="/console")
        assert console.get("/console", follow_redirects=False).status_code == 303
    console.cookies.clear()
    console.cookies.set(COOKIE, good, path="/console")
    assert console.get("/console").status_code == 200
    revoke_token(console.runtime.engine, int(who.subject))
    r = console.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login?ended=1"


def test_auditor_reads_everything_but_cannot_upload_or_activate(console):
    """An auditor sees the policy page without the upload form; an upload or activation post is 403, nothing changes."""
    sign_in(console, "auditor")
    page = console.get("/console/policy").text
    assert 'id="upload"' not in page and "Only an admin" in page
    token = csrf(console)
    r = console.post(
        "/console/policy/upload", data={"csrf": token}, files={"file": ("p.yaml", good_policy_text(), "text/yaml")}
    )
    assert r.status_code == 403 and "Only an admin" in r.text
    r = console.post("/console/policy/activate", data={"csrf": token, "source": "", "content_hash": "x"})
    assert r.status_code == 403
    with Session(console.runtime.engine) as s:
        assert [p.version for p in s.exec(select(PolicyVersion).where(PolicyVersion.active == True))] == [  # noqa: E712
            "2026.11.1"
        ]


def test_forms_without_the_sessions_csrf_token_are_refused(console):
    """An upload or sign-out posted without this session's CSRF token does nothing and says to reload."""
    sign_in(console, "admin")
    r = console.post(
        "/console/policy/upload", data={"csrf": "guess"}, files={"file": ("p.yaml", good_policy_text(), "text/yaml")}
    )
    assert r.status_code == 403 and "Reload the page" in r.text
    assert console.post("/console/logout", data={}).status_code == 403
    assert console.get("/console").status_code == 200


def test_search_and_timeline_show_every_event_and_the_why_of_each_step(console):
    """A routed and approved requisition is found by number and title; its page lists the steps' why and each event."""
    svc = console.runtime.service
    result = svc.submit(submit(lines=[boxes(80)], justification="Peak season"))
    svc.approve(Approve(actor=result.requisition.waiting_on[0], number=result.number))
    sign_in(console, "auditor")
    found = console.get("/console/requisitions", params={"q": result.number}).text
    assert f'href="/console/requisitions/{result.number}"' in found
    assert result.number in console.get("/console/requisitions", params={"q": "corrugated"}).text
    assert "No requisition matches" in console.get("/console/requisitions", params={"q": "zzz-nothing"}).text
    page = console.get(f"/console/requisitions/{result.number}").text
    step = result.requisition.steps[0]
    assert step.explanation in html.unescape(page)
    with Session(console.runtime.engine) as s:
        kinds = s.exec(select(AuditEvent.kind).where(AuditEvent.requisition_number == result.number)).all()
    assert page.count("<li data-kind=") == len(kinds) >= 3
    assert "Step approved" in page or "Approved" in page
    assert (
        '<td data-label="Category">Packaging</td>' in page
    )  # the category by its name, as people know it, not its code
    assert console.get("/console/requisitions/PR-999999").status_code == 404


def test_broken_policy_shows_its_errors_and_changes_nothing(console):
    """Uploading YAML that does not parse, or a policy naming an unknown role, shows the errors with their lines."""
    sign_in(console, "admin")
    token = csrf(console, "/console/policy")
    for name in ("bad_yaml.yaml", "unknown_role.yaml"):
        text = (REPO / "tests/policies" / name).read_text()
        r = console.post("/console/policy/upload", data={"csrf": token}, files={"file": (name, text, "text/yaml")})
        assert r.status_code == 422 and "cannot be activated" in r.text and 'class="findings"' in r.text, name
        assert 'id="activate"' not in r.text
    assert "regional_director" in r.text


def test_good_policy_shows_the_simulate_report_then_activates(console):
    """A good upload shows the what-if replay of stored requisitions; Activate makes it active and audits who did it."""
    svc = console.runtime.service
    for _ in range(3):
        svc.submit(submit(lines=[boxes(60)]))
    sign_in(console, "admin")
    token = csrf(console, "/console/policy")
    r = console.post(
        "/console/policy/upload", data={"csrf": token}, files={"file": ("policy.yaml", good_policy_text(), "text/yaml")}
    )
    assert r.status_code == 200 and 'id="simulate-report"' in r.text
    assert re.search(r'data-figure="replayed".*?<div class="value">3</div>', r.text, re.S)
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
    tampered = dict(form, content_hash="0" * 64)
    assert console.post("/console/policy/activate", data=tampered).status_code == 409
    done = console.post("/console/policy/activate", data=form)
    assert done.status_code == 200 and "is now active" in done.text
    with Session(console.runtime.engine) as s:
        active = s.exec(select(PolicyVersion).where(PolicyVersion.active == True)).one()  # noqa: E712
        event = s.exec(
            select(AuditEvent).where(AuditEvent.kind == "policy_activated").order_by(AuditEvent.seq.desc())
        ).first()
    assert active.version == "2026.12.1"
    assert event.actor == "console:test-admin" and event.surface == "console"
    assert "2026.12.1" in console.get("/console/policy").text


def test_dashboard_audit_export_and_delegations(console):
    """The dashboard shows figures and charts; the audit export downloads JSON Lines; verify reports an intact chain."""
    svc = console.runtime.service
    svc.submit(submit(lines=[boxes(1)]))
    sign_in(console, "auditor")
    svc.clock.advance(hours=2)  # the auditor looks later that day
    page = console.get("/console", params={"days": 7}).text
    assert 'data-figure="touchless"' in page and "<svg" in page and "Open commitments" in page
    # the last 7 days of the service's clock, which stamped the submit: whatever today's date, it is counted
    assert '<div class="label">Requisitions submitted</div><div class="value">1</div>' in page
    assert "<td>Dallas operations <small>(DAL-OPS)</small></td>" in page  # the budget's name first, its code after
    export = console.get("/console/audit/export", params={"format": "jsonl"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/x-ndjson")
    assert '"kind": "auto_approved"' in export.text
    assert "The chain is intact" in console.get("/console/audit", params={"verify": 1}).text
    away = svc.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="frank.novak",
            starts_at=svc.clock(),
            ends_at=svc.clock() + timedelta(days=3),
        )
    )
    delegations = console.get("/console/delegations").text
    assert "Delegations" in delegations
    active = '<td data-label="Status">active</td><td data-label="Approver">Maria Lopez</td>'
    assert active in delegations, away  # active on the clock that set it


def test_production_without_a_session_secret_keeps_the_console_off(console):
    """In production with no PROCUREBOT_SESSION_SECRET nobody can sign in, and the page says which setting to set."""
    console.runtime.settings = console.runtime.settings.model_copy(update={"env": "production", "session_secret": None})
    r = console.get("/console/login")
    assert r.status_code == 503 and "PROCUREBOT_SESSION_SECRET" in r.text
    r = console.post("/console/login", data={"token": console.tokens["admin"]}, follow_redirects=False)
    assert r.status_code == 503 and COOKIE not in console.cookies
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_what_if_changed_routes_name_people_sites_and_suppliers(console):
    """The what-if's changed routes read 'Jake Miller · Dallas DC · Uline' and name approvers, their ids on hover."""
    svc = console.runtime.service
    for _ in range(2):
        svc.submit(submit(lines=[boxes(60)]))
    sign_in(console, "admin")
    token = csrf(console, "/console/policy")
    r = console.post(
        "/console/policy/upload", data={"csrf": token}, files={"file": ("policy.yaml", good_policy_text(), "text/yaml")}
    )
    table = re.search(r'<table class="stack changes">.*?</table>', r.text, re.S)
    assert table is not None, r.text
    rows = re.findall(r"<tr><td data-label=.*?</tr>", table.group(0), re.S)
    assert len(rows) == 2
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", row)).strip() for row in rows]
    directory = console.runtime.directory
    requester = submit(lines=[boxes(60)]).draft
    person = directory.person(requester.requester)
    site = directory.site_by_code[requester.site]
    supplier = directory.supplier_by_id[requester.supplier]
    for text in cells:
        assert f"{person.name} · {site.name} · {supplier.name}" in text, text
        assert "auto-approve" in text
    # every person in the routes is named; the id is only on hover
    titled = re.findall(r'<span class="person" title="([^"]+)">([^<]+)</span>', table.group(0))
    assert titled and all(directory.person(pid).name == name for pid, name in titled)
    visible = " ".join(cells)
    assert not any(pid in visible for pid, _ in titled)
    assert f": {titled[0][1]}" in visible  # "standard-small: Zoe Martin", the rule then its approvers
    assert f'title="{person.id}"' in table.group(0) and f'title="{site.code}"' in table.group(0)


def test_requisition_pages_name_the_site_and_cost_center(console):
    """The requisition page reads 'Dallas DC (DAL)' and 'Dallas operations (DAL-OPS)'; the list names the site."""
    result = console.runtime.service.submit(submit(lines=[boxes(10)]))
    sign_in(console, "auditor")
    page = html.unescape(console.get(f"/console/requisitions/{result.number}").text)
    assert "<dt>Site</dt><dd>Dallas DC (DAL)</dd>" in page
    assert "<dt>Cost center</dt><dd>Dallas operations (DAL-OPS)</dd>" in page
    found = console.get("/console/requisitions", params={"q": result.number}).text
    assert '<span title="DAL">Dallas DC</span>' in found


def test_requisition_page_says_the_amount_once_or_in_both_currencies(console):
    """Ten bundles in dollars read '$480' (not '480.00 USD (480.00 USD)'); a euro request reads its euros first and
    the policy's dollars after."""
    dollars = console.runtime.service.submit(submit(lines=[boxes(10)]))
    euros = console.runtime.service.submit(
        submit(
            supplier="euro-conveyor",
            currency="EUR",
            lines=[{"description": "conveyor belt", "quantity": 1, "unit_price": 1000}],
        )
    )
    sign_in(console, "auditor")
    page = html.unescape(console.get(f"/console/requisitions/{dollars.number}").text)
    assert "<dt>Amount</dt><dd>$480</dd>" in page
    page = html.unescape(console.get(f"/console/requisitions/{euros.number}").text)
    said = re.search(r"<dt>Amount</dt><dd>([^<]*)</dd>", page)
    assert said and re.fullmatch(r"€1,000 \(\$1,0\d\d(\.\d\d)?\)", said.group(1)), said

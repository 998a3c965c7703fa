"""The edges of a real server refuse junk cleanly: Slack requests without a valid signature or with a body Slack never
sends, Teams tokens the SDK would let through, bad audit export parameters, an oversized header; /readyz tells
strangers nothing; secrets and the database are private files."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any

import httpx
import jwt
import pytest
from fake_slack import sign
from fake_teams import APP_ID, ISSUER
from security_served import BIN, SIGNING_SECRET, Served


def _slack(served: Served, body: bytes, content_type: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        served.base + "/slack/events", content=body, headers={"Content-Type": content_type, **headers}, timeout=10
    )


def test_unsigned_or_badly_signed_slack_requests_get_401(served: Served):
    """Requests to /slack/events with a non-numeric timestamp, no, a wrong or a stale signature: 401, no traceback."""
    body = b'{"type": "event_callback", "event": {"type": "message"}}'
    cases = {
        "timestamp-not-a-number": {"X-Slack-Request-Timestamp": "12abc", "X-Slack-Signature": "v0=00"},
        "unsigned": {},
        "wrong-signature": sign("not-the-secret", body),
        "stale-timestamp": sign(SIGNING_SECRET, body, timestamp=int(time.time()) - 3600),
    }
    answers = {case: _slack(served, body, "application/json", headers).status_code for case, headers in cases.items()}
    assert answers == dict.fromkeys(cases, 401), answers
    assert "Traceback" not in served.output()


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        (b"payload=%FF%FE", "application/x-www-form-urlencoded"),
        (b'{"type": "event_callback", ', "application/json"),
        (b"[1, 2]", "application/json"),
    ],
    ids=["payload-not-json", "payload-a-list", "payload-not-utf8", "json-cut", "json-a-list"],
)
def test_signed_but_malformed_slack_bodies_get_400(served: Served, body: bytes, content_type: str):
    """Even correctly signed, a body Slack never sends (a broken payload=, cut JSON) is 400, not 500."""
    answer = _slack(served, body, content_type, sign(SIGNING_SECRET, body))
    assert answer.status_code == 400, answer.text
    assert "Traceback" not in served.output()


class _FromNow(int):
    """A claim given as seconds from the moment the token is made."""

    def __add__(self, seconds: int) -> "_FromNow":  # type: ignore[override]
        return _FromNow(int(self) + seconds)


FROM_NOW = _FromNow(0)


def _teams_token(served: Served, **claims: Any) -> str:
    now = int(time.time())
    claims = {k: now + int(v) if isinstance(v, _FromNow) else v for k, v in claims.items()}
    base = {
        "iss": ISSUER,
        "aud": APP_ID,
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
        "serviceurl": served.teams.bf.service_url,
    }
    base.update(claims)
    payload = {k: v for k, v in base.items() if v is not None}
    return jwt.encode(payload, served.teams.bf.key, algorithm="RS256", headers={"kid": served.teams.bf.kid})


@pytest.mark.parametrize(
    "claims",
    [
        # times are offsets from when the test runs, not from when the module was collected minutes before
        {"exp": None},
        {"nbf": FROM_NOW + 200},
        {"iat": FROM_NOW + 200},
        {"aud": [APP_ID, "some-other-bot"]},
        {"exp": FROM_NOW + 30 * 24 * 3600},
    ],
    ids=[
        "no-exp",
        "nbf-in-the-future",
        "iat-in-the-future",
        "audience-list-with-another-bot",
        "valid-for-a-month",
    ],
)
def test_teams_tokens_the_sdk_lets_through_are_refused(served: Served, claims: dict[str, Any]):
    """A Teams token without exp, not yet valid or for more than this bot is 401; a proper one is taken."""
    user = served.teams.add_user("Zoe Martin", "zoe.martin@lonestar.example")
    activity = served.teams.message(user, "help")
    good = httpx.post(
        served.base + "/api/messages",
        json=activity,
        headers={"Authorization": f"Bearer {_teams_token(served)}"},
        timeout=30,
    )
    assert good.status_code in (200, 201), good.text
    activity = served.teams.message(user, "help")
    bad = httpx.post(
        served.base + "/api/messages",
        json=activity,
        headers={"Authorization": f"Bearer {_teams_token(served, **claims)}"},
        timeout=30,
    )
    assert bad.status_code == 401, bad.text


@pytest.mark.parametrize(
    "query",
    [
        "requisition=%00",
        "requisition=" + "P" * 200,
        "since=0001-01-01T00:00:00%2B14:00",
        "since=9999-12-31T23:59:59-14:00",
    ],
    ids=["nul-number", "long-number", "since-before-year-one-in-utc", "since-after-9999-in-utc"],
)
@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_audit_export_refuses_bad_parameters_with_422_before_streaming(served: Served, query: str, format: str):
    """An export with a NUL number or an impossible time is a 422, not a 200 cut after the header."""
    answer = httpx.get(f"{served.base}/api/v1/audit/export?format={format}&{query}", headers=served.auth, timeout=30)
    assert answer.status_code == 422, (answer.status_code, answer.text[:300])
    assert answer.json()["error"]["fields"][0]["field"] in ("requisition", "since")


def test_an_oversized_request_header_is_refused_and_the_server_lives_on(served: Served):
    """A client sends an 8 MB header: the server stops reading after its limit and closes; others are still served."""
    port = int(served.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent, refused = 0, False
        chunk = b"a" * 65536
        try:
            while sent < 8 * 1024 * 1024:
                conn.sendall(chunk)
                sent += len(chunk)
            conn.sendall(b"\r\n\r\n")
            answer = conn.recv(200)
            refused = not answer or answer.split(b" ")[1] in (b"400", b"413", b"431")
        except (ConnectionResetError, BrokenPipeError):
            refused = True
    assert refused, f"an {sent}-byte header was read and answered: {answer[:60]!r}"
    assert httpx.get(served.base + "/healthz").status_code == 200


def test_readiness_tells_the_database_and_policy_only_to_a_token(served: Served):
    """A stranger learns the server is ready, nothing about its database or policy; an admin learns both."""
    assert httpx.get(served.base + "/readyz").json() == {"status": "ready"}
    detail = httpx.get(served.base + "/readyz", headers=served.auth).json()
    assert detail["database"] == "sqlite" and detail["policy"].startswith("2026.11.1")


def test_secrets_and_the_database_are_private_files(served: Served):
    """The dev admin token, the audit key and the SQLite database are readable by their owner only."""
    for name in ("dev-admin-token", "audit-key", "procurebot.db"):
        mode = (served.var / name).stat().st_mode & 0o777
        assert mode == 0o600, f"{name} is {oct(mode)}"


def test_the_server_writes_a_signed_checkpoint_that_verifies(served: Served):
    """A server leaves a signed checkpoint at start-up that `audit verify --checkpoint` accepts."""
    folder = served.var / "audit-checkpoints"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(folder.glob("audit-checkpoint-*.json")):
        time.sleep(0.2)
    checkpoints = sorted(folder.glob("audit-checkpoint-*.json"))
    assert checkpoints, "no checkpoint was written"
    verify = subprocess.run(
        [str(BIN / "procurebot"), "audit", "verify", "--checkpoint", str(checkpoints[0])],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0 and "agrees with the checkpoint" in verify.stdout, verify.stderr

"""Approve from Teams, end to end over HTTP in one process, next to the same Approve from the web chat.

Teams path: an ``adaptiveCard/action`` invoke (the Approve button of a Teams approval card, its data
signed by procurebot) POSTed to /api/messages with a Bot Framework JWT signed by a local test key:
the SDK validates the token (RS256 against a local JWKS, issuer, audience, expiry, serviceurl), parses
the activity and runs its pipeline; procurebot checks the card signature, records the invoke once,
resolves the person, approves through ApprovalService, and answers with the re-rendered Adaptive Card.

Baseline, same run, same server and database: the same Approve through the web chat's
POST /chat/api/actions (the assistant and the core, an HTML card back), so the ratio is what the Teams
edge (token check, SDK, signed card data, Adaptive Card) costs on top of the shared path.

A second pair: a typed message ("status PR-…"), Teams (reply sent to the local fake connector)
against the web chat.

    .venv/bin/python bench/teams_approve.py [--n 150] [--url sqlite:///...|postgresql+psycopg://...]

Sequential requests through Starlette's TestClient (no network): the figures are per request latency
of the application, not of a deployment.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from factories import boxes, submit  # noqa: E402
from fake_teams import FakeTeams  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from bot.api.app import create_app  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.teams import cards  # noqa: E402

APPROVER = "zoe.martin"


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _line(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=10)
    return f"{name:34s} n={len(ms):4d}  p50 {statistics.median(ms):7.2f} ms  p90 {q[-1]:7.2f} ms  max {max(ms):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150, help="approvals per path")
    parser.add_argument("--url", default=None, help="database URL (default: a scratch SQLite file)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-teams-"))
    url = args.url or f"sqlite:///{scratch / 'bench.db'}"
    with FakeTeams(scratch) as fake:
        os.environ.update(fake.env())
        settings = Settings(database_url=url, admin_token=None, env="dev", var_dir=scratch / "var", _env_file=None)
        runtime = build_runtime(settings)
        with TestClient(create_app(settings, runtime=runtime)) as client:
            bot = client.app.state.teams_bot  # type: ignore[attr-defined]
            zoe = fake.add_user("Zoe Martin", "zoe.martin@lonestar.example")
            client.post(
                "/api/messages", json=fake.activity(zoe, "installationUpdate", action="add"), headers=fake.headers()
            )
            numbers = [runtime.service.submit(submit(lines=[boxes(30 + i % 5)])).number for i in range(2 * args.n)]
            assert runtime.service.view(numbers[0]).waiting_on == [APPROVER]
            teams_ms, web_ms = [], []
            for i, number in enumerate(numbers):
                card = bot.assistant.card_for(number, APPROVER)
                approve = next(a for a in card.actions if a.id == "approve")
                if i % 2 == 0:  # interleaved, so both paths see the same database size and warmth
                    content = cards.render(card, secret=bot.secret)
                    data = next(a for a in content["actions"] if a.get("verb") == "approve")["data"]
                    body, headers = fake.execute(zoe, "approve", data), fake.headers()
                    teams_ms.append(_timed(lambda: _ok(client.post("/api/messages", json=body, headers=headers))))
                else:
                    payload = {"person": APPROVER, "action": "approve", "value": approve.value}
                    web_ms.append(_timed(lambda: _ok(client.post("/chat/api/actions", json=payload))))
            status_teams, status_web = [], []
            for number in numbers[: args.n]:
                body, headers = fake.message(zoe, f"status {number}"), fake.headers()
                status_teams.append(_timed(lambda: _ok(client.post("/api/messages", json=body, headers=headers))))
                payload = {"person": APPROVER, "text": f"status {number}"}
                status_web.append(_timed(lambda: _ok(client.post("/chat/api/messages", json=payload))))
        runtime.engine.dispose()
    print(f"database: {url.split(':')[0]}; {args.n} approvals per path; sequential, in-process")
    for name, ms in (
        ("Approve, Teams invoke", teams_ms),
        ("Approve, web chat (baseline)", web_ms),
        ("status PR-…, Teams message", status_teams),
        ("status PR-…, web chat (baseline)", status_web),
    ):
        print(_line(name, ms))
    print(f"ratio Teams/web, Approve p50: {statistics.median(teams_ms) / statistics.median(web_ms):.2f}")
    print(f"ratio Teams/web, status p50:  {statistics.median(status_teams) / statistics.median(status_web):.2f}")


def _ok(response: Any) -> None:
    if response.status_code != 200:
        raise SystemExit(f"unexpected {response.status_code}: {response.text[:300]}")


if __name__ == "__main__":
    main()

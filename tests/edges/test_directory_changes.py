"""The directory file changes between starts: `procurebot directory check` says what it means, and the start moves
the steps of people who left."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from approvals.db import transaction
from approvals.directory import load_directory
from approvals.policy import load_policy
from approvals.policy_store import install_policy
from approvals.workflow import ApprovalService
from bot.cli import app as cli
from bot.settings import Settings, get_settings
from tests.factories import boxes, submit

COMPANY = Path(__file__).resolve().parents[2] / "examples" / "company.yaml"


def _without_hannah(tmp_path: Path) -> Path:
    """The sample company file with Hannah Berg marked as having left."""
    data = yaml.safe_load(COMPANY.read_text())
    for person in data["people"]:
        if person["id"] == "hannah.berg":
            person["active"] = False
    path = tmp_path / "company.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _seattle_request(db_url: str, tmp_path: Path) -> str:
    """Eric's $2,880 Seattle request, routed while Hannah was there (she is its first approver)."""
    from bot.runtime import build_runtime

    runtime = build_runtime(Settings(database_url=db_url, var_dir=tmp_path, _env_file=None))
    try:
        draft = submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(60)])
        number = runtime.service.submit(draft).number
        assert runtime.service.get(number).waiting_on == ["hannah.berg"]
        return number
    finally:
        runtime.engine.dispose()


def test_directory_check_names_the_steps_that_would_move(db_url, tmp_path, monkeypatch):
    """An administrator checks the new file before restarting: it names the request and where it will go."""
    number = _seattle_request(db_url, tmp_path)
    changed = _without_hannah(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["directory", "check", "--directory", str(changed)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"directory: {changed}" in result.output.splitlines()[0]
    assert f"{number} step 'Manager': Hannah Berg has left; the step moved to Marcus Bell" in result.output
    assert "Eric Larsen reports to Hannah Berg, who has left" in result.output


def test_the_next_start_moves_a_leavers_steps(db_url, tmp_path):
    """The server starts with the new file: Hannah's step is with Marcus before the first request is served."""
    from bot.runtime import build_runtime

    number = _seattle_request(db_url, tmp_path)
    changed = _without_hannah(tmp_path)
    runtime = build_runtime(Settings(database_url=db_url, var_dir=tmp_path, directory_file=changed, _env_file=None))
    try:
        assert runtime.service.get(number).waiting_on == ["marcus.bell"]
    finally:
        runtime.engine.dispose()
    again = ApprovalService(runtime.engine, load_directory(changed))
    assert again.stranded_steps() == []


class _Dms:
    """A chat platform where everyone is reachable by DM: records each post."""

    name = "slack"

    def __init__(self) -> None:
        self.posts: list[dict] = []

    def reach(self, person):  # type: ignore[no-untyped-def]
        return {"dm": person.id}

    def post(self, address, card, text, *, thread=None):  # type: ignore[no-untyped-def]
        self.posts.append({"to": address["dm"], "card": card, "text": text, "thread": thread})
        return f"ref-{len(self.posts)}"

    def update(self, address, ref, card, text):  # type: ignore[no-untyped-def]
        pass


def test_the_new_holder_gets_the_card_and_the_requester_is_told_why(engine, clock, tmp_path):
    """Hannah's step moves to Marcus: Marcus gets a card with buttons, Eric's thread says the approver has left."""
    from bot.runtime import chat_delivery

    service = ApprovalService(engine, load_directory(COMPANY), clock=clock)
    with transaction(engine) as session:
        install_policy(session, load_policy(COMPANY.parent / "policy.yaml"), at=clock())
    draft = submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(60)])
    service.submit(draft)
    after = ApprovalService(engine, load_directory(_without_hannah(tmp_path)), clock=clock)
    chat = chat_delivery(engine, after.directory, after)
    dms = _Dms()
    chat.surfaces.append(dms)
    after.move_from_leavers()
    chat.drain()
    cards = [p for p in dms.posts if p["to"] == "marcus.bell" and p["card"] is not None]
    assert cards and {a.id for a in cards[0]["card"].actions} >= {"approve", "reject"}
    lines = [p["text"] for p in dms.posts if p["to"] == "eric.larsen" and p["thread"]]
    assert any("Now with Marcus Bell (the previous approver has left)" in line for line in lines), lines


def test_a_leavers_chat_account_is_not_taken_for_them(engine, tmp_path):
    """Hannah's Slack account still works after she left: her messages are not taken as hers."""
    from bot.chat.identity import Identities

    ids = Identities(engine, load_directory(_without_hannah(tmp_path)))
    assert ids.person_for("slack", "U-HANNAH", tenant="T1", email=lambda: "hannah.berg@lonestar.example") is None
    assert ids.person_for("slack", "U-ERIC", tenant="T1", email=lambda: "eric.larsen@lonestar.example") is not None

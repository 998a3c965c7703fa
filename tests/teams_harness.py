"""The procurebot server with Teams switched on against tests/fake_teams.py, and a person's view of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from fake_teams import FakeTeams, TeamsUser, card, execute_actions
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings

WRAP = "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday, urgent"


@dataclass
class Harness:
    client: TestClient
    fake: FakeTeams
    runtime: Runtime
    users: dict[str, TeamsUser] = field(default_factory=dict)

    def user(self, person_id: str) -> TeamsUser:
        if person_id not in self.users:
            person = self.runtime.directory.person(person_id)
            assert person is not None
            self.users[person_id] = self.fake.add_user(person.name, person.email)
        return self.users[person_id]

    def post(self, activity: Any, **token: Any) -> Any:
        return self.client.post("/api/messages", json=activity, headers=self.fake.headers(**token))

    def install(self, person_id: str) -> list[dict[str, Any]]:
        """The person adds procurebot in Teams; returns what the bot sent them."""
        user = self.user(person_id)
        before = len(self.fake.bf.to(user))
        res = self.post(self.fake.activity(user, "installationUpdate", action="add"))
        assert res.status_code == 200, res.text
        return self.fake.bf.to(user)[before:]

    def say(self, person_id: str, text: str) -> list[dict[str, Any]]:
        """The person types in their personal chat; returns the activities the bot sent back."""
        user = self.user(person_id)
        before = len(self.fake.bf.to(user))
        res = self.post(self.fake.message(user, text))
        assert res.status_code == 200, res.text
        return self.fake.bf.to(user)[before:]

    def tap(self, person_id: str, content: dict[str, Any], verb: str, text: str | None = None) -> Any:
        """The person presses a button (Action.Execute) on a card; returns the HTTP response."""
        data = dict(execute_actions(content)[verb]["data"])
        if text is not None:
            data["pb_text"] = text
        return self.post(self.fake.execute(self.user(person_id), verb, data))

    def drain(self) -> int:
        return self.runtime.chat.drain()


def running(db_url, clock, tmp_path, monkeypatch, prepare=None) -> Iterator[Harness]:  # type: ignore[no-untyped-def]
    """Use as `yield from running(...)` in a fixture: the server with Teams on, against the local fakes.
    `prepare(fake, monkeypatch)` may change the fakes or the environment before the server starts."""
    with FakeTeams(tmp_path) as fake:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        if prepare is not None:
            prepare(fake, monkeypatch)
        settings = Settings(database_url=db_url, admin_token=None, env="dev", var_dir=tmp_path / "var", _env_file=None)
        runtime = build_runtime(settings)
        runtime.service.clock = clock
        runtime.chat.clock = clock
        with TestClient(create_app(settings, runtime=runtime)) as client:
            yield Harness(client, fake, runtime)
        runtime.engine.dispose()


def only_card(activities: list[dict[str, Any]]) -> dict[str, Any]:
    cards = [card(a) for a in activities if card(a)]
    assert len(cards) == 1, activities
    return cards[0]  # type: ignore[return-value]

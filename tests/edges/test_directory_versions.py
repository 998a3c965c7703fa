"""The directory lives in the database, versioned like the policy: every process reads the active version, a new
activation is picked up without a restart, routes record the version they used, and an activation that would
strand a step or loop the reporting lines is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select
from typer.testing import CliRunner

from approvals.directory_store import DirectoryVersion, LiveDirectory
from approvals.models import Requisition
from bot.cli import app as cli
from bot.settings import Settings, get_settings
from tests.factories import boxes, submit

COMPANY = Path(__file__).resolve().parents[2] / "examples" / "company.yaml"


def _company(tmp_path: Path, name: str, change: Any) -> Path:
    """The sample company file, changed by `change(people_by_id)`, written to tmp_path/name."""
    data = yaml.safe_load(COMPANY.read_text())
    change({p["id"]: p for p in data["people"]})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _hannah_left(people: dict[str, Any]) -> None:
    people["hannah.berg"]["active"] = False


def _hannah_left_nobody_above(people: dict[str, Any]) -> None:
    """Hannah has left with no manager on record, and nobody holds the procurement director role."""
    people["hannah.berg"]["active"] = False
    people["hannah.berg"].pop("manager", None)
    people["sofia.alvarez"]["roles"] = ["buyer"]


def _runtime(db_url: str, tmp_path: Path, directory_file: Path = COMPANY) -> Any:
    from bot.runtime import build_runtime

    return build_runtime(
        Settings(
            database_url=db_url,
            var_dir=tmp_path,
            directory_file=directory_file,
            directory_refresh_seconds=0,
            _env_file=None,
        )
    )


def _eric_in_seattle(runtime: Any) -> str:
    """Eric's $2,880 Seattle request: Hannah Berg is its first approver."""
    number = runtime.service.submit(
        submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(60)])
    ).number
    assert runtime.service.get(number).waiting_on == ["hannah.berg"]
    return number


def _cli(db_url: str, *args: str) -> Any:
    import os

    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = db_url
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        get_settings.cache_clear()


def _active_ids(engine: Any) -> list[int | None]:
    with Session(engine) as session:
        return [r.id for r in session.exec(select(DirectoryVersion).where(DirectoryVersion.active == True)).all()]  # noqa: E712


def test_the_file_becomes_the_active_version_and_a_route_records_it(db_url, tmp_path):
    """The server starts with the sample company: it is stored as a version, and Eric's request says it was
    routed on that version, next to the policy version."""
    runtime = _runtime(db_url, tmp_path)
    try:
        number = _eric_in_seattle(runtime)
        (active,) = _active_ids(runtime.engine)
        with Session(runtime.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number)).one()
        assert req.directory_version_id == active and req.route["directory_version"] == active
        assert runtime.service.view(number).directory_version == active  # what the API and the console read
        assert req.policy_version_id is not None
    finally:
        runtime.engine.dispose()
    again = _runtime(db_url, tmp_path)  # a restart with the same file adds no version
    try:
        assert _active_ids(again.engine) == [active]
    finally:
        again.engine.dispose()


def test_an_activation_reaches_a_running_replica_without_a_restart(db_url, tmp_path):
    """Two replicas run; an administrator activates a file where Hannah has left: the other replica's next read
    knows she has left, and Hannah's step is already with Marcus, who is told, with no restart anywhere."""
    replica = _runtime(db_url, tmp_path)
    try:
        number = _eric_in_seattle(replica)
        other = LiveDirectory(replica.engine, every_seconds=0)
        assert other.person("hannah.berg").active
        result = _cli(db_url, "directory", "activate", str(_company(tmp_path, "left.yaml", _hannah_left)))
        assert result.exit_code == 0, result.output
        assert "Hannah Berg has left; the step moved to Marcus Bell" in result.output
        assert "left: Hannah Berg" in result.output
        other.refresh()  # what every replica does before its next action, read or scheduler tick
        assert not other.person("hannah.berg").active
        assert replica.service.view(number).waiting_on == ["marcus.bell"]
        assert not replica.directory.person("hannah.berg").active
        with Session(replica.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number)).one()
        # in flight: still pinned to the version it was routed with
        assert req.directory_version_id != _active_ids(replica.engine)[0]
        assert replica.service.view(number).directory_version == req.directory_version_id
    finally:
        replica.engine.dispose()


def test_an_activation_that_strands_a_step_is_refused_naming_it(db_url, tmp_path):
    """Hannah leaves with no manager on record and no procurement director: activating that file is refused and
    names Eric's request; nothing changes until the administrator forces it."""
    runtime = _runtime(db_url, tmp_path)
    try:
        number = _eric_in_seattle(runtime)
        before = _active_ids(runtime.engine)
        stranding = _company(tmp_path, "stranding.yaml", _hannah_left_nobody_above)
        refused = _cli(db_url, "directory", "activate", str(stranding))
        assert refused.exit_code == 1, refused.output
        assert f"refused: these open steps would be left with nobody: {number} step 'Manager'" in refused.output
        assert _active_ids(runtime.engine) == before
        assert runtime.service.get(number).waiting_on == ["hannah.berg"]
        forced = _cli(db_url, "directory", "activate", str(stranding), "--force")
        assert forced.exit_code == 0, forced.output
        assert f"moved: NOT MOVED: {number}" in forced.output
        assert _active_ids(runtime.engine) != before
    finally:
        runtime.engine.dispose()


def test_a_reporting_loop_is_refused_with_the_people_named(db_url, tmp_path):
    """A file where Marcus reports to Sofia, who reports to Marcus, is refused whatever the flags, naming both."""

    def loop(people: dict[str, Any]) -> None:
        people["marcus.bell"]["manager"] = "sofia.alvarez"

    result = _cli(db_url, "directory", "activate", str(_company(tmp_path, "loop.yaml", loop)), "--force")
    assert result.exit_code == 1, result.output
    assert "the reporting lines loop: " in result.output
    assert "Marcus Bell" in result.output and "Sofia Alvarez" in result.output


def test_versions_lists_the_active_one(db_url, tmp_path):
    """`procurebot directory versions` lists what is stored, the active version marked."""
    _cli(db_url, "directory", "activate", str(_company(tmp_path, "left.yaml", _hannah_left)))
    result = _cli(db_url, "directory", "versions")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("* v") and "activate left.yaml" in lines[0]

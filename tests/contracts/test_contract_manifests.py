"""The Teams app manifest and the Slack app manifest, checked against Microsoft's and Slack's published schemas."""

from __future__ import annotations

import json
import zipfile

import pytest
import yaml
from contracts.schemas import problems, slack_manifest, teams_manifest, teams_manifest_version
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.settings import REPO_ROOT
from bot.teams.package import PackageError, project_version, render

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"
SLACK_MANIFEST = REPO_ROOT / "manifest" / "slack.yaml"


def test_the_teams_manifest_is_valid_for_the_version_it_declares():  # type: ignore[no-untyped-def]
    """The filled-in Teams manifest passes the 1.19 schema, and names the schema and version it was checked with."""
    manifest = render(APP_ID, "https://procure.lonestar.example", 'Lone Star "Supply" Co.')
    assert problems(teams_manifest(), manifest) == []
    assert manifest["manifestVersion"] == teams_manifest_version()
    assert manifest["$schema"].endswith(f"/v{teams_manifest_version()}/MicrosoftTeams.schema.json")


def test_the_teams_schema_check_can_fail():  # type: ignore[no-untyped-def]
    """A manifest with an unknown field, a bot without an id and a too-long short name is refused by the schema."""
    manifest = render(APP_ID, "https://procure.lonestar.example", "Lone Star")
    manifest["unknownField"] = True
    manifest["name"]["short"] = "p" * 31
    del manifest["bots"][0]["botId"]
    found = problems(teams_manifest(), manifest)
    assert len(found) >= 3, found


def test_teams_package_version_defaults_to_the_project_and_can_be_given(tmp_path):  # type: ignore[no-untyped-def]
    """`procurebot teams package` stamps procurebot's version; `--version 1.4.2` stamps that, for an update."""
    for args, expected in (([], project_version()), (["--version", "1.4.2"], "1.4.2")):
        out = tmp_path / f"teams-{expected}.zip"
        result = CliRunner().invoke(
            cli,
            ["teams", "package", "--website", "https://x.example", "--app-id", APP_ID, "--out", str(out), *args],
        )
        assert result.exit_code == 0, result.output
        with zipfile.ZipFile(out) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        assert manifest["version"] == expected and problems(teams_manifest(), manifest) == []
        assert f"app version {expected}" in result.output


@pytest.mark.parametrize("bad", ["1.4", "v1.4.2", "1.4.2-beta", "01.4.2"])
def test_teams_package_refuses_a_version_teams_would_refuse(bad):  # type: ignore[no-untyped-def]
    """An app version that is not MAJOR.MINOR.PATCH is refused with a message that shows the form."""
    with pytest.raises(PackageError, match="MAJOR.MINOR.PATCH"):
        render(APP_ID, "https://x.example", "X", version=bad)


def test_the_slack_manifest_is_valid():  # type: ignore[no-untyped-def]
    """manifest/slack.yaml passes Slack's app manifest schema (the version its _metadata names)."""
    manifest = yaml.safe_load(SLACK_MANIFEST.read_text(encoding="utf-8"))
    assert manifest["_metadata"]["major_version"] == 1
    assert problems(slack_manifest(), manifest) == []


def test_the_slack_schema_check_can_fail():  # type: ignore[no-untyped-def]
    """A Slack manifest with an unknown event setting and no display name is refused by the schema."""
    manifest = yaml.safe_load(SLACK_MANIFEST.read_text(encoding="utf-8"))
    manifest["settings"]["event_subscriptions"]["bot_events"] = "message.im"
    del manifest["display_information"]["name"]
    assert problems(slack_manifest(), manifest) != []

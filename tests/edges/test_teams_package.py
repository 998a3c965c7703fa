"""The Teams app package: a manifest Teams accepts (schema 1.17 or later, personal bot, both icons), zipped."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.teams.package import SOURCE, PackageError, build

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"


def test_package_command_writes_a_zip_ready_for_upload(tmp_path):  # type: ignore[no-untyped-def]
    """`procurebot teams package` fills in the app id and website and zips the manifest with its two icons."""
    out = tmp_path / "teams.zip"
    result = CliRunner().invoke(
        cli,
        [
            "teams",
            "package",
            "--website",
            "https://procure.lonestar.example",
            "--company",
            "Lone Star Supply Co.",
            "--app-id",
            APP_ID,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        sizes = {name: struct.unpack(">II", archive.read(name)[16:24]) for name in ("color.png", "outline.png")}
    major, minor = (int(x) for x in manifest["manifestVersion"].split("."))
    assert (major, minor) >= (1, 17) and f"v{manifest['manifestVersion']}" in manifest["$schema"]
    assert manifest["id"] == APP_ID and manifest["developer"]["name"] == "Lone Star Supply Co."
    assert manifest["developer"]["privacyUrl"] == "https://procure.lonestar.example/privacy"
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal"]
    assert {c["title"] for c in bot["commandLists"][0]["commands"]} >= {"help", "pending"}
    assert sizes == {"color.png": (192, 192), "outline.png": (32, 32)}
    assert "{{" not in json.dumps(manifest)


def test_package_refuses_what_teams_would_refuse(tmp_path):  # type: ignore[no-untyped-def]
    """A non-GUID app id, a plain-http website, or a wrongly sized icon: no zip, a message saying what to fix."""
    with pytest.raises(PackageError, match="not a GUID"):
        build(tmp_path / "a.zip", app_id="my-bot", website="https://x.example", company="X")
    with pytest.raises(PackageError, match="https"):
        build(tmp_path / "b.zip", app_id=APP_ID, website="http://x.example", company="X")
    source = tmp_path / "src"
    shutil.copytree(SOURCE, source)
    shutil.copy(source / "outline.png", source / "color.png")
    with pytest.raises(PackageError, match="192x192"):
        build(tmp_path / "c.zip", app_id=APP_ID, website="https://x.example", company="X", source=source)
    assert not list(tmp_path.glob("*.zip"))
    result = CliRunner().invoke(
        cli,
        ["teams", "package", "--website", "https://x.example", "--app-id", "nope", "--out", str(tmp_path / "d.zip")],
    )
    assert result.exit_code == 1 and "not a GUID" in result.output

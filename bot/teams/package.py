"""The Teams app package: manifest/teams/manifest.json with this deployment's values, and its icons, zipped.

The manifest keeps placeholders ({{TEAMS_APP_ID}}, {{WEBSITE}}, {{COMPANY}}, {{VERSION}}) so one file
serves every deployment; `build` fills them, checks what Teams would refuse at upload, and writes the zip.
The app's version is procurebot's own unless given: Teams takes an updated package only with a higher
version than the one it has.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import zipfile
from importlib.metadata import PackageNotFoundError, version as installed_version
from pathlib import Path

from bot.settings import REPO_ROOT

SOURCE = REPO_ROOT / "manifest" / "teams"
ICON_SIZES = {"color": 192, "outline": 32}
_PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")  # what Teams takes: MAJOR.MINOR.PATCH


def project_version() -> str:
    """procurebot's version as installed (pyproject.toml's), the app version a package gets by default."""
    try:
        return installed_version("procurebot")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0"


class PackageError(ValueError):
    """The package would be refused by Teams; the message says what to change."""


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise PackageError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def render(app_id: str, website: str, company: str, source: Path = SOURCE, *, version: str | None = None) -> dict:  # type: ignore[type-arg]
    """The manifest with this deployment's values, checked; `version` is the app's (default: procurebot's)."""
    version = version or project_version()
    if not _VERSION.match(version):
        raise PackageError(f"the app version {version!r} must be three numbers, MAJOR.MINOR.PATCH (e.g. 1.4.0)")
    try:
        uuid.UUID(app_id)
    except ValueError as exc:
        raise PackageError(
            f"the Teams app id {app_id!r} is not a GUID; use the bot's Microsoft App ID (TEAMS_APP_ID)"
        ) from exc
    if not website.startswith("https://"):
        raise PackageError(f"--website must be an https address (Teams shows it to people), not {website!r}")
    text = (source / "manifest.json").read_text(encoding="utf-8")
    text = text.replace("{{TEAMS_APP_ID}}", app_id).replace("{{WEBSITE}}", website.rstrip("/"))
    text = text.replace("{{COMPANY}}", json.dumps(company)[1:-1]).replace("{{VERSION}}", version)
    left = _PLACEHOLDER.findall(text)
    if left:
        raise PackageError(f"manifest.json still has placeholders: {', '.join(sorted(set(left)))}")
    manifest = json.loads(text)
    if len(manifest["name"]["short"]) > 30 or len(manifest["description"]["short"]) > 80:
        raise PackageError("the short name must be at most 30 characters and the short description 80")
    for bot in manifest.get("bots", []):
        for commands in bot.get("commandLists", []):
            for command in commands["commands"]:
                if len(command["title"]) > 32 or len(command["description"]) > 128:
                    raise PackageError(f"the command {command['title']!r} is too long (title 32, description 128)")
    for kind, size in ICON_SIZES.items():
        path = source / manifest["icons"][kind]
        if not path.is_file():
            raise PackageError(f"the {kind} icon {path.name} is missing from {source}")
        try:
            got = _png_size(path.read_bytes())
        except PackageError as exc:
            raise PackageError(f"the {kind} icon {path.name} is {exc}") from exc
        if got != (size, size):
            raise PackageError(f"the {kind} icon must be {size}x{size} pixels, {path.name} is {got[0]}x{got[1]}")
    return manifest


def build(
    out: Path, *, app_id: str, website: str, company: str, source: Path = SOURCE, version: str | None = None
) -> Path:
    """Write the zip Teams accepts for upload (manifest.json and both icons at its root)."""
    manifest = render(app_id, website, company, source, version=version)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for kind in ICON_SIZES:
            name = manifest["icons"][kind]
            archive.write(source / name, arcname=name)
    return out

"""Validators for the platforms' published schemas in tests/schemas, resolved offline.

Each validator uses the draft its schema declares. Slack's entry schema refers to its versioned files by
their raw.githubusercontent.com address; a `referencing` registry maps those addresses to the copies here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
ADAPTIVE_CARD = SCHEMAS / "adaptive-cards-1.5" / "adaptive-card.json"
TEAMS_MANIFEST = SCHEMAS / "teams-manifest-1.19" / "MicrosoftTeams.schema.json"
SLACK_MANIFEST = SCHEMAS / "slack-manifest"
SLACK_RAW = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _validator(schema: dict[str, Any], **kwargs: Any) -> Validator:
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER, **kwargs)  # type: ignore[call-arg]


@cache
def adaptive_card() -> Validator:
    return _validator(_load(ADAPTIVE_CARD))


@cache
def teams_manifest() -> Validator:
    return _validator(_load(TEAMS_MANIFEST))


def teams_manifest_version() -> str:
    """The one manifestVersion the Teams schema allows (its `const`, which draft-04 itself does not check)."""
    return str(_load(TEAMS_MANIFEST)["properties"]["manifestVersion"]["const"])


@cache
def slack_manifest() -> Validator:
    resources = [
        (SLACK_RAW + name, Resource.from_contents(_load(SLACK_MANIFEST / name), default_specification=DRAFT7))
        for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")
    ]
    schema = _load(SLACK_MANIFEST / "manifest.schema.json")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(
        schema, registry=Registry().with_resources(resources), format_checker=Draft7Validator.FORMAT_CHECKER
    )


def problems(validator: Validator, instance: Any) -> list[str]:
    """Every error, each as 'where: what' (the deepest cause first, so a oneOf says which branch failed)."""
    out = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        causes = sorted(error.context or [], key=lambda e: -len(e.absolute_path))
        best = causes[0] if causes else error
        where = "/".join(str(p) for p in best.absolute_path) or "(root)"
        out.append(f"{where}: {best.message[:300]}")
    return out

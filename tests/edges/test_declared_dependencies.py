"""What the running product imports is what pyproject.toml installs for it, without the dev extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("approvals", "bot", "connectors")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(group: str | None = None) -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {_normalize(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in specs}


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level module name -> the product files importing it (absolute imports outside the standard library)."""
    found: dict[str, list[str]] = {}
    for package in PRODUCT:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PRODUCT and top != "__future__":
                        found.setdefault(top, []).append(str(path.relative_to(REPO)))
    return found


def test_every_package_the_product_imports_is_a_declared_dependency():
    """A fresh `pip install -e .` (no dev extra) brings every library the server, CLI and connectors import."""
    declared = _declared()
    owners = packages_distributions()
    missing = {}
    for module, files in _third_party_imports().items():
        distributions = {_normalize(d) for d in owners.get(module, [])}
        if not distributions & declared:
            missing[module] = sorted(set(files))[:3]
    assert not missing, f"imported by the product but not in [project] dependencies: {missing}"


def test_the_dev_extra_adds_only_tools_not_product_dependencies():
    """The dev extra cannot hide a missing product dependency: nothing in it is imported by the product."""
    dev_only = _declared("dev") - _declared()
    owners = packages_distributions()
    used = {_normalize(d) for module in _third_party_imports() for d in owners.get(module, [])}
    assert not (dev_only & used), f"the product imports packages that only the dev extra installs: {dev_only & used}"

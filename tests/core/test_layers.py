"""The layers, read from the source: the core imports no edge and no SDK, connectors import nothing from bot/,
no module imports itself back through others, and bot/ keeps the order declared in BOT_LAYERS.

Every rule reads the AST of every file, so an import inside a function, under TYPE_CHECKING or through
__import__("...") / importlib.import_module("...") counts like one at the top of the file.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("approvals", "bot", "connectors")

# What the governed core never imports: the edges, the systems we do not own, and the SDKs and frameworks
# the edges use. No exceptions.
CORE_FORBIDDEN = (
    "bot",
    "connectors",
    "slack_sdk",
    "slack_bolt",
    "slack",  # `slack` is slack_sdk's old name for itself
    "microsoft_teams",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "requests",
    "aiohttp",
    "openai",
    "msal",
    "jwt",
    "typer",
)

# bot/ from the bottom up: (layer, the packages or modules in it, whether its members are independent).
# A module may import its own package or module, anything in a lower layer and, unless the layer is
# independent, the rest of its own layer; never a higher layer.
BOT_LAYERS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    (
        "foundation: settings, API tokens, the JSON error body, templates, the neutral card model, log lines",
        (
            "bot.settings",
            "bot.tokens",
            "bot.ratelimit",
            "bot.http_errors",
            "bot.templating",
            "bot.cards",
            "bot.logs",
            "bot.downloads",
        ),
        False,
    ),
    ("chat delivery, shared by every chat platform", ("bot.chat",), False),
    (
        "the conversation and the work behind the surfaces",
        (
            "bot.intake",
            "bot.chat_files",
            "bot.exception_summary",
            "bot.llm_setup",
            "bot.notify",
            "bot.scheduler",
            "bot.erp_dispatcher",
            "bot.directory_sync",
            "bot.live",
        ),
        False,
    ),
    ("start-up wiring", ("bot.runtime",), False),
    ("surfaces people touch; none imports another", ("bot.slack", "bot.teams", "bot.web", "bot.console"), True),
    ("the HTTP app: the API, and the server that mounts the surfaces", ("bot.api",), False),
    ("composition: the command line, the list of every table", ("bot.cli", "bot.all_models"), False),
)


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the absolute dotted name imported
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}


def imports_in(
    source: str,
    module: str,
    is_package: bool,
    known: set[str] | frozenset[str] = frozenset(),
) -> list[Import]:
    """Every import in one file's AST. `from a import b` names a.b when that is a module of ours (in `known`)."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join(here + ([node.module] if node.module else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append(Import(module, child if child in known else base, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                isinstance(node.func, ast.Name)
                and node.func.id == "__import__"
                or isinstance(node.func, ast.Attribute)
                and node.func.attr == "import_module"
            )
        ):
            found.append(Import(module, node.args[0].value, node.lineno))
    return found


def all_imports() -> list[Import]:
    modules = project_modules()
    known = set(modules)
    found = [
        imp
        for name, path in modules.items()
        for imp in imports_in(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known)
    ]
    return list(dict.fromkeys(found))  # `from a import b, c` of one module is one import


def own_module(target: str, known: set[str]) -> str | None:
    """The module of ours a dotted name lives in (a.b.C -> a.b), or None for a third-party name."""
    parts = target.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def import_graph(imports: list[Import], known: set[str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in known}
    for imp in imports:
        target = own_module(imp.target, known)
        if target is not None and target != imp.importer:
            graph[imp.importer].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def bot_group(module: str) -> tuple[int, str] | None:
    """(layer number, group) of a bot module: the longest declared package or module that contains it."""
    best: tuple[int, str] | None = None
    for number, (_, groups, _) in enumerate(BOT_LAYERS):
        for group in groups:
            if (module == group or module.startswith(group + ".")) and (best is None or len(group) > len(best[1])):
                best = (number, group)
    return best


def test_the_core_imports_no_edge_no_connector_and_no_sdk():
    """A module under approvals/ that imports bot/, connectors/ or an edge SDK, even inside a function, fails."""
    bad = [
        str(imp)
        for imp in all_imports()
        if imp.importer.split(".")[0] == "approvals" and imp.target.split(".")[0] in CORE_FORBIDDEN
    ]
    assert not bad, "the core must not import edges, connectors or SDKs:\n" + "\n".join(bad)


def test_connectors_import_nothing_from_bot():
    """A connector that imports anything from bot/ fails: the systems we do not own know nothing of our edges."""
    bad = [
        str(imp)
        for imp in all_imports()
        if imp.importer.split(".")[0] == "connectors" and imp.target.split(".")[0] == "bot"
    ]
    assert not bad, "connectors must not import bot/:\n" + "\n".join(bad)


def test_no_import_cycles():
    """Two modules of ours that import each other, directly or through others, fail, wherever the imports sit."""
    modules = set(project_modules())
    imports = all_imports()
    found = cycles(import_graph(imports, modules))
    report = []
    for component in found:
        members = set(component)
        report.append(
            " <-> ".join(component)
            + "\n"
            + "\n".join(
                f"    {imp}"
                for imp in imports
                if imp.importer in members and own_module(imp.target, modules) in members - {imp.importer}
            )
        )
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join(report)


def test_bot_keeps_its_layers():
    """A bot module importing a higher layer, or a surface importing another surface, fails; so does an unplaced one."""
    modules = set(project_modules())
    unplaced = sorted(m for m in modules if m.startswith("bot.") and bot_group(m) is None)
    assert not unplaced, "place these modules in BOT_LAYERS: " + ", ".join(unplaced)
    bad = []
    for imp in all_imports():
        target = own_module(imp.target, modules)
        if not imp.importer.startswith("bot.") or target is None or not target.startswith("bot."):
            continue
        mine, my_group = bot_group(imp.importer) or (-1, "")
        theirs, their_group = bot_group(target) or (-1, "")
        if my_group == their_group or theirs < mine:
            continue
        if theirs == mine and not BOT_LAYERS[mine][2]:
            continue
        why = "a higher layer" if theirs > mine else "another independent member of its layer"
        bad.append(f"{imp} ({why}: {BOT_LAYERS[theirs][0]})")
    assert not bad, "bot/ layering broken:\n" + "\n".join(bad)


def test_the_checks_see_every_kind_of_import():
    """The reader finds imports inside functions, under TYPE_CHECKING, relative and dynamic ones, and a cycle."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.chat import models\n"
        "def f():\n    import slack_sdk\n    from . import sibling\n    __import__('connectors.erp')\n"
        "    importlib.import_module('fastapi')\n"
    )
    targets = {imp.target for imp in imports_in(source, "approvals.pkg.mod", False, {"approvals.pkg.sibling"})}
    assert {"bot.chat", "slack_sdk", "approvals.pkg.sibling", "connectors.erp", "fastapi"} <= targets
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []

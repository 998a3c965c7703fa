"""Every example in README.md and docs/ runs as written, or says just before it why it does not.

The examples are read from the markdown files themselves. Shell examples run with bash (`set -e`,
`pipefail`) in a fresh folder laid out like a reader's checkout: `examples/`, `.venv/bin/procurebot`
(this interpreter's) and its own `var/`, with the server that docs/chat.md's command starts on a free
port instead of 8000. Outside systems (Slack, an OpenAI-compatible model) are the local fakes the other
tests use. A block that is not run carries `<!-- example: not run (why) -->` on the line before it;
the README's serve and test commands are run by .ci/run.
"""

from __future__ import annotations

import glob
import html
import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import yaml
from fake_openai import FakeOpenAI
from fake_slack import FakeSlackServer, FakeSocketMode, sign
from live import eventually, free_port, until_healthy

from approvals.directory import load_directory
from approvals.errors import PolicyInvalid
from approvals.policy import load_policy_text
from approvals.policy.checker import check_policy_file

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# blocks in these languages are examples; so is an unlabelled block that starts like a command
EXAMPLE_LANGUAGES = {"sh", "bash", "shell", "console", "python", "yaml", "yml", "json"}
COMMAND_LIKE = re.compile(r"^(\$ |\.venv/bin/|procurebot |curl |python3? |export )")
NOT_RUN = re.compile(r"^<!-- example: not run \((?P<why>.*\S.*)\) -->$")
RUN_BY_CI = ("<!-- serve-command -->", "<!-- test-command -->")  # .ci/run reads these two from README.md

# (file, text only that example contains) -> the test below that runs it
RUN = {
    ("README.md", "PR=$(curl"): "test_the_readme_tour_works_in_the_order_written",
    ("README.md", "policy simulate my-new-policy.yaml"): "test_the_readme_tour_works_in_the_order_written",
    ("docs/chat.md", "procurebot serve"): "test_the_readme_tour_works_in_the_order_written",
    ("README.md", "procurebot demo seed --months 6"): "test_the_demo_history_fills_a_database_of_its_own",
    ("docs/chat.md", "procurebot worker"): "test_the_chat_worker_starts_beside_the_server",
    ("docs/llm.md", "PROCUREBOT_LLM_MODEL=gpt-4o-mini"): "test_each_llm_configuration_reaches_its_model",
    ("docs/llm.md", "procurebot llm eval"): "test_llm_eval_prints_the_documented_table",
    ("docs/slack.md", "SLACK_SIGNING_SECRET=...\nprocurebot serve"): "test_slack_one_workspace_with_socket_mode",
    ("docs/slack.md", "export SLACK_BOT_TOKEN"): "test_slack_one_workspace_with_socket_mode",
    ("docs/slack.md", "export SLACK_APP_TOKEN"): "test_slack_one_workspace_with_socket_mode",
    ("docs/slack.md", "export SLACK_CLIENT_ID"): "test_slack_oauth_for_many_workspaces",
    ("docs/teams.md", "procurebot teams package"): "test_the_teams_package_is_written",
    ("docs/policy.md", "id: blocked-supplier"): "test_policy_reference_snippets_load_and_check",
    ("docs/policy.md", "id: mro-dal-large"): "test_policy_reference_snippets_load_and_check",
    ("docs/policy.md", "- name: Regional operations"): "test_policy_reference_snippets_load_and_check",
    ("docs/policy.md", "id: over-budget"): "test_policy_reference_snippets_load_and_check",
    ("docs/policy.md", "category: {not_in: [it_hardware, software]}"): "test_policy_reference_snippets_load_and_check",
    ("docs/policy.md", '{"requester": "jake.miller"'): "test_policy_route_examples_give_the_documented_plans",
    ("docs/policy.md", "maria-cartons.json"): "test_policy_route_examples_give_the_documented_plans",
    ("docs/policy.md", "service_levels:"): "test_policy_v2_snippets_load_and_the_director_example_passes",
    ("docs/policy.md", "name: procurement"): "test_policy_groups_snippets_load_and_check",
    ("docs/policy.md", "separation_of_duties: named   #"): "test_policy_groups_snippets_load_and_check",
    ("docs/policy.md", 'expr: "amount > 1.2'): "test_policy_v2_snippets_load_and_the_director_example_passes",
    ("docs/policy.md", "examples/director-policy.yaml"): "test_policy_v2_snippets_load_and_the_director_example_passes",
}


# -- reading the examples ----------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    file: str  # relative to the repository
    line: int  # of the opening fence
    language: str
    text: str
    note: str  # the last non-blank line before the fence

    @property
    def example(self) -> bool:
        first = next((line for line in self.text.splitlines() if line.strip()), "")
        return self.language in EXAMPLE_LANGUAGES or (not self.language and bool(COMMAND_LIKE.match(first)))


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of one markdown file, their content without the fence's own indentation."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(?P<indent>\s*)```(?P<language>[\w-]*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start, indent, body = i, fence["indent"], []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        note = next((line.strip() for line in reversed(lines[:start]) if line.strip()), "")
        found.append(
            Block(path.relative_to(REPO).as_posix(), start + 1, fence["language"], "\n".join(body) + "\n", note)
        )
        i += 1
    return found


def every_block() -> list[Block]:
    return [b for path in DOCS for b in blocks(path)]


def the_block(file: str, containing: str) -> Block:
    matches = [b for b in blocks(REPO / file) if containing in b.text]
    assert len(matches) == 1, f"{file} has {len(matches)} blocks containing {containing!r}, not one"
    return matches[0]


def block_after(block: Block) -> Block:
    following = [b for b in blocks(REPO / block.file) if b.line > block.line]
    assert following, f"{block.file}:{block.line} is followed by no block"
    return following[0]


# -- a reader's machine ------------------------------------------------------------------------


def _not_ours(name: str) -> bool:
    """Settings from the developer's environment that a newcomer's machine would not have."""
    if name.startswith("PROCUREBOT_TEST_"):  # the test session's clock, passed on to every process it starts
        return False
    return name.startswith(("PROCUREBOT_", "SLACK_", "TEAMS_", "OPENAI_")) or name in (
        "DATABASE_URL",
        "CLIENT_ID",
        "CLIENT_SECRET",
        "TENANT_ID",
    )


@dataclass
class Served:
    base: str
    log: Path

    def said(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class Machine:
    """A fresh checkout-like folder: examples/, .venv/bin/procurebot and var/; the server's port is free."""

    def __init__(self, home: Path) -> None:
        self.home = home
        (home / ".venv" / "bin").mkdir(parents=True)
        (home / ".venv" / "bin" / "procurebot").symlink_to(BIN / "procurebot")
        (home / "examples").symlink_to(REPO / "examples")
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not _not_ours(k)}
        self.env.update(
            {
                "PROCUREBOT_VAR_DIR": str(home / "var"),
                "DATABASE_URL": f"sqlite:///{home / 'var' / 'procurebot.db'}",
                "PROCUREBOT_PORT": str(self.port),
                # `procurebot` alone, as in docs that assume the virtual environment is active
                "PATH": f"{home / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        self._logs = 0

    def script(self, text: str) -> list[str]:
        return ["bash", "-c", "set -eo pipefail\n" + text.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")]

    def run(
        self, text: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.script(text),
            cwd=self.home,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    @contextmanager
    def background(self, text: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], Path]]:
        """Run a long-lived example (a server, a worker) until the block ends; yields the process and its log."""
        self._logs += 1
        log = self.home / f"background-{self._logs}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                self.script(text),
                cwd=self.home,
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        try:
            yield proc, log
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)

    @contextmanager
    def serving(self, text: str, env: dict[str, str] | None = None) -> Iterator[Served]:
        """Run an example that starts the server; yields once it answers /healthz."""
        base = f"http://127.0.0.1:{self.port}"
        with self.background(text, env) as (proc, log):
            until_healthy(proc, base, 90, output=log.read_text)
            yield Served(base, log)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Machine, Served]]:
    """A reader's machine with the server started the way docs/chat.md starts it."""
    machine = Machine(tmp_path_factory.mktemp("reader") / "procurebot")
    with machine.serving(the_block("docs/chat.md", "procurebot serve").text) as server:
        yield machine, server


def _token(machine: Machine) -> dict[str, str]:
    return {"Authorization": "Bearer " + (machine.home / "var" / "dev-admin-token").read_text().strip()}


# -- every example is accounted for --------------------------------------------------------------


def test_every_example_is_run_or_says_why_not():
    """Nobody finds an example in the README or docs/ that no test runs and nothing explains."""
    problems = []
    for b in every_block():
        if not b.example:
            continue
        where = f"{b.file}:{b.line}"
        runs = sorted({test for (file, text), test in RUN.items() if file == b.file and text in b.text})
        marked = NOT_RUN.match(b.note)
        by_ci = b.file == "README.md" and b.note in RUN_BY_CI
        if not b.language:
            problems.append(f"{where}: a command block without a language; label it ```sh")
        if len(runs) + bool(marked) + by_ci != 1:
            problems.append(
                f"{where}: run by {runs or 'no test'}, marked: {bool(marked)}, run by .ci/run: {by_ci}; "
                "run it in tests/processes/test_docs_examples.py or put "
                "'<!-- example: not run (why) -->' on the line before it"
            )
        if by_ci:
            marker = b.note.removeprefix("<!-- ").removesuffix(" -->")
            assert f"readme_block {marker}" in (REPO / ".ci" / "run").read_text(), f"{where}: .ci/run does not run it"
    for (file, text), test in RUN.items():
        assert test in globals(), f"RUN names {test}, which is not a test here"
        the_block(file, text)
    assert not problems, "\n".join(problems)


def test_every_file_the_docs_name_exists():
    """Every repository path the README and docs/ name (test files, examples, benchmarks, code) is really there."""
    tops = "approvals|bot|connectors|tests|bench|examples|docs|manifest|prompts|alembic"
    path = re.compile(rf"(?<![\w/.-])(?:{tops})/[\w./*-]*[\w*/]")
    missing = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for m in path.finditer(line):
                if not glob.glob(str(REPO / m.group(0).split("::")[0])):
                    missing.append(f"{doc.relative_to(REPO)}:{n}: {m.group(0)}")
    assert not missing, "\n".join(missing)


# -- the README's tour, and docs/chat.md's server and worker ----------------------------------


def _play_in_the_browser(base: str) -> str:
    """The README's browser step through the web chat's own routes: Jake asks and submits, Zoe approves."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    typed = " ".join(re.search(r"pick Jake Miller and type `([^`]+)`", readme, re.S).group(1).split())  # type: ignore[union-attr]

    def tap(person: str, card_html: str, action: str) -> dict[str, Any]:
        value = re.search(rf'data-action="{action}" data-value="([^"]*)"', card_html).group(1)  # type: ignore[union-attr]
        res = httpx.post(
            f"{base}/chat/api/actions",
            json={"person": person, "action": action, "value": json.loads(html.unescape(value))},
        )
        assert res.status_code == 200, res.text
        return res.json()["replies"][0]

    # the server's first message may wait for the category model's first training on a busy machine
    said = httpx.post(f"{base}/chat/api/messages", json={"person": "jake.miller", "text": typed}, timeout=60)
    assert said.status_code == 200, said.text
    number = tap("jake.miller", said.json()["replies"][0]["html"], "submit")["number"]
    zoe = httpx.get(f"{base}/chat/api/cards/{number}", params={"person": "zoe.martin"}).json()["html"]
    assert tap("zoe.martin", zoe, "approve")["text"] == f"{number} is approved."
    jake = httpx.get(f"{base}/chat/api/cards/{number}", params={"person": "jake.miller"}).json()["html"]
    assert "Approved by Zoe Martin" in jake
    return number


def _tour_kept_its_word(out: str, base: str, headers: dict[str, str]) -> str:
    """What the comments in the tour promise, checked on its output; returns the tour's requisition."""
    assert '"error"' not in out, out
    number = re.search(r'"number": "(PR-\d+)"', out).group(1)  # type: ignore[union-attr]
    assert '"state": "pending_approval"' in out
    assert "Zoe Martin's approval limit $2,500 is below $3,840, so it goes up to Maria Lopez" in out
    assert f'"message": "{number} is approved."' in out
    assert re.search(r"^po_(pending|created)$", out, re.M), out
    assert "create PO jobs:" in out  # procurebot erp status
    events = [json.loads(line) for line in out.splitlines() if line.startswith('{"')]
    assert {e["requisition_number"] for e in events} == {number}
    assert {"submitted", "approved"} <= {e["kind"] for e in events}
    assert "audit chain intact" in out
    eventually(
        lambda: httpx.get(f"{base}/api/v1/requisitions/{number}", headers=headers).json()["state"] == "po_created",
        f"{number} got its purchase order",
    )
    return number


def test_the_readme_tour_works_in_the_order_written(served):
    """A newcomer plays the browser story first, then pastes the tour's commands: each works, whatever came before."""
    machine, server = served
    assert httpx.get(f"{server.base}/", follow_redirects=False).headers["location"] == "/chat"  # docs/chat.md
    in_the_browser = _play_in_the_browser(server.base)
    assert in_the_browser == "PR-1001"

    tour = the_block("README.md", "PR=$(curl")
    first = machine.run(tour.text)
    assert first.returncode == 0, first.stdout + first.stderr
    number = _tour_kept_its_word(first.stdout, server.base, _token(machine))
    assert number != in_the_browser
    again = machine.run(tour.text)  # pasted a second time: a new requisition, approved the same way
    assert again.returncode == 0, again.stdout + again.stderr
    assert _tour_kept_its_word(again.stdout, server.base, _token(machine)) not in (number, in_the_browser)

    tools = machine.run(the_block("README.md", "policy simulate my-new-policy.yaml").text)
    assert tools.returncode == 0, tools.stdout + tools.stderr
    assert "policy check: no problems found" in tools.stdout
    assert re.search(r"^[1-9]\d* passed, 0 failed$", tools.stdout, re.M)
    assert '"rule_id": "mro-dal-large"' in tools.stdout  # the route plan of examples/requests/dallas-mro.json
    assert "Replayed 3 stored requisitions" in tools.stdout and "Routes changed: 0 of 3" in tools.stdout


def test_the_demo_history_fills_a_database_of_its_own(tmp_path):
    """A newcomer pastes the README's demo block on a fresh machine: six months of history in a database of its
    own, the POs and today's ERP failures listed; pasted again, it refuses and says why, changing nothing."""
    machine = Machine(tmp_path / "procurebot")
    block = the_block("README.md", "procurebot demo seed --months 6").text
    first = machine.run(block, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"^[1-9]\d{2,} requests submitted", first.stdout, re.M), first.stdout
    assert re.search(r"purchase orders: \d+ open, .*\d+ received", first.stdout), first.stdout
    assert "fix the cause, then: procurebot erp retry PR-XXXX" in first.stdout  # the outage since yesterday
    assert (machine.home / "var" / "demo.db").is_file()
    again = machine.run(block, timeout=300)
    assert again.returncode == 1
    assert "already has" in again.stderr and "--force" in again.stderr


def test_the_chat_worker_starts_beside_the_server(served):
    """An operator starts `procurebot worker` next to the server as docs/chat.md shows; it runs until stopped."""
    machine, _ = served
    with machine.background(the_block("docs/chat.md", "procurebot worker").text) as (proc, log):
        eventually(
            lambda: "procurebot worker: card fan-out" in log.read_text() or proc.poll() is not None, "said it runs", 60
        )
        assert proc.poll() is None, log.read_text()
        assert "4 at a time" in log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()


# -- policy reference (docs/policy.md) ----------------------------------------------------------


def _sample() -> dict[str, Any]:
    return yaml.safe_load((REPO / "examples" / "policy.yaml").read_text(encoding="utf-8"))


def _errors(spec: dict[str, Any], tmp_path: Path, name: str) -> list[str]:
    """`procurebot policy check`'s errors for a policy, as file:line lines."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    _, issues = check_policy_file(path, load_directory(REPO / "examples" / "company.yaml"))
    return [f"{i.file}:{i.line}: [{i.kind}] {i.message}" for i in issues if i.severity == "error"]


def _replace(items: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    assert new["id"] in [i["id"] for i in items], f"the sample policy has no {new['id']}"
    return [new if i["id"] == new["id"] else i for i in items]


def test_policy_reference_snippets_load_and_check(tmp_path):
    """A policy owner copies each snippet of docs/policy.md into the sample policy: it loads and checks clean."""
    stops = yaml.safe_load(the_block("docs/policy.md", "id: blocked-supplier").text)["stops"]
    rules = yaml.safe_load(the_block("docs/policy.md", "id: mro-dal-large").text)["rules"]
    overlays = yaml.safe_load(the_block("docs/policy.md", "id: over-budget").text)["overlays"]
    (stage,) = yaml.safe_load(the_block("docs/policy.md", "- name: Regional operations").text)
    for name, edit in [
        ("stops", lambda p: p.update(stops=[*stops, *p["stops"][len(stops) :]])),
        ("rules", lambda p: p.update(rules=_replace(p["rules"], rules[0]))),
        ("overlays", lambda p: p.update(overlays=_replace(p["overlays"], overlays[0]))),
    ]:
        policy = _sample()
        edit(policy)
        assert _errors(policy, tmp_path, name) == [], name
    # the stage lists every key at once; `quorum` goes only with `mode: quorum`, so it is checked both ways
    for mode in ({"mode": "any"}, {"mode": "quorum", "quorum": 1}):
        policy = _sample()
        rule = next(r for r in policy["rules"] if r["id"] == "mro-dal-large")
        rule["stages"][0] = {k: v for k, v in stage.items() if k not in ("mode", "quorum")} | mode
        assert _errors(policy, tmp_path, "stage") == [], mode
    # each line of the conditions block is one condition form; each must load as a rule's `when`
    conditions = the_block("docs/policy.md", "category: {not_in: [it_hardware, software]}").text.splitlines()
    forms = [yaml.safe_load(line) for line in conditions if line.strip() and "..." not in line]
    assert len(forms) >= 9
    for n, when in enumerate(forms):
        policy = _sample()
        policy["rules"].insert(
            0, {"id": f"condition-{n}", "description": "a condition form", "when": when, "auto_approve": True}
        )
        try:
            load_policy_text(yaml.safe_dump(policy, sort_keys=False), f"condition-{n}.yaml")
        except PolicyInvalid as exc:
            pytest.fail(f"{when}: {[i.message for i in exc.issues]}")


def test_policy_v2_snippets_load_and_the_director_example_passes(tmp_path):
    """The service levels and expressions of docs/policy.md load into the sample policy and check clean, and the
    director's worked example checks and passes its own cases, with the commands the page gives."""
    levels = yaml.safe_load(the_block("docs/policy.md", "service_levels:").text)
    policy = _sample()
    policy["settings"] = {**policy.get("settings", {}), **levels["settings"]}
    policy["service_levels"] = levels["service_levels"]
    assert _errors(policy, tmp_path, "levels") == []
    exprs = re.findall(r'"([^"]+)"', the_block("docs/policy.md", 'expr: "amount > 1.2').text)
    assert len(exprs) >= 3
    for n, expr in enumerate(exprs):
        policy = _sample()
        rule = {"id": f"expr-{n}", "description": "an expression", "when": {"category": "mro", "expr": expr}}
        policy["rules"].insert(0, rule | {"auto_approve": True})
        load_policy_text(yaml.safe_dump(policy, sort_keys=False), f"expr-{n}.yaml")
    machine = Machine(tmp_path / "procurebot")
    for line in the_block("docs/policy.md", "examples/director-policy.yaml").text.splitlines():
        if line.startswith("procurebot "):
            done = machine.run(".venv/bin/" + line)
            assert done.returncode == 0, (line, done.stdout[-2000:], done.stderr[-2000:])


def test_policy_groups_snippets_load_and_check(tmp_path):
    """The stage of groups in docs/policy.md, as the sample policy's large-MRO stage, and its separation setting
    load and check clean."""
    stage = yaml.safe_load(the_block("docs/policy.md", "name: procurement").text)[0]
    assert [m.get("mode") for m in stage["approvers"]] == [None, "any", "quorum"]
    policy = _sample()
    rule = next(r for r in policy["rules"] if r.get("stages"))
    rule["stages"] = [stage]
    policy["settings"] = {
        **policy.get("settings", {}),
        **yaml.safe_load(the_block("docs/policy.md", "separation_of_duties: named   #").text)["settings"],
    }
    assert _errors(policy, tmp_path, "groups") == []


def test_policy_route_examples_give_the_documented_plans(tmp_path):
    """The request in docs/policy.md goes to Jake's manager, and the worked example's plan is the one it describes."""
    machine = Machine(tmp_path / "procurebot")
    (machine.home / "request.json").write_text(the_block("docs/policy.md", '{"requester": "jake.miller"').text)
    routed = machine.run(".venv/bin/procurebot policy route examples/policy.yaml --request request.json")
    assert routed.returncode == 0, routed.stderr
    plan = json.loads(routed.stdout)
    assert plan["rule_id"] == "standard-small"  # "Dallas stretch wrap over $1,000 goes to the requester's manager"
    assert [[s["approver"] for s in stage["steps"]] for stage in plan["stages"]] == [["zoe.martin"]]

    worked = machine.run(the_block("docs/policy.md", "maria-cartons.json").text)
    assert worked.returncode == 0, worked.stderr
    plan = json.loads(worked.stdout)
    assert plan["rule_id"] == "standard-medium" and plan["overlays"] == []
    assert [[s["approver"] for s in stage["steps"]] for stage in plan["stages"]] == [["james.carter"], ["marcus.bell"]]
    assert len(plan["notes"]) == 2
    assert "Maria Lopez is the requester" in plan["notes"][0]
    assert "James Carter already approves an earlier stage" in plan["notes"][1]


# -- the LLM helper (docs/llm.md) ----------------------------------------------------------------


def test_llm_eval_prints_the_documented_table(tmp_path):
    """Without a model, `procurebot llm eval` prints exactly the deterministic table docs/llm.md shows."""
    machine = Machine(tmp_path / "procurebot")
    example = the_block("docs/llm.md", "procurebot llm eval")
    evaluated = machine.run(example.text)
    assert evaluated.returncode == 0, evaluated.stderr
    assert block_after(example).text in evaluated.stdout


def test_each_llm_configuration_reaches_its_model(tmp_path):
    """Each configuration line in docs/llm.md starts a server whose category suggestions go to that model."""
    lines = [
        line
        for line in the_block("docs/llm.md", "PROCUREBOT_LLM_MODEL=gpt-4o-mini").text.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 3
    for n, line in enumerate(lines):
        model = re.search(r"PROCUREBOT_LLM_MODEL=(\S+)", line).group(1)  # type: ignore[union-attr]
        key = m.group(1) if (m := re.search(r"OPENAI_API_KEY=(\S+)", line)) else "no-key-needed"
        machine = Machine(tmp_path / f"procurebot-{n}")
        with FakeOpenAI() as fake:
            # the model's address is the fake's; where the line names none (OpenAI itself) the environment does
            command = re.sub(r"OPENAI_BASE_URL=\S+", f"OPENAI_BASE_URL={fake.base_url}", line)
            with machine.serving(command, env={"OPENAI_BASE_URL": fake.base_url}) as server:
                said = httpx.post(
                    f"{server.base}/chat/api/messages",
                    json={"person": "jake.miller", "text": "need 6 mop buckets from Grainger at $25 each"},
                    # a first message waits for the category model's first training (FIRST_TRAINING_WAIT), which
                    # takes a few seconds on a busy machine; what is checked here is which model is asked, not speed
                    timeout=60,
                )
                assert said.status_code == 200, said.text
                asked = eventually(lambda: fake.requests, f"asked the model ({line})")
        assert asked[0]["body"]["model"] == model, line
        assert asked[0]["headers"]["authorization"] == f"Bearer {key}", line


# -- Slack (docs/slack.md) ----------------------------------------------------------------------


def test_slack_one_workspace_with_socket_mode(tmp_path):
    """An admin sets the signing secret, then the bot token, then the app token, as docs/slack.md's steps say: Slack
    answers over HTTP and Socket Mode."""
    machine = Machine(tmp_path / "procurebot")
    first, second = "SLACK_SIGNING_SECRET=...\nprocurebot serve", "export SLACK_BOT_TOKEN"
    steps = [the_block("docs/slack.md", text).text for text in (first, second)]
    settings = "".join(line + "\n" for step in steps for line in step.splitlines() if line.startswith("export "))
    socket_mode = the_block("docs/slack.md", "export SLACK_APP_TOKEN").text
    api = FakeSlackServer()
    with api as slack, FakeSocketMode() as socket:
        slack.socket_url = socket.url
        with machine.serving(
            settings + socket_mode + ".venv/bin/procurebot serve", env={"SLACK_API_BASE_URL": api.base_url}
        ) as server:
            assert socket.connected.wait(30), server.said()
            body = json.dumps({"type": "url_verification", "token": "x", "challenge": "c-42"}).encode()
            secret = re.search(r"SLACK_SIGNING_SECRET=(\S+)", settings).group(1)  # type: ignore[union-attr]
            answer = httpx.post(
                f"{server.base}/slack/events",
                content=body,
                headers={"Content-Type": "application/json", **sign(secret, body)},
            )
            assert answer.status_code == 200 and answer.json() == {"challenge": "c-42"}, answer.text
            eventually(lambda: "Slack Socket Mode connected" in server.said(), "said Socket Mode is connected")
            assert "Slack is on at /slack/events (one workspace)" in server.said()
        assert slack.of("apps.connections.open")[0].token == "xapp-..."


def test_slack_oauth_for_many_workspaces(tmp_path):
    """An admin sets the OAuth credentials as docs/slack.md shows: each workspace can install from /slack/install."""
    machine = Machine(tmp_path / "procurebot")
    oauth = the_block("docs/slack.md", "export SLACK_CLIENT_ID").text
    api = FakeSlackServer()
    with api, machine.serving(oauth + ".venv/bin/procurebot serve", env={"SLACK_API_BASE_URL": api.base_url}) as server:
        page = httpx.get(f"{server.base}/slack/install")
        assert page.status_code == 200, page.text
        assert "client_id=1234.5678" in page.text
        assert "Slack is on at /slack/events (many workspaces" in server.said()


# -- Teams (docs/teams.md) ----------------------------------------------------------------------


def test_the_teams_package_is_written(tmp_path):
    """With the Teams settings of docs/teams.md step 3, the package command writes the zip to upload."""
    machine = Machine(tmp_path / "procurebot")
    app_id = "8a1c2f0e-5b7d-4c3e-9f21-0d6b4a7e3c55"
    step3 = {
        "TEAMS_APP_ID": app_id,
        "TEAMS_APP_PASSWORD": "a-client-secret-value",
        "TEAMS_TENANT_ID": "1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    }
    packaged = machine.run(the_block("docs/teams.md", "procurebot teams package").text, env=step3)
    assert packaged.returncode == 0, packaged.stderr
    with zipfile.ZipFile(machine.home / "var" / "procurebot-teams.zip") as package:
        manifest = json.loads(package.read("manifest.json"))
        assert len(package.namelist()) == 3  # manifest.json and both icons
    assert manifest["id"] == app_id and manifest["developer"]["name"] == "Lone Star Supply Co."
    assert manifest["developer"]["websiteUrl"] == "https://procure.example.com"

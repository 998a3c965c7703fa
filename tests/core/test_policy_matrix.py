"""Spreadsheet approval matrices: `policy export` writes a policy as the documented matrix layout, `policy import`
turns such a matrix back into a policy file and checks it; bad cells are refused at their line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from policy_fixtures import COMPANY_FILE
from typer.testing import CliRunner

from approvals.policy import load_policy, load_policy_text
from approvals.policy.cases import run_cases
from approvals.policy.matrix import COLUMNS, MatrixInvalid, export_matrix, import_matrix, parse_approvers
from bot.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = ",".join(COLUMNS)
runner = CliRunner()


def _row(**cells: str) -> str:
    return ",".join(f'"{cells.get(c, "")}"' for c in COLUMNS)


def test_the_directors_policy_survives_export_and_import(company):
    """The director's policy written as a matrix and read back routes every one of the director's cases as before
    (a rule's informed people come back on its first stage, where they are told anyway)."""
    source = EXAMPLES / "director-policy.yaml"
    doc = yaml.safe_load(source.read_text())
    matrix = export_matrix(doc)
    assert "role regional_ops_director; procurement: any(role procurement_director; category manager)" in matrix
    back = import_matrix(matrix, "matrix.csv", base=doc)
    policy = load_policy_text(back.text, "back.yaml")
    report = run_cases(policy, company, EXAMPLES / "director-policy-cases.yaml")
    assert report.passed, report.render()
    assert policy.spec.stops == load_policy(source).spec.stops


def test_a_matrix_written_by_hand_becomes_a_policy():
    """Two bands, a second stage on its own row, a nested group and an expression column: the policy says the same."""
    text = "\n".join(
        [
            HEADER,
            _row(
                section="rule",
                id="small",
                description="Up to $5,000",
                amount_up_to="5000",
                stage="Manager",
                approvers="manager",
            ),
            _row(
                section="rule",
                id="large",
                description="Over $5,000",
                amount_over="5,000",
                site="DAL, CHI",
                also_when="{expr: amount > 1.2 * budget.remaining}",
                stage="Operations",
                mode="all",
                approvers="role regional_ops_director; "
                "2 of(person catherine.moss; person marcus.bell; person david.okafor)",
                informed="person david.okafor",
                sla_hours="16",
                check_limits="no",
            ),
            _row(section="rule", id="large", stage="Finance", approvers="role finance_controller"),
        ]
    )
    doc = yaml.safe_load(import_matrix(text, "m.csv").text)
    small, large = doc["rules"]
    assert small == {
        "id": "small",
        "description": "Up to $5,000",
        "when": {"amount": {"lte": 5000}},
        "stages": [{"name": "Manager", "approvers": [{"manager": 1}]}],
    }
    assert large["when"] == {"amount": {"gt": 5000}, "site": ["DAL", "CHI"], "expr": "amount > 1.2 * budget.remaining"}
    assert large["stages"][0]["approvers"][1] == {
        "mode": "quorum",
        "quorum": 2,
        "approvers": [{"person": "catherine.moss"}, {"person": "marcus.bell"}, {"person": "david.okafor"}],
    }
    assert [s["name"] for s in large["stages"]] == ["Operations", "Finance"]
    assert large["stages"][0]["check_limits"] is False and large["stages"][0]["sla_hours"] == 16
    load_policy_text(import_matrix(text, "m.csv").text, "m.yaml")


# every feature the matrix layout has, in one policy: named groups (one whose name needs quotes), a quorum group,
# escalation and inform_when on stages, informed people on a rule, an automatic approval and an overlay, an overlay
# for approvals only, and service levels with SLA, reminders and escalation
EVERY_FEATURE = """
policy: {id: every-feature, version: "1", currency: USD}
rates: {EUR: 1.08}
settings: {escalate_to: {approver_manager: 1}}
service_levels:
  - {id: emergency, description: Emergencies, when: {urgency: emergency}, sla_hours: 4,
     reminders: {first_after_hours: 1, every_hours: 0.5, max: 6}, escalate_to: {person: david.okafor},
     escalation: reassign}
  - {id: capex-slow, when: {item_type: capex, amount: {gt: 50000}}, reminders: {every_hours: 24}}
stops:
  - {id: blocked, when: {supplier.blocked: true}, reason: "{supplier.name} is blocked"}
rules:
  - {id: touchless, when: {amount: {lte: 500}}, auto_approve: true, informed: [{person: david.okafor}]}
  - id: big
    description: 'Over $25,000, the "big" ones'
    when: {amount: {gt: 25000}, any: [{site: DAL}, {supplier.risk_tier: high}]}
    informed: [{role: regional_ops_director}]
    stages:
      - name: Operations and procurement
        mode: all
        escalation: reassign
        inform_when: start_and_end
        informed: [{person: david.okafor}]
        approvers:
          - {manager: 1}
          - mode: any
            name: 'Procurement: buyers (senior; "lead")'
            approvers: [{role: procurement_director}, {mode: quorum, quorum: 2, name: Leads,
                        approvers: [{person: catherine.moss}, {person: marcus.bell}, {person: sofia.alvarez}]}]
      - {name: Finance, approvers: [{role: finance_controller}], sla_hours: 12, escalate_to: {next_level: true},
         escalation: add, check_limits: false, explain: finance signs, order: 5}
  - {id: rest, stages: [{name: Manager, mode: quorum, quorum: 1, approvers: [{manager: 1}, {manager: 2}]}]}
overlays:
  - id: risky
    description: High-risk supplier
    applies_to: approval
    when: {supplier.risk_tier: high}
    informed: [{person: david.okafor}]
    stage: {name: Supplier risk, approvers: [{role: procurement_director}], inform_when: start_and_end,
            escalation: reassign, escalate_to: {approver_manager: 2}}
"""


def _normal(spec):
    """The policy with rule and overlay informed people written on their first stage, where routing tells them."""
    rules = [
        r.model_copy(
            update={
                "informed": (),
                "stages": (r.stages[0].model_copy(update={"informed": r.informed + r.stages[0].informed}),)
                + r.stages[1:],
            }
        )
        if r.stages and r.informed
        else r
        for r in spec.rules
    ]
    overlays = [
        o.model_copy(
            update={"informed": (), "stage": o.stage.model_copy(update={"informed": o.informed + o.stage.informed})}
        )
        if o.informed
        else o
        for o in spec.overlays
    ]
    return spec.model_copy(update={"rules": tuple(rules), "overlays": tuple(overlays)})


@pytest.mark.parametrize(
    "source",
    [EXAMPLES / "director-policy.yaml", EXAMPLES / "policy.yaml", "every-feature"],
    ids=["director", "sample", "every-feature"],
)
def test_export_import_export_is_a_fixed_point(source):
    """Every policy in examples/ and one using every matrix feature, exported, imported and exported again, gives the
    same matrix, and the imported policy says what the original said (group names, escalation, informed people,
    inform_when, applies_to, service levels with their reminders)."""
    text = EVERY_FEATURE if source == "every-feature" else source.read_text()
    original = load_policy_text(text, "original.yaml")
    doc = yaml.safe_load(text)
    matrix = export_matrix(doc)
    bare = {k: v for k, v in doc.items() if k not in ("stops", "rules", "overlays", "service_levels")}
    back = import_matrix(matrix, "matrix.csv", base=bare)
    again = load_policy_text(back.text, "back.yaml")
    assert export_matrix(yaml.safe_load(back.text)) == matrix
    assert _normal(again.spec) == _normal(original.spec)


def test_a_group_name_with_punctuation_reads_back_whole():
    """A group named with a colon, a semicolon and quotes is written in quotes and read back as it was named."""
    [stage_group] = parse_approvers('"Ops: night; ""late"" shift": 2 of(person a; person b; person c)')
    assert stage_group["name"] == 'Ops: night; "late" shift' and stage_group["quorum"] == 2
    assert parse_approvers("Buyers: any(role buyer; person ann)")[0]["name"] == "Buyers"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            {"section": "rule", "id": "r", "stage": "S", "approvers": "roll buyer"},
            "m.csv:2: error: [matrix] approvers: `roll buyer` is not a resolver",
        ),
        (
            {"section": "rule", "id": "r", "stage": "S", "approvers": "any(role buyer"},
            "approvers: a '(' without its ')'",
        ),
        (
            {"section": "rule", "id": "r", "stage": "S", "mode": "most", "approvers": "manager"},
            "mode: `most`: write any, all or quorum N",
        ),
        ({"section": "rules", "id": "r"}, "section: `rules` is not stop, rule, overlay or service_level"),
        (
            {"section": "rule", "id": "r", "stage": "S", "approvers": "Boss: person ann"},
            "approvers: `Boss: person ann`: only a group takes a name",
        ),
        (
            {"section": "rule", "id": "r", "stage": "S", "approvers": "manager", "escalation": "pass"},
            "escalation: write add",
        ),
        (
            {"section": "rule", "id": "r", "stage": "S", "approvers": "manager", "remind_every_hours": "2"},
            "remind_every_hours: a rule row has no use for remind_every_hours; leave it empty",
        ),
        (
            {"section": "service_level", "id": "e", "urgency": "emergency", "remind_max": "many"},
            "remind_max: write a whole number",
        ),
        (
            {"section": "service_level", "id": "e", "urgency": "emergency", "stage": "S", "approvers": "manager"},
            "stage: a service level row has no use for stage, approvers; leave it empty",
        ),
        (
            {"section": "rule", "id": "r", "outcome": "approve automatically", "stage": "S"},
            "stage: a rule that does not ask anyone has no stage",
        ),
        ({"section": "stop", "id": "s", "outcome": "halt"}, "outcome: a stop's outcome is `stop: <reason>`"),
        (
            {"section": "rule", "id": "r", "amount_over": "lots", "stage": "S", "approvers": "manager"},
            "amount: write a number",
        ),
    ],
)
def test_a_bad_cell_is_refused_at_its_line(cells, expected):
    """Each malformed cell is named with the matrix file and line, and nothing is produced."""
    with pytest.raises(MatrixInvalid) as caught:
        import_matrix(HEADER + "\n" + _row(**cells), "m.csv")
    rendered = [i.render() for i in caught.value.issues]
    assert any(expected in r and r.startswith("m.csv:2:") for r in rendered), rendered


def test_an_unknown_column_is_refused_with_the_layout():
    """A header with a column the layout does not have is refused, listing the columns it has."""
    with pytest.raises(MatrixInvalid) as caught:
        import_matrix("section,id,approver\nrule,r,manager\n", "m.csv")
    [issue] = caught.value.issues
    assert issue.line == 1 and "unknown column(s) approver" in issue.message and "approvers" in issue.hint


def test_resolvers_read_as_a_director_writes_them():
    """The approvers cell's words map to the policy's resolvers, groups nesting."""
    assert parse_approvers("manager 2; budget owner; any(group buyers; all(person ann; person bo))") == [
        {"manager": 2},
        {"budget_owner": True},
        {
            "mode": "any",
            "approvers": [{"group": "buyers"}, {"mode": "all", "approvers": [{"person": "ann"}, {"person": "bo"}]}],
        },
    ]


def test_import_writes_the_policy_checks_it_and_points_findings_at_matrix_rows(tmp_path):
    """`policy import` writes the file and runs check; a finding on a rule names the matrix row it came from."""
    matrix = tmp_path / "matrix.csv"
    matrix.write_text(
        "\n".join(
            [
                HEADER,
                _row(section="rule", id="small", amount_up_to="5000", stage="Manager", approvers="manager"),
                _row(section="rule", id="rest", stage="Buyers", approvers="role senior_buyer"),
            ]
        )
        + "\n"
    )
    out = tmp_path / "policy.yaml"
    result = runner.invoke(app, ["policy", "import", str(matrix), "--out", str(out), "--directory", str(COMPANY_FILE)])
    assert result.exit_code == 2, result.output
    assert f"wrote {out} from {matrix} (2 rules, 0 stops, 0 overlays, 0 service levels); checking it:" in result.output
    assert "unknown role `senior_buyer`" in result.output and f"from {matrix}:3" in result.output
    assert out.exists()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n" + _row(section="rule", id="r", stage="S", approvers="roll x") + "\n")
    refused = runner.invoke(app, ["policy", "import", str(bad), "--out", str(tmp_path / "none.yaml")])
    assert refused.exit_code == 2 and f"{bad}:2:" in refused.output and not (tmp_path / "none.yaml").exists()


def test_export_prints_the_matrix():
    """`policy export` prints the policy as the matrix, header first."""
    result = runner.invoke(app, ["policy", "export", str(EXAMPLES / "director-policy.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == HEADER and lines[1].startswith("stop,blocked-supplier,")


def test_a_workbook_round_trips_and_a_bad_cell_is_named_at_its_sheet_row(tmp_path, company):
    """`policy export --out matrix.xlsx` writes a workbook; `policy import` reads it back into a policy whose cases
    pass; a bad cell typed into the sheet is named at its row."""
    from openpyxl import load_workbook

    book_path, out = tmp_path / "matrix.xlsx", tmp_path / "back.yaml"
    source = EXAMPLES / "director-policy.yaml"
    assert runner.invoke(app, ["policy", "export", str(source), "--out", str(book_path)]).exit_code == 0
    args = ["policy", "import", str(book_path), "--base", str(source), "--out", str(out), "-d", str(COMPANY_FILE)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert run_cases(load_policy(out), company, EXAMPLES / "director-policy-cases.yaml").passed
    book = load_workbook(book_path)
    sheet = book.active
    sheet.cell(row=5, column=COLUMNS.index("approvers") + 1, value="the boss")
    book.save(book_path)
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and f"{book_path}:5: error: [matrix] approvers: `the boss` is not a resolver" in (
        refused.output
    )


def test_the_documented_matrix_example_imports_as_the_guide_says():
    """The CSV example in docs/policy.md imports: a named group, reassign escalation, start_and_end informing and an
    emergency service level with hourly reminders."""
    guide = (EXAMPLES.parent / "docs" / "policy.md").read_text()
    block = guide.split("```csv\n", 1)[1].split("```", 1)[0]
    doc = yaml.safe_load(import_matrix(block, "policy.md").text)
    load_policy_text(yaml.safe_dump(doc), "guide.yaml")
    first, second = doc["rules"][1]["stages"]
    assert first["approvers"][1]["name"] == "Procurement" and first["escalation"] == "reassign"
    assert second["inform_when"] == "start_and_end" and second["informed"] == [{"person": "david.okafor"}]
    assert doc["service_levels"] == [
        {
            "id": "emergency",
            "description": "Emergencies",
            "when": {"urgency": "emergency"},
            "sla_hours": 4,
            "reminders": {"first_after_hours": 1, "every_hours": 1},
        }
    ]


def test_the_worked_example_runs_from_the_spreadsheet_to_the_what_if_report(tmp_path, monkeypatch):
    """docs/policy.md's worked example: the director's sheet and base import clean into the director's policy, its
    nine cases pass, and raising the touchless limit to $2,500 in one cell shows one route changed, the stretch wrap
    order no longer waiting on Zoe Martin."""
    monkeypatch.chdir(EXAMPLES.parent)
    company = ["--directory", "examples/company.yaml"]
    sheet = (EXAMPLES / "director-matrix.csv").read_text()
    assert sheet == export_matrix(yaml.safe_load((EXAMPLES / "director-policy.yaml").read_text()))  # kept in step
    first = tmp_path / "director.yaml"
    args = ["policy", "import", "examples/director-matrix.csv", "--base", "examples/director-base.yaml"]
    imported = runner.invoke(app, [*args, "--out", str(first), *company])
    assert imported.exit_code == 0, imported.output
    assert "(4 rules, 2 stops, 2 overlays, 1 service levels); checking it:" in imported.output
    assert "policy check: no problems found" in imported.output
    assert _normal(load_policy(first).spec) == _normal(load_policy(EXAMPLES / "director-policy.yaml").spec)
    cases = ["policy", "test", str(first), "--cases", "examples/director-policy-cases.yaml", *company]
    tested = runner.invoke(app, cases)
    assert tested.exit_code == 0 and "9 passed, 0 failed" in tested.output, tested.output
    raised = sheet.replace('"Contracted stock up to $1,000",,1000,', '"Contracted stock up to $2,500",,2500,')
    assert raised != sheet
    (tmp_path / "director-matrix-next.csv").write_text(raised)
    nxt = tmp_path / "director-next.yaml"
    args = ["policy", "import", str(tmp_path / "director-matrix-next.csv"), "--base", "examples/director-base.yaml"]
    assert runner.invoke(app, [*args, "--out", str(nxt), *company]).exit_code == 0
    requests = ["--requests", "examples/director-requests.jsonl"]
    report = runner.invoke(app, ["policy", "simulate", str(nxt), "--before", str(first), *requests, *company])
    assert report.exit_code == 0, report.output
    for line in ("Routes changed: 1 of 9", "Touchless rate: 11.1% -> 22.2%", "now auto-approve (touchless-contracted)"):
        assert line in report.output
    assert "zoe.martin               2 -> 1     (-1)" in report.output


def test_a_base_without_the_header_is_refused_in_one_line(tmp_path):
    """`policy import --base` with a file that has no `policy:` header says so in one line and writes nothing."""
    base = tmp_path / "base.yaml"
    base.write_text("rates: {EUR: 1.08}\n")
    out = tmp_path / "out.yaml"
    args = ["policy", "import", str(EXAMPLES / "director-matrix.csv"), "--base", str(base), "--out", str(out)]
    result = runner.invoke(app, [*args, "--directory", str(COMPANY_FILE)])
    assert result.exit_code == 2 and f"cannot use --base {base}: it needs a `policy:` header" in result.output
    assert not out.exists()

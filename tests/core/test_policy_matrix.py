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
    assert "role regional_ops_director; any(role procurement_director; category manager)" in matrix
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
        ({"section": "rules", "id": "r"}, "section: `rules` is not stop, rule or overlay"),
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
    assert f"wrote {out} from {matrix} (2 rules, 0 stops, 0 overlays); checking it:" in result.output
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

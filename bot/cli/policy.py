"""`procurebot policy ...`: check, route and test a policy file from the command line.

Exit codes: 0 fine, 1 warnings only (check) or a failing case (test), 2 errors or invalid input.
`simulate` (a what-if replay against stored history) belongs here too; it is built with the
database and registers itself on this same `app`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Optional

import typer
import yaml
from pydantic import ValidationError

from approvals.bounded_yaml import POLICY, YamlRefused, check_bounds
from approvals.clock import utcnow
from approvals.delegation import DelegationWindow
from approvals.directory import Directory, load_directory
from approvals.errors import DirectoryInvalid, PolicyInvalid
from approvals.policy.cases import CasesInvalid, load_delegations, run_cases
from approvals.policy.checker import check_policy, exit_code, summary
from approvals.policy.loader import LoadedPolicy, load_policy
from approvals.policy.matrix import MatrixInvalid, export_matrix, import_matrix
from approvals.policy.routing import route as route_request
from approvals.requisition import RequisitionDraft, build_facts, validate_draft

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "examples" / "company.yaml"

EXIT_OK, EXIT_WARNINGS, EXIT_FAILED, EXIT_ERRORS = 0, 1, 1, 2

# --- messages: every user-facing string of this command group --------------------------------
HELP_APP = "Check, route and test a policy file."
HELP_CHECK = "Find problems in a policy: unknown names, shadowed rules, gaps, loops, steps nobody can take."
HELP_ROUTE = "Show the route one request would take, as JSON."
HELP_TEST = "Run the policy owner's cases (given this request, expect this route)."
HELP_DIRECTORY = (
    "Company directory YAML (default: PROCUREBOT_DIRECTORY_FILE if set, else the sample company, "
    "said on the first line)."
)
HELP_JSON = "Print machine-readable JSON instead of text."
HELP_REQUEST = "Requisition JSON: requester, site, cost_center, supplier, currency, lines, ..."
HELP_COMMITTED = "Spend already approved on the cost center (policy currency)."
HELP_AT = "Routing time, ISO 8601 (default: now, UTC)."
HELP_DELEGATIONS = "Delegation windows, YAML or JSON: delegations: [{delegator, delegate, starts_at, ends_at}]."
HELP_CASES = "Cases YAML (see docs/policy.md, examples/policy-cases.yaml)."
HELP_IMPORT = (
    "Turn a spreadsheet approval matrix (CSV, one row per stage; layout in docs/policy.md) into a policy file and "
    "check it."
)
HELP_EXPORT = (
    "Write a policy's stops, rules, overlays and service levels as a spreadsheet approval matrix (CSV) for review."
)
HELP_MATRIX = "The approval matrix: an Excel workbook (.xlsx, its first sheet) or CSV."
HELP_BASE = (
    "Policy YAML that gives everything the matrix has no column for: header, rates, settings, escalations "
    "(a whole policy, or only those parts)."
)
HELP_OUT_POLICY = "Where to write the policy YAML (nothing is written when the matrix has errors)."
HELP_OUT_MATRIX = "Where to write the matrix: .xlsx for a workbook, else CSV (default: CSV on standard output)."
MSG_MATRIX_UNREADABLE = "cannot read {path}: {problem}"
MSG_WROTE_POLICY = (
    "wrote {out} from {matrix} ({rules} rules, {stops} stops, {overlays} overlays, {levels} service levels); "
    "checking it:"
)
MSG_BASE_INVALID = "cannot use --base {path}: {problem}"
MSG_MATRIX_ROW = "    from {matrix}:{line}"
MSG_DIRECTORY_INVALID = "cannot use directory {path}: {problem}"
MSG_DIRECTORY_USED = "directory: {path} ({how})"
HOW_FLAG = "from --directory"
HOW_SETTING = "from PROCUREBOT_DIRECTORY_FILE"
HOW_SAMPLE = "the sample company: pass --directory FILE to check against your own"
MSG_SAMPLE_MISMATCH = (
    "{count} of these name things the sample company does not have: this was checked against the sample "
    "company because no --directory was given; pass --directory FILE with your company's directory"
)
MSG_SAMPLE_REFUSED = (
    "the request was checked against the sample company because no --directory was given; "
    "pass --directory FILE with your company's directory"
)
MSG_REQUEST_UNREADABLE = "cannot read request {path}: {problem}"
MSG_REQUEST_INVALID = "request refused; fix these fields and try again:"
MSG_BAD_AMOUNT = "--committed must be a number, e.g. 12500"
MSG_BAD_TIME = "--at must be an ISO 8601 time, e.g. 2026-12-01T15:00:00Z"
MSG_FIELD = "  {field}: {message}"

app = typer.Typer(help=HELP_APP, no_args_is_help=True)


def _fail(message: str, code: int = EXIT_ERRORS) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def resolve_directory(given: Path | None) -> tuple[Path, str]:
    """Which directory a policy command uses, and how it was chosen (said on the command's first line).

    --directory wins; then PROCUREBOT_DIRECTORY_FILE; then the sample company, never silently: the first
    line says so, and findings or refusals about names it does not have end with a hint to pass --directory."""
    if given is not None:
        return given, HOW_FLAG
    configured = os.environ.get("PROCUREBOT_DIRECTORY_FILE")
    if configured:
        return Path(configured), HOW_SETTING
    return DEFAULT_DIRECTORY, HOW_SAMPLE


def announce_directory(given: Path | None) -> tuple[Path, bool]:
    """Resolve the directory and print it on the first line (stderr, so JSON on stdout stays JSON).
    Returns the path and whether it is the implicit sample company."""
    path, how = resolve_directory(given)
    typer.echo(MSG_DIRECTORY_USED.format(path=path, how=how), err=True)
    return path, how == HOW_SAMPLE


def _directory(path: Path) -> Directory:
    try:
        return load_directory(path)
    except DirectoryInvalid as exc:
        raise _fail(MSG_DIRECTORY_INVALID.format(path=path, problem="; ".join(exc.problems))) from None
    except OSError as exc:
        raise _fail(MSG_DIRECTORY_INVALID.format(path=path, problem=exc.strerror)) from None


def read_delegations(path: Path | None) -> tuple[DelegationWindow, ...]:
    """The windows in a --delegations file; a file that cannot be read or is invalid exits 2 with file:line."""
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read delegations {path}: {exc}") from None
    try:
        return load_delegations(text, str(path))
    except CasesInvalid as exc:
        for issue in exc.issues:
            typer.echo(issue.render(), err=True)
        raise typer.Exit(EXIT_ERRORS) from None


def _policy(path: Path) -> LoadedPolicy:
    try:
        return load_policy(path)
    except PolicyInvalid as exc:
        for issue in exc.issues:
            typer.echo(issue.render(), err=True)
        raise _fail(summary(exc.issues)) from None


@app.command("check", help=HELP_CHECK)
def check(
    file: Path = typer.Argument(..., help="Policy YAML"),
    directory: Optional[Path] = typer.Option(None, "--directory", "-d", help=HELP_DIRECTORY),
    as_json: bool = typer.Option(False, "--json", help=HELP_JSON),
) -> None:
    used, implicit = announce_directory(directory)
    company = _directory(used)
    policy: LoadedPolicy | None = None
    try:
        policy = load_policy(file)
        issues = check_policy(policy, company)
    except PolicyInvalid as exc:
        issues = list(exc.issues)
    code = exit_code(issues)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "directory": str(used),
                    "file": str(file),
                    "policy_version": policy.version if policy else None,
                    "policy_hash": policy.content_hash if policy else None,
                    "exit_code": code,
                    "summary": summary(issues),
                    "issues": [
                        {
                            "severity": i.severity,
                            "kind": i.kind,
                            "message": i.message,
                            "file": i.file,
                            "line": i.line,
                            "hint": i.hint,
                            "path": i.path,
                        }
                        for i in issues
                    ],
                },
                indent=2,
            )
        )
    else:
        for issue in issues:
            typer.echo(issue.render())
        typer.echo(summary(issues) + (f" [{policy.label}]" if policy else ""))
        unknown = sum(1 for i in issues if i.kind == "unknown_reference")
        if implicit and unknown:
            typer.echo(MSG_SAMPLE_MISMATCH.format(count=unknown), err=True)
    raise typer.Exit(code)


@app.command("route", help=HELP_ROUTE)
def route(
    file: Path = typer.Argument(..., help="Policy YAML"),
    request: Path = typer.Option(..., "--request", "-r", help=HELP_REQUEST),
    directory: Optional[Path] = typer.Option(None, "--directory", "-d", help=HELP_DIRECTORY),
    committed: str = typer.Option("0", "--committed", help=HELP_COMMITTED),
    at: Optional[str] = typer.Option(None, "--at", help=HELP_AT),
    delegations: Optional[Path] = typer.Option(None, "--delegations", help=HELP_DELEGATIONS),
) -> None:
    used, implicit = announce_directory(directory)
    windows = read_delegations(delegations)
    try:
        committed_amount = Decimal(committed)
        if not committed_amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise _fail(MSG_BAD_AMOUNT) from None
    when = _parse_time(at) if at else utcnow()
    company = _directory(used)
    policy = _policy(file)
    try:
        raw = json.loads(request.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(MSG_REQUEST_UNREADABLE.format(path=request, problem=exc)) from None
    try:
        draft = RequisitionDraft.model_validate(raw)
    except ValidationError as exc:
        typer.echo(MSG_REQUEST_INVALID, err=True)
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "request"
            typer.echo(MSG_FIELD.format(field=field, message=err["msg"]), err=True)
        raise typer.Exit(EXIT_ERRORS) from None
    problems = validate_draft(draft, company, policy)
    if problems:
        typer.echo(MSG_REQUEST_INVALID, err=True)
        for p in problems:
            typer.echo(MSG_FIELD.format(field=p.field, message=p.message), err=True)
        if implicit:
            typer.echo(MSG_SAMPLE_REFUSED, err=True)
        raise typer.Exit(EXIT_ERRORS)
    facts = build_facts(draft, company, policy, committed=committed_amount)
    plan = route_request(facts, policy, company, windows, at=when)
    typer.echo(json.dumps({"directory": str(used), **plan.to_dict()}, indent=2))


@app.command("test", help=HELP_TEST)
def test(
    file: Path = typer.Argument(..., help="Policy YAML"),
    cases: Path = typer.Option(..., "--cases", "-c", help=HELP_CASES),
    directory: Optional[Path] = typer.Option(None, "--directory", "-d", help=HELP_DIRECTORY),
) -> None:
    used, implicit = announce_directory(directory)
    company = _directory(used)
    policy = _policy(file)
    try:
        report = run_cases(policy, company, cases)
    except CasesInvalid as exc:
        for issue in exc.issues:
            typer.echo(issue.render(), err=True)
        raise typer.Exit(EXIT_ERRORS) from None
    typer.echo(report.render())
    if implicit and any(r.refused for r in report.results):
        typer.echo(MSG_SAMPLE_REFUSED, err=True)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)


@app.command("import", help=HELP_IMPORT)
def import_(
    matrix: Path = typer.Argument(..., help=HELP_MATRIX),
    out: Path = typer.Option(..., "--out", "-o", help=HELP_OUT_POLICY),
    base: Optional[Path] = typer.Option(None, "--base", help=HELP_BASE),
    directory: Optional[Path] = typer.Option(None, "--directory", "-d", help=HELP_DIRECTORY),
) -> None:
    used, _ = announce_directory(directory)
    company = _directory(used)
    base_doc = None
    if base is not None:
        base_doc = _base(base)
    try:
        text = _read_matrix(matrix)
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:  # openpyxl: ValueError/KeyError on a bad file
        raise _fail(MSG_MATRIX_UNREADABLE.format(path=matrix, problem=exc)) from None
    try:
        imported = import_matrix(text, str(matrix), base_doc)
    except MatrixInvalid as exc:
        for issue in exc.issues:
            typer.echo(issue.render(), err=True)
        raise _fail(summary(exc.issues)) from None
    out.write_text(imported.text, encoding="utf-8")
    doc = yaml.safe_load(imported.text)
    typer.echo(
        MSG_WROTE_POLICY.format(
            out=out,
            matrix=matrix,
            rules=len(doc.get("rules") or ()),
            stops=len(doc.get("stops") or ()),
            overlays=len(doc.get("overlays") or ()),
            levels=len(doc.get("service_levels") or ()),
        )
    )
    try:
        issues = check_policy(load_policy(out), company)
    except PolicyInvalid as exc:
        issues = list(exc.issues)
    for issue in issues:
        typer.echo(issue.render())
        line = imported.line_of(issue.path or "")
        if line:
            typer.echo(MSG_MATRIX_ROW.format(matrix=matrix, line=line))
    typer.echo(summary(issues))
    raise typer.Exit(exit_code(issues))


@app.command("export", help=HELP_EXPORT)
def export(
    file: Path = typer.Argument(..., help="Policy YAML"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=HELP_OUT_MATRIX),
) -> None:
    text = export_matrix(yaml.safe_load(_policy(file).source))
    if out is None:
        typer.echo(text, nl=False)
    elif out.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None, "a new workbook has a sheet"
        sheet.title = "matrix"
        for row in csv.reader(io.StringIO(text)):
            sheet.append(row)
        book.save(out)
    else:
        out.write_text(text, encoding="utf-8")


def _base(path: Path) -> dict[str, Any]:
    """The --base file: a whole policy, or only the parts a matrix has no column for (header, rates, settings);
    the policy the import writes is validated whole."""
    try:
        text = path.read_text(encoding="utf-8")
        check_bounds(text, POLICY, "policy file")
        doc = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, YamlRefused, yaml.YAMLError) as exc:
        raise _fail(MSG_BASE_INVALID.format(path=path, problem=str(exc).splitlines()[0])) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("policy"), dict):
        raise _fail(MSG_BASE_INVALID.format(path=path, problem="it needs a `policy:` header (id, version, currency)"))
    return doc


_WORKBOOKS = (".xlsx", ".xlsm")


def _read_matrix(path: Path) -> str:
    """The matrix as CSV text: a workbook's first sheet, row for row (so lines are the sheet's row numbers)."""
    if path.suffix.lower() not in _WORKBOOKS:
        return path.read_text(encoding="utf-8-sig")
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in book.worksheets[0].iter_rows(values_only=True):
        writer.writerow([_cell(v) for v in row])
    book.close()
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a spreadsheet's 25000 is 25000.0
    return str(value)


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(MSG_BAD_TIME) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

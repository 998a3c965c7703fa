"""Policy: the active version, and validation of an uploaded file (nothing is activated)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, UploadFile
from pydantic import BaseModel
from sqlmodel import Session, select

from approvals.errors import PolicyInvalid, PolicyIssue
from approvals.master_data import ErpSupplierRecord
from approvals.policy.checker import check_policy
from approvals.policy.loader import load_policy_text
from approvals.policy_store import active_policy
from bot.api.auth import READ, WRITE, Caller, require
from bot.api.openapi import errors

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])
MAX_UPLOAD = 2_000_000


class PolicyVersionOut(BaseModel):
    policy_id: str
    version: str
    content_hash: str
    label: str
    filename: str
    currency: str
    rules: int
    stops: int
    overlays: int


class Finding(BaseModel):
    severity: str
    kind: str
    message: str
    line: int | None
    hint: str


class ValidationReport(BaseModel):
    valid: bool
    version: str | None
    content_hash: str | None
    findings: list[Finding]


@router.get(
    "", response_model=PolicyVersionOut, summary="The active policy version", responses=errors(404), name="get_policy"
)
def current_policy(request: Request, caller: Caller = Depends(require(*READ))) -> PolicyVersionOut:
    with Session(request.app.state.runtime.engine) as session:
        row, policy = active_policy(session)
    return PolicyVersionOut(
        policy_id=row.policy_id,
        version=row.version,
        content_hash=row.content_hash,
        label=policy.label,
        filename=row.filename,
        currency=policy.currency,
        rules=len(policy.rules),
        stops=len(policy.stops),
        overlays=len(policy.overlays),
    )


def _findings(issues: list[PolicyIssue]) -> list[Finding]:
    return [Finding(severity=i.severity, kind=i.kind, message=i.message, line=i.line, hint=i.hint) for i in issues]


@router.post(
    "/validate",
    response_model=ValidationReport,
    summary="Check an uploaded policy file against the directory; nothing is activated",
)
async def validate_policy(
    request: Request, file: UploadFile, caller: Caller = Depends(require(*WRITE))
) -> ValidationReport:
    raw = await file.read(MAX_UPLOAD + 1)
    name = file.filename or "upload.yaml"
    if len(raw) > MAX_UPLOAD:
        return ValidationReport(
            valid=False,
            version=None,
            content_hash=None,
            findings=_findings([PolicyIssue("error", "file", f"the file is larger than {MAX_UPLOAD} bytes", name)]),
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ValidationReport(
            valid=False,
            version=None,
            content_hash=None,
            findings=_findings(
                [PolicyIssue("error", "file", "the file is not UTF-8 text", name, hint="save it as UTF-8")]
            ),
        )
    try:
        policy = load_policy_text(text, name)
    except PolicyInvalid as exc:
        return ValidationReport(valid=False, version=None, content_hash=None, findings=_findings(exc.issues))
    runtime = request.app.state.runtime
    with Session(runtime.engine) as session:
        erp_suppliers = session.exec(select(ErpSupplierRecord)).all()  # their currencies need rates too
    issues = check_policy(policy, runtime.directory, erp_suppliers)
    errors = [i for i in issues if i.severity == "error"]
    return ValidationReport(
        valid=not errors, version=policy.version, content_hash=policy.content_hash, findings=_findings(issues)
    )

"""Errors the core raises. Each says what went wrong and what to do next."""

from __future__ import annotations

from dataclasses import dataclass


class ProcurebotError(Exception):
    """Base class: every core error carries a message a person can act on."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class FieldError:
    field: str
    message: str


class ValidationFailed(ProcurebotError):
    """Input was refused before anything was written."""

    code = "validation_failed"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(f"Please fix: {summary}")


class NotFound(ProcurebotError):
    code = "not_found"


class NotAllowed(ProcurebotError):
    """The person acting may not take this action."""

    code = "not_allowed"


class IllegalTransition(ProcurebotError):
    """A state change that the workflow does not permit."""

    code = "illegal_transition"

    def __init__(self, current: str, attempted: str, allowed: list[str], current_label: str | None = None) -> None:
        self.current = current  # the state's name, for programs
        self.attempted = attempted
        self.allowed = allowed
        allowed_text = ", ".join(allowed) if allowed else "nothing (it is final)"
        super().__init__(
            f"Cannot {attempted} a requisition that is {current_label or current.replace('_', ' ')}; "
            f"from here it can: {allowed_text}."
        )


class StaleAction(ProcurebotError):
    """Someone already decided this step; the tap came from an outdated card."""

    code = "stale_action"

    def __init__(self, message: str, decided_by: str | None = None, decided_at: str | None = None):
        self.decided_by = decided_by
        self.decided_at = decided_at
        super().__init__(message)


class ConflictingRetry(ProcurebotError):
    """An idempotency key was reused for a different command."""

    code = "idempotency_conflict"


@dataclass
class PolicyIssue:
    """One finding about a policy file, with where it is and how to fix it."""

    severity: str  # "error" | "warning"
    kind: str
    message: str
    file: str = ""
    line: int | None = None
    hint: str = ""
    path: str = ""

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else (self.file or "<policy>")
        text = f"{where}: {self.severity}: [{self.kind}] {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class PolicyInvalid(ProcurebotError):
    """The policy file could not be loaded; nothing was changed."""

    code = "policy_invalid"

    def __init__(self, issues: list[PolicyIssue]) -> None:
        self.issues = issues
        super().__init__("The policy is invalid:\n" + "\n".join(i.render() for i in issues))


class DirectoryInvalid(ProcurebotError):
    """The company directory file is inconsistent; it was not loaded."""

    code = "directory_invalid"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("The company directory is invalid: " + "; ".join(problems))

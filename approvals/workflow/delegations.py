"""Setting and ending delegation windows."""

from __future__ import annotations

from sqlmodel import Session, col, select

from approvals import audit, credentials
from approvals.clock import as_utc
from approvals.commands import (
    CancelDelegation,
    ChangeDelegation,
    SetDelegation,
)
from approvals.db import transaction
from approvals.delegation import DelegationWindow, would_create_loop
from approvals.errors import (
    ConflictingRetry,
    FieldError,
    NotAllowed,
    NotFound,
    StaleAction,
    ValidationFailed,
)
from approvals.models import (
    ApprovalStep,
    CommandLog,
    Delegation,
)
from approvals.workflow.base import (  # noqa: F401
    COMMITTED_STATES,
    PENDING,
    WAITING,
    ActionResult,
    ServiceBase,
    _fingerprint,
)


class DelegationActions(ServiceBase):
    """Delegations."""

    def set_delegation(self, cmd: SetDelegation, *, as_admin: bool = False) -> Delegation:
        if cmd.actor != cmd.delegator and not as_admin and not self.directory.manages(cmd.actor, cmd.delegator):
            raise NotAllowed(
                "You can set a delegation for yourself or for someone who reports to you; "
                "an administrator can set one for anyone."
            )
        errors = []
        for fld in ("delegator", "delegate"):
            if getattr(cmd, fld) not in self.directory.person_by_id:
                errors.append(FieldError(fld, f"unknown person {getattr(cmd, fld)!r}"))
        if cmd.delegate == cmd.delegator:
            errors.append(FieldError("delegate", "you cannot delegate to yourself"))
        if cmd.category and cmd.category not in self.directory.category_by_code:
            errors.append(FieldError("category", f"unknown category {cmd.category!r}"))
        if errors:
            raise ValidationFailed(errors)
        new = DelegationWindow(
            cmd.delegator,
            cmd.delegate,
            as_utc(cmd.starts_at),
            as_utc(cmd.ends_at),
            cmd.category,
            cmd.max_amount,
        )
        with transaction(self.engine) as session:
            now = self.clock()
            # the audit chain lock serializes delegation writers, so the loop check sees every window
            # and a retried command sees the first one's row
            audit.lock_chain(session)
            if cmd.idempotency_key:
                prior = session.get(CommandLog, cmd.idempotency_key)
                if prior is not None:
                    if prior.command != "set_delegation" or prior.fingerprint != _fingerprint(cmd):
                        raise ConflictingRetry(f"Idempotency key {cmd.idempotency_key!r} was used for another command.")
                    row = session.get(Delegation, prior.result["delegation_id"])
                    assert row is not None
                    return row
            existing = self._delegations(session, now)
            loop = would_create_loop(new, existing)
            if loop:
                raise ValidationFailed(
                    [
                        FieldError(
                            "delegate", "this would make a delegation loop: " + " -> ".join(self._name(p) for p in loop)
                        )
                    ]
                )
            row = Delegation(
                delegator=cmd.delegator,
                delegate=cmd.delegate,
                starts_at=new.starts_at,
                ends_at=new.ends_at,
                category=cmd.category,
                max_amount=cmd.max_amount,
                reason=cmd.reason,
                created_by=cmd.actor,
                created_at=now,
            )
            session.add(row)
            session.flush()
            audit.append_event(
                session,
                kind="delegation_set",
                actor=cmd.actor,
                at=now,
                surface=credentials.surface_for(cmd.surface),
                after=credentials.stamp(
                    {
                        "id": row.id,
                        "delegator": row.delegator,
                        "delegate": row.delegate,
                        "starts_at": row.starts_at,
                        "ends_at": row.ends_at,
                        "category": row.category,
                        "max_amount": row.max_amount,
                    }
                ),
            )
            if cmd.idempotency_key:
                session.add(
                    CommandLog(
                        key=cmd.idempotency_key,
                        command="set_delegation",
                        fingerprint=_fingerprint(cmd),
                        result={"delegation_id": row.id},
                        created_at=now,
                    )
                )
            return row

    def change_delegation(self, cmd: ChangeDelegation, *, as_admin: bool = False) -> Delegation:
        """Move a delegation's end (come back early, or stay out longer)."""
        with transaction(self.engine) as session:
            now = self.clock()
            audit.lock_chain(session)
            row = session.exec(select(Delegation).where(Delegation.id == cmd.delegation_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"There is no delegation {cmd.delegation_id}.")
            if not as_admin and not self._may_manage_delegation(cmd.actor, row):
                raise NotAllowed(
                    "Only the person who delegated, their manager (or an administrator) can change this delegation."
                )
            if row.cancelled_at is not None:
                raise StaleAction(f"Delegation {row.id} was already ended; set a new one instead.")
            starts, ends = as_utc(row.starts_at), as_utc(cmd.ends_at)
            if ends <= starts:
                raise ValidationFailed([FieldError("ends_at", "the delegation must end after it starts")])
            changed = DelegationWindow(
                row.delegator,
                row.delegate,
                starts,
                ends,
                row.category,
                row.max_amount,
                row.id,
            )
            others = [w for w in self._delegations(session, now) if w.id != row.id]
            loop = would_create_loop(changed, others)
            if loop:
                raise ValidationFailed(
                    [
                        FieldError(
                            "ends_at",
                            "the longer window would make a delegation loop: "
                            + " -> ".join(self._name(p) for p in loop),
                        )
                    ]
                )
            before = {"id": row.id, "ends_at": row.ends_at}
            row.ends_at = ends
            session.add(row)
            audit.append_event(
                session,
                kind="delegation_changed",
                actor=cmd.actor,
                at=now,
                surface=credentials.surface_for(cmd.surface),
                before=before,
                after=credentials.stamp({"id": row.id, "ends_at": ends}),
            )
            return row

    def cancel_delegation(self, cmd: CancelDelegation, *, as_admin: bool = False) -> Delegation:
        with transaction(self.engine) as session:
            now = self.clock()
            row = session.exec(select(Delegation).where(Delegation.id == cmd.delegation_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"There is no delegation {cmd.delegation_id}.")
            if not as_admin and not self._may_manage_delegation(cmd.actor, row):
                raise NotAllowed(
                    "Only the person who delegated, their manager (or an administrator) can end this delegation."
                )
            if row.cancelled_at is not None:
                return row
            row.cancelled_at = now
            session.add(row)
            # work the delegate was holding goes back to the delegator
            for step in session.exec(
                select(ApprovalStep).where(
                    ApprovalStep.approver == row.delegator,
                    ApprovalStep.acting == row.delegate,
                    col(ApprovalStep.state).in_((PENDING, WAITING)),
                )
            ).all():
                step.acting = step.approver
                session.add(step)
            audit.append_event(
                session,
                kind="delegation_cancelled",
                actor=cmd.actor,
                at=now,
                surface=credentials.surface_for(cmd.surface),
                before={"id": row.id, "delegator": row.delegator, "delegate": row.delegate},
                after=credentials.stamp(None),
            )
            return row

    def _may_manage_delegation(self, actor: str, row: Delegation) -> bool:
        """The person who delegated, whoever set it, or a manager above the person who delegated."""
        return actor in (row.delegator, row.created_by) or self.directory.manages(actor, row.delegator)

    def delegations(self, *, person: str | None = None, include_ended: bool = False) -> list[Delegation]:
        with Session(self.engine) as session:
            query = select(Delegation).order_by(col(Delegation.starts_at))
            if person:
                query = query.where((Delegation.delegator == person) | (Delegation.delegate == person))
            if not include_ended:
                query = query.where(Delegation.cancelled_at == None, Delegation.ends_at > self.clock())  # noqa: E711
            return list(session.exec(query).all())

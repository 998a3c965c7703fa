"""The approve hot path on PostgreSQL: the same decision in four round trips, two of reads, two of writes.

Approving is what approvers do all day, and through an ORM one approval costs a dozen round
trips and milliseconds of Python. This path covers the common case only: the actor holds a
pending step of the current stage in their own name, the requisition is pending approval, and
nothing else needs explaining. Anything else (a delegate, a stale tap, a replay, separation
of duties, an error) returns None and the general path decides it, with its messages. Every
approval test runs on SQLite (general path) and PostgreSQL (this path), so both must agree.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Json
from sqlmodel import Session

from approvals.audit import _HELD_HEAD, event_hash, jsonable
from approvals.clock import as_utc
from approvals.commands import Approve
from approvals.models import Requisition
from approvals.states import State, next_state
from approvals.workflow.base import HOOKS_DONE, Change, FastWork

if TYPE_CHECKING:
    from approvals.workflow.base import ServiceBase

_LOCK = """
SELECT r.id, r.number, r.state, r.requester, r.current_stage, r.round, r.version,
       r.route ->> 'policy_label', r.route ->> 'policy_version', r.policy_version_id,
       EXISTS (SELECT 1 FROM command_log c WHERE c.key = %(key)s),
       r.supplier, r.currency, r.site, r.cost_center, r.need_by, r.justification
FROM requisition r WHERE r.number = %(number)s FOR UPDATE OF r
"""
_LINES = """
SELECT line_no, description, quantity, unit_price, unit, sku FROM requisition_line
WHERE requisition_id = %s ORDER BY line_no
"""
_LINE_FIELDS = ("line_no", "description", "quantity", "unit_price", "unit", "sku")
_JOB = """
INSERT INTO job (kind, dedupe_key, payload, due_at, state, attempts, created_at, updated_at)
VALUES (%s, %s, %s, %s, 'due', 0, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING
"""
_STEPS = """
SELECT id, stage_index, stage_name, required, approver, acting, state, decided_by
FROM approval_step WHERE requisition_id = %s AND round = %s AND stage_index <= %s ORDER BY id
"""
_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
COMMAND_LOGGED = "command_logged"  # session.info key: this path already wrote the idempotency record


def try_fast_approve(service: "ServiceBase", session: Session, cmd: Approve, now: datetime,
                     fingerprint: str) -> tuple[Requisition, str, str] | None:
    """Approve in the common case, or return None (having changed nothing) for the general path."""
    conn = session.connection().connection.driver_connection
    cur = conn.cursor()
    # Round trips are most of the cost, so statements that do not depend on each other travel
    # together: the transaction's BEGIN with the row lock, then the steps with the lines; the
    # writes with the audit chain's lock, then the chained events with the COMMIT.
    with conn.pipeline():
        cur.execute(_LOCK, {"key": cmd.idempotency_key or "", "number": cmd.number.strip().upper()})
    row = cur.fetchone()
    if row is None:
        return None
    (req_id, number, state, requester, stage, round_, version, policy_label, policy_version, policy_id,
     replayed, supplier, currency, site, cost_center, need_by, justification) = row
    if replayed or state != State.PENDING_APPROVAL.value or cmd.actor == requester:
        return None
    lines = conn.cursor()
    with conn.pipeline():
        cur.execute(_STEPS, (req_id, round_, stage + 1))
        lines.execute(_LINES, (req_id,))  # for a hook that needs them (the PO's order); costs no extra wait
    steps = [dict(zip(("id", "stage_index", "stage_name", "required", "approver", "acting", "state",
                       "decided_by"), r)) for r in cur.fetchall()]
    current = [s for s in steps if s["stage_index"] == stage]
    mine = [s for s in current if s["state"] == "pending" and s["approver"] == cmd.actor]
    if not mine or any(s["decided_by"] == cmd.actor for s in current):
        return None
    if stage > 0 and any(s["state"] == "approved" and cmd.actor in (s["decided_by"], s["approver"])
                         for s in steps if s["stage_index"] < stage):
        # possibly a separation-of-duties refusal; the general path checks the policy and explains
        return None
    step = mine[0]
    approvers = {s["decided_by"] for s in current if s["state"] == "approved"} | {cmd.actor}

    # Audit events are chained once the head is locked, as late as possible: every approval in the
    # company waits on that lock, so it is held only for the last round trip (see _write).
    audits: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []

    def audit(kind: str, before: dict[str, Any], after: dict[str, Any], actor: str = cmd.actor) -> None:
        audits.append((kind, actor, before, after))

    audit("approved_step", {"step": step["id"], "state": "pending"},
          {"step": step["id"], "state": "approved", "stage": step["stage_name"], "comment": cmd.comment})
    not_needed: list[int] = []
    activate: list[int] = []
    new_state, new_stage, decided_at = state, stage, None
    if len(approvers) < step["required"]:
        left = step["required"] - len(approvers)
        outcome, message = "recorded", (f"Your approval of {number} is recorded; {left} more approval(s) needed "
                                        f"at stage '{step['stage_name']}'.")
    else:
        not_needed = [s["id"] for s in current if s["state"] == "pending" and s["id"] != step["id"]]
        nxt = [s for s in steps if s["stage_index"] == stage + 1]
        if nxt:
            new_state, new_stage = next_state(state, "advance_stage").value, stage + 1
            activate = [s["id"] for s in nxt]
            audit("stage_completed", {"stage": stage}, {"stage": new_stage, "waiting_on": [s["acting"] for s in nxt]})
            names = ", ".join(service._name(s["acting"]) for s in nxt)
            outcome, message = "advanced", (f"{number} passed '{step['stage_name']}' and is now with {names} "
                                            f"({nxt[0]['stage_name']}).")
        else:
            new_state, decided_at = next_state(state, "approve").value, now
            audit("approved", {"state": state}, {"state": new_state})
            outcome, message = "approved", f"{number} is approved."

    # The in-transaction hooks (the ERP outbox, the chat fan-out, reminders) join this pipeline when
    # each has a fast counterpart for what this decision needs; otherwise they run as usual afterwards.
    work = None
    if service.in_transaction:
        fields = {"number": number, "requester": requester, "supplier": supplier, "currency": currency,
                  "site": site, "cost_center": cost_center, "need_by": need_by, "justification": justification,
                  "policy_label": policy_label}
        rows = [dict(zip(_LINE_FIELDS, r)) for r in lines.fetchall()]
        work = _join_hooks(service, FastWork(Change(number, req_id, "approve", outcome, cmd.actor, cmd.surface,
                                                    new_state, now), fields, lambda: rows, new_state, version + 1))
    if work is not None:
        new_state, version = work.state, work.version - 1
        for kind, actor, before, after in work.audits:
            audit(kind, before, after, actor)

    # First every write that does not depend on the audit chain, ending with the chain's lock...
    heads = conn.cursor()
    with conn.pipeline():
        cur.execute("UPDATE approval_step SET state = 'approved', decided_by = %s, on_behalf_of = NULL, "
                    "decided_at = %s, comment = %s WHERE id = %s", (cmd.actor, now, cmd.comment, step["id"]))
        if not_needed:
            cur.execute("UPDATE approval_step SET state = 'not_needed', decided_at = %s WHERE id = ANY(%s)",
                        (now, not_needed))
        if activate:
            cur.execute("UPDATE approval_step SET state = 'pending', activated_at = %s WHERE id = ANY(%s)",
                        (now, activate))
        cur.execute("INSERT INTO decision (requisition_id, step_id, action, actor, on_behalf_of, comment, surface, "
                    "policy_version, created_at) VALUES (%s, %s, 'approve', %s, NULL, %s, %s, %s, %s)",
                    (req_id, step["id"], cmd.actor, cmd.comment, cmd.surface, policy_version or "", now))
        cur.execute("UPDATE requisition SET state = %s, current_stage = %s, version = %s, updated_at = %s, "
                    "decided_at = COALESCE(%s, decided_at) WHERE id = %s",
                    (new_state, new_stage, version + 1, now, decided_at, req_id))
        if cmd.idempotency_key:
            cur.execute("INSERT INTO command_log (key, command, fingerprint, requisition_id, result, created_at) "
                        "VALUES (%s, 'approve', %s, %s, %s, %s)",
                        (cmd.idempotency_key, fingerprint, req_id,
                         Json({"number": number, "outcome": outcome, "message": message}), now))
        if work is not None and work.jobs:
            cur.executemany(_JOB, [(j["kind"], j["key"], Json(j.get("payload") or {}), as_utc(j["due_at"]), now, now)
                                   for j in work.jobs])
        heads.execute(_HEAD)
    seq, prev_hash = heads.fetchone()
    # ...then the events chained onto the head, the head moved on and (when nothing else joins this
    # transaction) the COMMIT, in one round trip.
    events = []
    for kind, actor, before, after in audits:
        # a plain record, not a table model: event_hash only reads the fields, and building
        # SQLModel instances costs more than everything else this path does in Python
        event = SimpleNamespace(seq=seq + 1, at=now, kind=kind, actor=actor, on_behalf_of=None,
                                surface=cmd.surface, requisition_number=number, policy_version=policy_label,
                                before=jsonable(before), after=jsonable(after), prev_hash=prev_hash, hash="")
        event.hash = event_hash(event)  # type: ignore[arg-type]
        events.append(event)
        seq, prev_hash = event.seq, event.hash
    with conn.pipeline():
        cur.executemany("INSERT INTO audit_event (seq, at, kind, actor, on_behalf_of, surface, requisition_number, "
                        "policy_version, before, after, prev_hash, hash) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [(e.seq, e.at, e.kind, e.actor, e.on_behalf_of, e.surface, e.requisition_number,
                          e.policy_version, Json(e.before), Json(e.after), e.prev_hash, e.hash) for e in events])
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq, prev_hash))
        if not service.in_transaction or work is not None:
            # nothing else has to join this transaction, so the COMMIT travels with the writes;
            # the session's own commit afterwards finds no open transaction and sends nothing
            conn.commit()
    session.info.pop(_HELD_HEAD, None)  # the head moved; a later append must lock and read it again
    session.info[COMMAND_LOGGED] = bool(cmd.idempotency_key)
    session.info[HOOKS_DONE] = work is not None
    if service.in_transaction and work is None:
        # hooks work with the real row (and may change it through the ORM)
        req = session.get(Requisition, req_id)
        assert req is not None
    else:
        req = SimpleNamespace(id=req_id, number=number, state=new_state)  # all _run reads
    return req, outcome, message  # type: ignore[return-value]


def _join_hooks(service: "ServiceBase", work: FastWork) -> FastWork | None:
    """The work of every in-transaction hook, written by this path; None when one of them cannot."""
    for hook in service.in_transaction:
        fast = service.fast_hooks.get(hook)
        if fast is None or not fast(work):
            return None
    return work

"""Recording a created PO on PostgreSQL in two statements, without the ORM.

`Outbox.record_po` is what every dispatcher does once per purchase order, and through the ORM
it cost a pool checkout, a dozen statements and milliseconds of Python: more than the ERP call
it records. This path writes exactly what the general path writes, under the same locks, in
the same order, behind the same fence, on the connection the dispatcher's batch already holds:

1. `_TAKE`: the fenced job UPDATE (does our claim still hold the row?), then the requisition's
   row lock, then the audit chain's head lock;
2. `_WRITE`: po_pending -> po_created, the PO row, the audit event, the head, the requester's
   notice job; then COMMIT, waiting for the WAL flush like any decision.

Psycopg's pipeline mode was measured here too: on a local server it costs more than the round
trips it saves, so these are plain statements, as few as the hash chain allows (the event's
hash needs the head's, read under its lock).

A lost lease rolls back and writes nothing; anything unusual (no requisition, no chain head
yet) hands over to the general path, having changed nothing.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from psycopg.types.json import Json

from approvals.audit import event_hash, jsonable
from approvals.jobqueue import ClaimedJob
from approvals.states import State, next_state

# One statement takes, in this order, the job (fenced by our claim), the requisition's row lock and
# the audit chain's head lock: each LATERAL step refers to the one before it, so it runs only
# after it, and a claim that lost its job (no row from `fence`) locks nothing and returns no row.
_TAKE = """
WITH fence AS (UPDATE job SET state = 'done', lease_until = NULL, last_error = NULL, sent_ref = %(ref)s,
                              updated_at = %(now)s
               WHERE id = %(id)s AND state = 'claimed' AND claimed_by = %(by)s AND attempts = %(attempts)s
               RETURNING id)
SELECT r.id, r.state, r.requester, r.label, h.seq, h.hash
FROM fence
LEFT JOIN LATERAL (SELECT id, state, requester, route ->> 'policy_label' AS label FROM requisition
                   WHERE number = %(number)s AND fence.id IS NOT NULL FOR UPDATE) r ON true
LEFT JOIN LATERAL (SELECT seq, hash FROM audit_head WHERE id = 1 AND r.id IS NOT NULL FOR UPDATE) h ON true
"""
# Every write of the record in one statement (data-modifying CTEs all run, once), ending the
# batch connection's skipped WAL flush for this transaction: a PO's record waits for it, like a decision.
_WRITE = """
WITH req AS (UPDATE requisition SET state = %(state)s, updated_at = %(now)s, version = version + 1
             WHERE id = %(req_id)s AND state = 'po_pending'),
     po AS (INSERT INTO erp_purchase_order (requisition_number, connector, erp_id, po_number, status,
                                            received_fraction, created_at, status_at)
            VALUES (%(number)s, %(connector)s, %(erp_id)s, %(po_number)s, %(status)s, 0, %(now)s, %(now)s)
            ON CONFLICT (requisition_number) DO NOTHING),
     ev AS (INSERT INTO audit_event (seq, at, kind, actor, on_behalf_of, surface, requisition_number,
                                     policy_version, before, after, prev_hash, hash)
            VALUES (%(seq)s, %(now)s, 'po_created', 'erp', NULL, 'erp', %(number)s, %(label)s, %(before)s,
                    %(after)s, %(prev)s, %(hash)s)),
     head AS (UPDATE audit_head SET seq = %(seq)s, hash = %(hash)s WHERE id = 1),
     notice AS (INSERT INTO job (kind, dedupe_key, payload, due_at, state, claimed_by, lease_until, attempts,
                                 created_at, updated_at)
                VALUES (%(notice_kind)s, %(notice_key)s, %(notice)s, %(notice_due)s, %(notice_state)s,
                        %(notice_by)s, %(notice_lease)s, %(notice_attempts)s, %(now)s, %(now)s)
                ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)
SELECT (SELECT id FROM notice), set_config('synchronous_commit', 'on', true)
"""
_PO_CREATED = next_state(State.PO_PENDING.value, "po_created").value


def record_po(conn: Any, job: ClaimedJob, *, number: str, connector: str, erp_id: str, po_number: str,
              status: str, now: datetime, notice_kind: str, notice: dict[str, Any],
              notice_lease: datetime | None = None) -> tuple[bool, ClaimedJob | None] | None:
    """(True, notice) when recorded, (False, None) when this claim lost the job (nothing written), None to
    use the general path.

    `conn` is a psycopg connection with no transaction open; `notice` is the notice job's payload
    without its recipient (`to`), and its key prefixes the job's dedupe key as the general path does.
    With `notice_lease` the requester's notice is written already claimed by this worker until then,
    and returned, so the dispatcher delivers it at once instead of claiming it later; if it dies
    first the lease runs out and any dispatcher sends it, as with any claimed row.
    """
    cur = conn.cursor()
    try:
        cur.execute(_TAKE, {"ref": erp_id[:200], "now": now, "id": job.id, "by": job.worker_id,
                            "attempts": job.attempts, "number": number})
        row = cur.fetchone()
        if row is None or row[4] is None:
            conn.rollback()
            return (False, None) if row is None else None
        req_id, state, requester, label, seq, prev = row
        if state == State.PO_PENDING.value:
            state = _PO_CREATED  # the UPDATE below moves only a po_pending row, as the general path does
        event = SimpleNamespace(seq=seq + 1, at=now, kind="po_created", actor="erp", on_behalf_of=None,
                                surface="erp", requisition_number=number, policy_version=label,
                                before=jsonable({"state": State.PO_PENDING.value}),
                                after=jsonable({"state": state, "po_number": po_number, "connector": connector}),
                                prev_hash=prev, hash="")
        event.hash = event_hash(event)  # type: ignore[arg-type]
        notice_key, payload = f"{notice_kind}:{notice['key']}:{requester}", {"to": requester, **notice}
        cur.execute(_WRITE, {"state": state, "now": now, "req_id": req_id, "number": number, "connector": connector,
                             "erp_id": erp_id[:100], "po_number": po_number[:60], "status": status,
                             "seq": event.seq, "label": label, "before": Json(event.before),
                             "after": Json(event.after), "prev": prev, "hash": event.hash,
                             "notice_kind": notice_kind, "notice_key": notice_key, "notice": Json(payload),
                             "notice_due": notice_lease or now, "notice_state": "claimed" if notice_lease else "due",
                             "notice_by": job.worker_id if notice_lease else None, "notice_lease": notice_lease,
                             "notice_attempts": 1 if notice_lease else 0})
        notice_id = cur.fetchone()[0]
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    if notice_lease is None or notice_id is None:
        return True, None
    return True, ClaimedJob(notice_id, notice_kind, notice_key, payload, 1, job.worker_id, notice_lease)

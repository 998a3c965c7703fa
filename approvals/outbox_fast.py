"""Recording created POs on PostgreSQL a batch at a time, in two round trips, without the ORM.

`Outbox.record_po` is what every dispatcher does once per purchase order, and through the ORM
it cost a pool checkout, a dozen statements and milliseconds of Python: more than the ERP call
it records. Worse, every record appends to the one audit chain, so records serialize on the
chain's head lock, and whatever happens while it is held (Python waiting for the GIL, the WAL
flush) caps the whole system's rate. Here a dispatcher records the POs of its claimed batch
together, writing exactly what the general path writes, under the same locks in the same order,
each job behind its own fence, on the connection the dispatcher's batch already holds:

1. one pipeline: BEGIN, the fenced job UPDATEs (which of our claims still hold their rows?),
   the requisitions' row locks (in id order), the audit chain's head lock;
2. one pipeline: po_pending -> po_created, the PO rows, the audit events, the head, the
   requesters' notice jobs, and the COMMIT, waiting for the WAL flush like any decision; the
   server commits as soon as the writes are done, without another wait on us.

A job whose claim was lost is skipped (nothing written for it; its new holder records it);
anything unusual (a requisition missing, no chain head yet) rolls back and hands the whole batch
to the general path, having changed nothing. A crash before the COMMIT loses nothing: the jobs'
leases run out and the ERP's idempotency hands back the same POs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from approvals.audit import event_hash, jsonable
from approvals.jobqueue import ClaimedJob
from approvals.states import State, next_state

_FENCE = """
UPDATE job SET state = 'done', lease_until = NULL, last_error = NULL, sent_ref = f.ref, updated_at = %(now)s
FROM unnest(%(ids)s::integer[], %(attempts)s::integer[], %(refs)s::text[]) AS f(id, attempts, ref)
WHERE job.id = f.id AND job.state = 'claimed' AND job.claimed_by = %(by)s AND job.attempts = f.attempts
RETURNING job.id
"""
_LOCK = """
SELECT id, number, state, requester, route ->> 'policy_label' FROM requisition
WHERE number = ANY(%(numbers)s) ORDER BY id FOR UPDATE
"""
_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
# Every write in one statement (data-modifying CTEs all run, once), and this transaction waits
# for the WAL flush that the batch connection otherwise skips.
_WRITE = """
WITH x AS (SELECT * FROM json_to_recordset(%(rows)s::json)
           AS x(n text, e text, p text, s text, q bigint, l text, b json, a json, ph text, h text, k text, np json)),
     req AS (UPDATE requisition SET state = %(to_state)s, updated_at = %(now)s, version = version + 1
             WHERE id = ANY(%(move)s) AND state = 'po_pending'),
     po AS (INSERT INTO erp_purchase_order (requisition_number, connector, erp_id, po_number, status,
                                            received_fraction, created_at, status_at)
            SELECT n, %(connector)s, e, p, s, 0, %(now)s, %(now)s FROM x
            ON CONFLICT (requisition_number) DO NOTHING),
     ev AS (INSERT INTO audit_event (seq, at, kind, actor, on_behalf_of, surface, requisition_number,
                                     policy_version, before, after, prev_hash, hash)
            SELECT q, %(now)s, 'po_created', 'erp', NULL, 'erp', n, l, b, a, ph, h FROM x),
     head AS (UPDATE audit_head SET seq = %(last_seq)s, hash = %(last_hash)s WHERE id = 1),
     notice AS (INSERT INTO job (kind, dedupe_key, payload, due_at, state, claimed_by, lease_until, attempts,
                                 created_at, updated_at)
                SELECT %(notice_kind)s, k, np, %(notice_due)s, %(notice_state)s, %(notice_by)s,
                       %(notice_lease)s, %(notice_attempts)s, %(now)s, %(now)s FROM x
                ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key)
SELECT set_config('synchronous_commit', 'on', true), (SELECT json_agg(json_build_array(id, dedupe_key)) FROM notice)
"""
_PO_CREATED = next_state(State.PO_PENDING.value, "po_created").value


@dataclass(frozen=True)
class Recording:
    """One created PO to record: the claimed job, what the ERP answered, the requester's notice (without `to`)."""

    job: ClaimedJob
    number: str
    erp_id: str
    po_number: str
    status: str
    notice: dict[str, Any]


def record_many(
    conn: Any,
    items: list[Recording],
    *,
    connector: str,
    now: datetime,
    notice_kind: str,
    notice_lease: datetime | None = None,
) -> dict[int, tuple[bool, ClaimedJob | None]] | None:
    """Record `items` in one transaction: {job id: (recorded, claimed notice or None)}, or None (nothing
    written) for the general path. `False` means that job's claim was lost and nothing was written for it.

    `conn` is a psycopg connection with no transaction open (the queue's batch holds it in autocommit).
    With `notice_lease` each requester's notice is written already claimed by the recording worker until
    then and returned, so the dispatcher delivers it at once; if it dies first, the lease runs out and any
    dispatcher sends it.
    """
    if not items:
        return {}
    worker = items[0].job.worker_id
    fence, lock, head = conn.cursor(), conn.cursor(), conn.cursor()
    try:
        with conn.pipeline():
            if conn.autocommit:  # the queue's batch: one transaction for the batch, begun in this round trip
                fence.execute("BEGIN")
            fence.execute(
                _FENCE,
                {
                    "now": now,
                    "by": worker,
                    "ids": [i.job.id for i in items],
                    "attempts": [i.job.attempts for i in items],
                    "refs": [i.erp_id[:200] for i in items],
                },
            )
            lock.execute(_LOCK, {"numbers": [i.number for i in items]})
            head.execute(_HEAD)
        fenced = {r[0] for r in fence.fetchall()}
        reqs = {r[1]: r for r in lock.fetchall()}
        chain = head.fetchone()
        mine = [i for i in items if i.job.id in fenced]
        if not mine or chain is None or any(i.number not in reqs for i in mine):
            conn.rollback()
            return None if mine else {i.job.id: (False, None) for i in items}
        seq, prev = chain
        # the rows travel as one JSON document (json_to_recordset): far less Python than array parameters
        rows: list[dict[str, Any]] = []
        move, keys = [], {}
        for item in mine:
            req_id, _, state, requester, label = reqs[item.number]
            if state == State.PO_PENDING.value:
                move.append(req_id)
                state = _PO_CREATED  # the UPDATE moves only a po_pending row, as the general path does
            event = SimpleNamespace(
                seq=seq + 1,
                at=now,
                kind="po_created",
                actor="erp",
                on_behalf_of=None,
                surface="erp",
                requisition_number=item.number,
                policy_version=label,
                before=jsonable({"state": State.PO_PENDING.value}),
                after=jsonable({"state": state, "po_number": item.po_number, "connector": connector}),
                prev_hash=prev,
                hash="",
            )
            event.hash = event_hash(event)  # type: ignore[arg-type]
            seq, prev = event.seq, event.hash
            key = f"{notice_kind}:{item.notice['key']}:{requester}"
            keys[key] = (item, {"to": requester, **item.notice})
            rows.append(
                {
                    "n": item.number,
                    "e": item.erp_id[:100],
                    "p": item.po_number[:60],
                    "s": item.status,
                    "q": event.seq,
                    "l": label,
                    "b": event.before,
                    "a": event.after,
                    "ph": event.prev_hash,
                    "h": event.hash,
                    "k": key,
                    "np": keys[key][1],
                }
            )
        write = conn.cursor()
        with conn.pipeline():
            write.execute(
                _WRITE,
                {
                    "rows": json.dumps(rows),
                    "to_state": _PO_CREATED,
                    "now": now,
                    "move": move,
                    "connector": connector,
                    "last_seq": seq,
                    "last_hash": prev,
                    "notice_kind": notice_kind,
                    "notice_due": notice_lease or now,
                    "notice_state": "claimed" if notice_lease else "due",
                    "notice_by": worker if notice_lease else None,
                    "notice_lease": notice_lease,
                    "notice_attempts": 1 if notice_lease else 0,
                },
            )
            conn.commit()
        written = write.fetchone()[1] or []
    except BaseException:
        conn.rollback()
        raise
    out: dict[int, tuple[bool, ClaimedJob | None]] = {i.job.id: (False, None) for i in items}
    out.update({i.job.id: (True, None) for i in mine})
    if notice_lease is not None:
        for notice_id, key in written:
            item, payload = keys[key]
            out[item.job.id] = (True, ClaimedJob(notice_id, notice_kind, key, payload, 1, worker, notice_lease))
    return out

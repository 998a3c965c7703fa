"""A generated history with known answers for the metrics tests: 1,000 requisitions, rows written directly.

Every figure the metrics compute can be worked out from `Spec` alone, in plain Python, so the
tests compare the SQL against arithmetic that shares nothing with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Engine

from approvals.metrics.queries import INFO, PO, A, R, S

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=timezone.utc)
SITES = ("DAL", "CHI", "ATL", "NJ", "PHX", "SEA")
CATEGORIES = ("mro", "packaging", "it_hardware", "freight")
SUPPLIERS = ("uline", "grainger", "fastenal", "cdw", "xpo")
APPROVERS = ("maria.lopez", "frank.novak", "kevin.nguyen")
COST_CENTERS = {
    "DAL": "DAL-OPS",
    "CHI": "CHI-OPS",
    "ATL": "ATL-OPS",
    "NJ": "NJ-OPS",
    "PHX": "PHX-OPS",
    "SEA": "SEA-OPS",
}


@dataclass
class Spec:
    """One requisition of the history, and what happened to it."""

    i: int
    number: str
    site: str
    category: str
    supplier: str
    cost_center: str
    amount: Decimal
    state: str
    submitted_at: datetime
    po_created_at: datetime | None
    steps: list[dict] = field(default_factory=list)
    asked_info: bool = False
    po_failed_at: datetime | None = None
    stop_rule: str | None = None


def build(n: int = 1000) -> list[Spec]:
    specs = []
    for i in range(n):
        site = SITES[i % len(SITES)]
        submitted = T0 + timedelta(hours=i, seconds=i % 60)
        kind = i % 10
        state = (
            "po_created"
            if kind < 8
            else ("pending_approval" if kind == 8 else ("rejected" if i % 20 == 9 else "stopped"))
        )
        cycle = (i * 7919) % 100_000 + 60  # seconds from submission to PO, spread and mostly distinct
        spec = Spec(
            i,
            f"PR-{10_000 + i}",
            site,
            CATEGORIES[i % 4],
            SUPPLIERS[i % 5],
            COST_CENTERS[site],
            Decimal(100 + (i % 37) * 25),
            state,
            submitted,
            submitted + timedelta(seconds=cycle) if state == "po_created" else None,
        )
        if state == "stopped":
            spec.stop_rule = "blocked_supplier" if i % 40 == 19 else "hard_budget_stop"
        touchless = state == "po_created" and i % 3 == 0
        if not touchless and state != "stopped":
            took = (i * 31) % 5000 + 1
            decided = submitted + timedelta(seconds=took) if state != "pending_approval" else None
            step = {
                "stage": "Site approval" if i % 2 else "Regional operations",
                "approver": APPROVERS[i % 3],
                "activated": submitted,
                "decided": decided,
                "state": {"pending_approval": "pending", "rejected": "rejected"}.get(state, "approved"),
                "escalate_to": {"next_level": True} if i % 2 == 0 else None,
                "on_behalf_of": "james.carter" if i % 11 == 0 and state != "pending_approval" else None,
                "escalated": i % 7 == 0 and state != "pending_approval",
            }
            if step["escalated"]:
                # the first approver let the SLA run out; the escalation target decided instead
                step["state"] = "escalated"
                step["on_behalf_of"] = None
                spec.steps.append(step)
                spec.steps.append(
                    {
                        "stage": step["stage"],
                        "approver": "marcus.bell",
                        "activated": step["decided"],
                        "decided": step["decided"] + timedelta(seconds=600),
                        "state": "rejected" if state == "rejected" else "approved",
                        "escalate_to": None,
                        "on_behalf_of": None,
                        "escalated": False,
                        "from_first": True,
                    }
                )
            else:
                spec.steps.append(step)
            spec.asked_info = i % 13 == 0
        if state == "po_created" and i % 50 == 1:
            spec.po_failed_at = submitted + timedelta(seconds=30)
        specs.append(spec)
    return specs


def load(engine: Engine, specs: list[Spec]) -> None:
    """Write the history: requisitions, steps, questions, POs and the ERP's dead letters."""
    reqs, pos, infos, events = [], [], [], []
    for s in specs:
        decided = max((st["decided"] for st in s.steps if st["decided"]), default=None)
        reqs.append(
            dict(
                id=s.i + 1,
                number=s.number,
                title=f"item {s.i}",
                requester="jake.miller",
                site=s.site,
                cost_center=s.cost_center,
                supplier=s.supplier,
                currency="USD",
                total=s.amount,
                amount=s.amount,
                category=s.category,
                item_type="mro",
                urgency="standard",
                recurring=False,
                justification="",
                state=s.state,
                route={"rule_id": s.stop_rule} if s.stop_rule else {},
                facts={},
                current_stage=0,
                round=0,
                version=1,
                surface="api",
                created_at=s.submitted_at,
                updated_at=s.submitted_at,
                submitted_at=s.submitted_at,
                decided_at=decided,
            )
        )
        if s.po_created_at:
            pos.append(
                dict(
                    requisition_number=s.number,
                    connector="sandbox",
                    erp_id=f"e{s.i}",
                    po_number=f"PO{s.i}",
                    status="open",
                    received_fraction=Decimal(0),
                    created_at=s.po_created_at,
                    status_at=s.po_created_at,
                )
            )
        if s.asked_info:
            infos.append(
                dict(
                    requisition_id=s.i + 1,
                    asked_by=APPROVERS[s.i % 3],
                    question="why?",
                    asked_at=s.submitted_at,
                    state="answered",
                )
            )
        if s.po_failed_at:
            events.append(
                dict(
                    seq=len(events) + 1,
                    at=s.po_failed_at,
                    kind="po_failed",
                    actor="erp",
                    surface="erp",
                    requisition_number=s.number,
                    prev_hash="0" * 64,
                    hash=f"{len(events):064d}",
                )
            )
    # a requisition still in draft, and one from long before the window, count nowhere
    reqs.append(dict(reqs[0], id=len(specs) + 1, number="PR-1", state="draft", submitted_at=None))
    reqs.append(dict(reqs[0], id=len(specs) + 2, number="PR-2", submitted_at=T0 - timedelta(days=400)))
    with engine.begin() as conn:
        conn.execute(R.insert(), reqs)
        step_id = 0
        for s in specs:
            first_id = None
            for st in s.steps:
                step_id += 1
                conn.execute(
                    S.insert(),
                    [
                        dict(
                            id=step_id,
                            requisition_id=s.i + 1,
                            round=0,
                            stage_index=0,
                            stage_name=st["stage"],
                            mode="any",
                            required=1,
                            approver=st["approver"],
                            acting=st["approver"],
                            state=st["state"],
                            rule_id="r",
                            explanation="why",
                            sla_hours=Decimal(24),
                            escalate_to=st["escalate_to"],
                            escalation="add",
                            check_limits=True,
                            escalated_from=first_id if st.get("from_first") else None,
                            activated_at=st["activated"],
                            decided_at=st["decided"],
                            decided_by=st["approver"] if st["state"] in ("approved", "rejected") else None,
                            on_behalf_of=st["on_behalf_of"],
                        )
                    ],
                )
                first_id = first_id or step_id
        for table, rows in ((PO, pos), (INFO, infos), (A, events)):
            if rows:
                conn.execute(table.insert(), rows)


# ---------------------------------------------------------------------------------- the answers, by hand


def nearest_rank(values: list[int], p: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


def human_steps(specs: list[Spec]) -> list[tuple[Spec, dict]]:
    return [(s, st) for s in specs for st in s.steps if st["state"] in ("approved", "rejected")]

"""Back-test of the SLA-risk prediction on a generated history with known patterns, against a naive baseline.

Twenty weeks of approvals for eleven approvers in Dallas business time (weekends and Texas holidays
skipped): fast ones (about 1.5 business hours), ordinary ones (about 5), two who are slow on what
arrives on Fridays (about 2 business days), one who is away for a week without telling anyone
(no out-of-office: only their silence shows it), and two whose queue piles up in surge weeks and who
slow down as it does. SLAs are 24 business hours (site approval) or 16 (finance).

The predictor (approvals/sla_risk.py) is refitted each morning on the steps decided before it, and
asked about every step of the last ten weeks when it arrives and every two business hours after,
until it is decided or its SLA runs out (when the escalation is due). A step is alerted the first
time its chance reaches the threshold. The baseline alerts every step still undecided when half its
SLA has gone. For each: precision and recall of the alerts against the steps that really missed
their SLA, and how many business hours before the escalation a correct alert came (the median, and
the lead 90% of correct alerts reach).

    .venv/bin/python bench/sla_risk.py [--seed 7] [--weeks 20] [--thresholds 0.3 0.5 0.7]

Pure Python, no database; a run takes a few seconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from approvals.directory import holiday_calendar, time_zone  # noqa: E402
from approvals.scheduling.calendar import BusinessCalendar  # noqa: E402
from approvals.sla_risk import OpenStep, PastStep, Predictor, Situation  # noqa: E402

CAL = BusinessCalendar(time_zone("America/Chicago"), holiday_calendar("US", "TX"))
START = datetime(2026, 6, 1, 8, 0, tzinfo=CAL.tz)  # a Monday
EVAL_EVERY = 2.0  # business hours between two looks at a pending step
SURGE_WEEKS = (7, 12, 16)
AWAY_WEEK = 14


@dataclass(frozen=True)
class Approver:
    id: str
    kind: str  # fast, normal, friday, away, queue
    median: float  # business hours


APPROVERS = [
    Approver("fast.1", "fast", 1.5),
    Approver("fast.2", "fast", 1.5),
    Approver("fast.3", "fast", 2.0),
    Approver("normal.1", "normal", 5.0),
    Approver("normal.2", "normal", 5.0),
    Approver("normal.3", "normal", 6.0),
    Approver("friday.1", "friday", 4.0),
    Approver("friday.2", "friday", 4.0),
    Approver("away.1", "away", 4.0),
    Approver("queue.1", "queue", 2.5),
    Approver("queue.2", "queue", 2.5),
]


@dataclass
class Step:
    id: int
    person: str
    kind: str
    stage: str
    amount: Decimal
    sla: float
    arrived: datetime
    deadline: datetime
    decided: datetime = field(default=START)
    queue: int = 0

    @property
    def late(self) -> bool:
        return self.decided > self.deadline


def hours(a: datetime, b: datetime) -> float:
    return CAL.between(a, b).total_seconds() / 3600


def generate(rng: random.Random, weeks: int) -> list[Step]:
    """Arrivals in business time, and each step's decision by its approver's pattern."""
    steps: list[Step] = []
    end = START + timedelta(weeks=weeks)
    away_from = START + timedelta(weeks=AWAY_WEEK)
    away_to = away_from + timedelta(days=7)
    for a in APPROVERS:
        at = CAL.next_working(START)
        pending: list[Step] = []
        while at < end:
            week = (at - START).days // 7
            rate = 0.25 if a.kind != "queue" else (1.3 if week in SURGE_WEEKS else 0.2)
            at = CAL.add(at, rng.expovariate(rate))
            if at >= end:
                break
            pending = [s for s in pending if s.decided > at]
            finance = rng.random() < 0.3
            sla = 16.0 if finance else 24.0
            step = Step(
                len(steps) + 1,
                a.id,
                a.kind,
                "Finance" if finance else "Site approval",
                Decimal(rng.randint(20_000, 80_000) if finance else rng.randint(300, 9_000)),
                sla,
                at,
                CAL.add(at, sla),
                queue=len(pending),
            )
            median = a.median
            if a.kind == "friday" and at.astimezone(CAL.tz).weekday() == 4:
                median = 20.0
            if a.kind == "queue":
                median *= 1 + 0.6 * len(pending)
            if finance:
                median *= 1.3
            took = median * rng.lognormvariate(0, 0.6 if a.kind != "friday" else 0.4)
            decided = CAL.add(at, took)
            if a.kind == "away" and at < away_to and decided > away_from:
                # nothing moves while they are away; then the backlog, a little slower than usual
                done_before = hours(at, away_from) if at < away_from else 0.0
                decided = CAL.add(away_to, max(0.5, took - done_before) * 1.5)
            step.decided = decided
            steps.append(step)
            pending.append(step)
    return sorted(steps, key=lambda s: s.arrived)


def situation(step: Step, now: datetime, mine: list[Step]) -> Situation:
    waiting = [s for s in mine if s.arrived <= now < s.decided]
    decided = [s.decided for s in mine if s.decided <= now]
    oldest = min((s.arrived for s in waiting), default=now)
    since = max(oldest, max(decided, default=oldest))
    return Situation(queue=max(0, len(waiting) - 1), idle_hours=hours(since, now) if since < now else 0.0)


@dataclass
class Outcome:
    alerted: set[int] = field(default_factory=set)
    lead: dict[int, float] = field(default_factory=dict)  # business hours before the escalation


def backtest(steps: list[Step], eval_from: datetime, thresholds: list[float]) -> tuple[dict[float, Outcome], Outcome]:
    by_person: dict[str, list[Step]] = {}
    for s in steps:
        by_person.setdefault(s.person, []).append(s)
    ours = {t: Outcome() for t in thresholds}
    baseline = Outcome()
    models: dict[object, Predictor] = {}
    for step in (s for s in steps if s.arrived >= eval_from):
        half = CAL.add(step.arrived, step.sla / 2)
        if step.decided > half:
            baseline.alerted.add(step.id)
            baseline.lead[step.id] = step.sla / 2
        look = step.arrived
        while look < min(step.decided, step.deadline):
            day = look.astimezone(CAL.tz).date()
            model = models.get(day)
            if model is None:
                morning = datetime.combine(day, CAL.hours.start, tzinfo=CAL.tz)
                past = [
                    PastStep(s.person, s.arrived, hours(s.arrived, s.decided), s.stage, s.amount, s.queue)
                    for s in steps
                    if s.decided <= morning
                ]
                model = models[day] = Predictor(past, calendar_for=lambda _: CAL)
            open_step = OpenStep(
                step.id, f"PR-{step.id}", step.person, step.person, step.stage, step.amount,
                step.arrived, step.deadline, step.sla,
            )  # fmt: skip
            risk = model.assess(open_step, situation(step, look, by_person[step.person]), look)
            for t, out in ours.items():
                if step.id not in out.alerted and risk.probability >= t and risk.hours_left > 0:
                    out.alerted.add(step.id)
                    out.lead[step.id] = risk.hours_left
            look = CAL.add(look, EVAL_EVERY)
    return ours, baseline


def figures(out: Outcome, late: set[int]) -> tuple[float, float, float, float, int]:
    hit = out.alerted & late
    precision = len(hit) / len(out.alerted) if out.alerted else 0.0
    recall = len(hit) / len(late) if late else 0.0
    leads = sorted(out.lead[i] for i in hit)
    median = statistics.median(leads) if leads else 0.0
    early = leads[int(0.1 * (len(leads) - 1))] if leads else 0.0  # 90% of correct alerts came at least this early
    return precision, recall, median, early, len(out.alerted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    steps = generate(rng, args.weeks)
    eval_from = START + timedelta(weeks=args.weeks // 2)
    tested = [s for s in steps if s.arrived >= eval_from]
    late = {s.id for s in tested if s.late}
    print(
        f"{len(steps)} steps in {args.weeks} weeks, {len(APPROVERS)} approvers; back-tested on the last "
        f"{args.weeks - args.weeks // 2} weeks: {len(tested)} steps, {len(late)} missed their SLA "
        f"({len(late) / max(1, len(tested)):.0%})"
    )
    ours, baseline = backtest(steps, eval_from, args.thresholds)
    print(f"{'alert':<28}{'alerts':>7}{'precision':>11}{'recall':>8}{'lead median':>13}{'lead, 90% >=':>14}")
    rows = [(f"predictor, chance >= {t:.0%}", ours[t]) for t in args.thresholds]
    rows.append(("baseline, 50% of SLA gone", baseline))
    for label, out in rows:
        p, r, med, p90, n = figures(out, late)
        print(f"{label:<28}{n:>7}{p:>11.0%}{r:>8.0%}{med:>11.1f} h{p90:>12.1f} h")
    print("lead: business hours between a correct alert and the SLA escalation (90% of correct alerts came at least")
    print("that early); the baseline's recall is 100% by construction: a step that misses its SLA is still pending")
    print("when half of it has gone")
    if 0.5 in ours:
        sla = {s.id: s.sla for s in tested}
        first = {i for i, lead in ours[0.5].lead.items() if abs(lead - sla[i]) < 0.01}
        print(
            f"at 50%, alerted the moment the step arrived: {len(first)} steps, "
            f"{len(first & late) / max(1, len(first)):.0%} of them really late"
        )
    print("recall by pattern at the 50% threshold (predictor / baseline):")
    for kind in ("fast", "normal", "friday", "away", "queue"):
        misses = {s.id for s in tested if s.late and s.kind == kind}
        if not misses:
            print(f"  {kind:<8} no step missed its SLA")
            continue
        mine = len(ours[0.5].alerted & misses) / len(misses) if 0.5 in ours else 0.0
        base = len(baseline.alerted & misses) / len(misses)
        print(f"  {kind:<8} {len(misses):>4} late: {mine:.0%} / {base:.0%}")
    cost(steps)


def cost(steps: list[Step]) -> None:
    """What one half-hourly estimate costs the scheduler in the model itself (the database reads are apart)."""
    started = time.perf_counter()
    past = [PastStep(s.person, s.arrived, hours(s.arrived, s.decided), s.stage, s.amount, s.queue) for s in steps]
    counted = time.perf_counter() - started
    started = time.perf_counter()
    model = Predictor(past, calendar_for=lambda _: CAL)
    fitted = time.perf_counter() - started
    now = steps[-1].arrived
    sample = [s for s in steps[-200:]]
    started = time.perf_counter()
    for s in sample:
        model.assess(
            OpenStep(s.id, "PR", s.person, s.person, s.stage, s.amount, s.arrived, s.deadline, s.sla), Situation(), now
        )
    each = (time.perf_counter() - started) / len(sample)
    print(
        f"cost: business hours of {len(past):,} past steps {counted * 1000:.0f} ms, fitting {fitted * 1000:.0f} ms; "
        f"each pending step {each * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()

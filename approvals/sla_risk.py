"""SLA risk: the chance that a pending approval step is decided after its SLA, with the reasons in words.

Pure: no database, no clock, no network. Callers pass what happened before (`PastStep`: how many
business hours each past step stayed with the person who held it) and what is true now
(`OpenStep`, `Situation`); approvals/scheduling/risk.py loads both and acts on the answer.

The model, small enough to explain in a sentence per part:

1. **Turnaround.** A person's time to decide, in business hours, is log-normal. Its centre is an
   empirical-Bayes estimate: the person's own mean log turnaround shrunk towards the company's
   (`PRIOR_WEIGHT` pseudo-steps), then the weekday and the time of day the step arrived shrunk
   towards the person's, plus the stage's and the amount band's company-wide difference (shrunk
   towards none). A person with no history is the company; a company with none, `DEFAULT_HOURS`.
2. **Queue.** Each doubling of the requests waiting on the person above what usually waits on them
   when a step arrives makes them `QUEUE_SLOWDOWN` slower (a shift of the log turnaround).
3. **Breach.** The chance the step is still undecided at its SLA given that it is undecided now:
   S(SLA) / S(elapsed), where S mixes that log-normal with a stalled one (stalled steps take
   `STALL_FACTOR` times longer; their share is the person's own, shrunk towards the company's): a step
   already much older than the person's habit is likely stalled.
4. **Absence.** On the log-odds of that chance: `IDLE_WEIGHT` when the person has decided nothing for
   longer than usual while requests waited on them, `AWAY_WEIGHT` when an out-of-office (a
   delegation window of theirs) covers part of the time left, `SNOOZE_WEIGHT` when they snoozed
   this step's reminder.

The reasons are the parts that pushed the chance up, most telling first, and always the time left.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Callable, Iterable, Sequence

from approvals.scheduling.calendar import BusinessCalendar

MODEL_VERSION = "sla-risk-1"
DEFAULT_THRESHOLD = 0.5  # alert at a 50% or higher chance of being late (PROCUREBOT_SLA_RISK_THRESHOLD)
PRIOR_WEIGHT = 4.0  # pseudo-steps of the company a person's estimate is shrunk towards
CONTEXT_WEIGHT = 1.0  # pseudo-steps of the person a weekday's or a time of day's estimate is shrunk towards
FLOOR = 0.01  # no step is ever certain to be on time: absence signals add to this at least
STALL_SHARE = 0.1  # the share of steps that stall (something came up), before the company has a history ...
STALL_FACTOR = 10.0  # ... stalled steps take about ten times the person's usual time
STALLED_AT = 4.0  # a past step that took four times its holder's usual time counts as stalled
STALL_WEIGHT = 10.0  # pseudo-steps of the company's stall share a person's is shrunk towards
STALL_SIGMA = 1.0
DEFAULT_HOURS = 6.0  # the company's typical turnaround before it has any history
DEFAULT_SIGMA = 1.0
MIN_HOURS = 0.25  # a decision within minutes counts as a quarter hour (log of zero)
QUEUE_SLOWDOWN = 0.4  # log-turnaround added per doubling of the queue above the usual
IDLE_WEIGHT = 3.0  # log-odds added when the person seems absent (times how long, up to twice the limit)
AWAY_WEIGHT = 1.5  # ... when an out-of-office covers part of the time left
SNOOZE_WEIGHT = 0.8  # ... when they snoozed this step's reminder
IDLE_MIN_HOURS = 9.0  # never call someone absent after less than a working day without a decision
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
AMOUNT_BANDS = (Decimal(1_000), Decimal(10_000), Decimal(50_000))


@dataclass(frozen=True)
class PastStep:
    """One past step as the model sees it: who held it, when it arrived, how long it stayed with them."""

    person: str
    activated_at: datetime
    hours: float  # business hours from arrival to decision, in the person's calendar
    stage: str = ""
    amount: Decimal = Decimal(0)
    queue: int = 0  # steps waiting on the person when this one arrived (this one not counted)


@dataclass(frozen=True)
class OpenStep:
    """A pending step now."""

    step_id: int
    number: str
    person: str  # who holds it (the approver, or their delegate)
    approver: str
    stage: str
    amount: Decimal
    activated_at: datetime
    deadline: datetime  # when its SLA runs out (and the escalation is due)
    sla_hours: float
    requester: str = ""


@dataclass(frozen=True)
class Situation:
    """What is known about the person holding a step, now."""

    queue: int = 0  # steps waiting on them, this one not counted
    idle_hours: float = 0.0  # business hours without a decision of theirs while something waited on them
    snoozed: bool = False  # they snoozed this step's reminder
    away_from: datetime | None = None  # the start of an out-of-office of theirs before the deadline
    away_until: datetime | None = None


@dataclass(frozen=True)
class Risk:
    """The answer for one step: a probability and the reasons, in words."""

    step_id: int
    probability: float
    reasons: tuple[str, ...]
    hours_left: float  # business hours until the SLA runs out
    typical_hours: float  # the person's expected turnaround for a step like this one
    factors: dict[str, float] = field(default_factory=dict, compare=False)  # each part's contribution, for audit

    def at_risk(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        return self.probability >= threshold and self.hours_left > 0


def _log(hours: float) -> float:
    return math.log(max(hours, MIN_HOURS))


def _shrunk(values: Sequence[float], towards: float, weight: float = PRIOR_WEIGHT) -> float:
    return (sum(values) + weight * towards) / (len(values) + weight)


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def day_part(local_hour: int) -> str:
    """The part of the working day a step arrives in."""
    return "morning" if local_hour < 11 else ("midday" if local_hour < 14 else "afternoon")


def amount_band(amount: Decimal) -> int:
    return sum(1 for edge in AMOUNT_BANDS if amount >= edge)


def in_words(hours: float, day_hours: float = 9.0) -> str:
    """A business duration as people say it: '40 minutes', '3 business hours', '2 business days'."""
    if hours < 1:
        minutes = max(1, round(hours * 60 / 5) * 5)
        return f"{minutes} minutes"
    if hours < day_hours * 1.5:
        h = round(hours)
        return f"{h} business hour{'s' if h != 1 else ''}"
    days = round(hours / day_hours * 2) / 2
    text = f"{days:g}"
    return f"{text} business days"


@dataclass
class _Person:
    mu: float
    sigma: float
    n: int
    stall: float
    usual_queue: float
    by_weekday: dict[int, float]
    weekday_n: dict[int, int]
    by_part: dict[str, float]


class Predictor:
    """Estimates fitted once from a history; `assess` is then cheap for every open step."""

    def __init__(
        self,
        history: Iterable[PastStep],
        *,
        calendar_for: Callable[[str], BusinessCalendar],
        name_of: Callable[[str], str] = lambda p: p,
    ) -> None:
        self.calendar_for = calendar_for
        self.name_of = name_of
        past = list(history)
        logs = [_log(p.hours) for p in past]
        self.mu0 = statistics.fmean(logs) if len(logs) >= 5 else math.log(DEFAULT_HOURS)
        self.sigma0 = _clip_sigma(statistics.pstdev(logs)) if len(logs) >= 5 else DEFAULT_SIGMA
        by_person: dict[str, list[PastStep]] = {}
        for p in past:
            by_person.setdefault(p.person, []).append(p)
        self.people = {person: self._fit_person(person, steps) for person, steps in by_person.items()}
        # stalled: took STALLED_AT times the holder's usual time; the company's share, then each person's shrunk to it
        stalls = {
            person: sum(1 for q in steps if _log(q.hours) > self.people[person].mu + math.log(STALLED_AT))
            for person, steps in by_person.items()
        }
        self.stall0 = (sum(stalls.values()) + STALL_WEIGHT * STALL_SHARE) / (len(past) + STALL_WEIGHT)
        for person, fitted in self.people.items():
            fitted.stall = (stalls[person] + STALL_WEIGHT * self.stall0) / (fitted.n + STALL_WEIGHT)
        # company-wide differences by stage and by amount band, net of who held the step
        residual_stage: dict[str, list[float]] = {}
        residual_band: dict[int, list[float]] = {}
        for p in past:
            r = _log(p.hours) - self.people[p.person].mu
            residual_stage.setdefault(p.stage, []).append(r)
            residual_band.setdefault(amount_band(p.amount), []).append(r)
        self.stage_shift = {k: _shrunk(v, 0.0) for k, v in residual_stage.items()}
        self.band_shift = {k: _shrunk(v, 0.0) for k, v in residual_band.items()}

    def _fit_person(self, person: str, steps: list[PastStep]) -> _Person:
        cal = self.calendar_for(person)
        logs = [_log(s.hours) for s in steps]
        mu = _shrunk(logs, self.mu0)
        weekday: dict[int, list[float]] = {}
        part: dict[str, list[float]] = {}
        for s, x in zip(steps, logs):
            local = s.activated_at.astimezone(cal.tz)
            weekday.setdefault(local.weekday(), []).append(x)
            part.setdefault(day_part(local.hour), []).append(x)
        # the spread around each weekday's own mean: a habit (slow on Fridays) is not noise
        means = {d: statistics.fmean(v) for d, v in weekday.items()}
        local_days = [s.activated_at.astimezone(cal.tz).weekday() for s in steps]
        spread = sum((x - means[d]) ** 2 for x, d in zip(logs, local_days))
        sigma = _clip_sigma(math.sqrt((spread + PRIOR_WEIGHT * self.sigma0**2) / (len(logs) + PRIOR_WEIGHT)))
        return _Person(
            mu=mu,
            sigma=sigma,
            n=len(steps),
            stall=STALL_SHARE,
            usual_queue=statistics.median([s.queue for s in steps]),
            by_weekday={d: _shrunk(v, mu, CONTEXT_WEIGHT) - mu for d, v in weekday.items()},
            weekday_n={d: len(v) for d, v in weekday.items()},
            by_part={k: _shrunk(v, mu, CONTEXT_WEIGHT) - mu for k, v in part.items()},
        )

    def assess(self, step: OpenStep, situation: Situation, now: datetime) -> Risk:
        """The chance `step` is decided after its deadline, and why."""
        cal = self.calendar_for(step.person)
        day_hours = _day_hours(cal)
        left = cal.between(now, step.deadline).total_seconds() / 3600 if now < step.deadline else 0.0
        elapsed = max(0.0, step.sla_hours - left)
        person = self.people.get(step.person)
        local = step.activated_at.astimezone(cal.tz)
        name = self.name_of(step.person)
        first = name.split()[0] if name else step.person
        factors: dict[str, float] = {}
        reasons: list[tuple[float, str]] = []
        if person is None:
            mu, sigma, usual_queue, stall = self.mu0, self.sigma0, 0.0, self.stall0
        else:
            mu, sigma, usual_queue, stall = person.mu, person.sigma, person.usual_queue, person.stall
            wd = person.by_weekday.get(local.weekday(), 0.0)
            factors["weekday"] = wd
            factors["day_part"] = person.by_part.get(day_part(local.hour), 0.0)
            mu += wd + factors["day_part"]
            typical_day = math.exp(person.mu + wd)
            if wd > math.log(1.5) and person.weekday_n.get(local.weekday(), 0) >= 2:
                reasons.append(
                    (
                        wd,
                        f"{name} usually takes {in_words(typical_day, day_hours)} on {WEEKDAYS[local.weekday()]}s",
                    )
                )
            elif person.mu > math.log(max(step.sla_hours, 1) / 2):
                reasons.append(
                    (person.mu - self.mu0, f"{name} usually takes {in_words(math.exp(person.mu), day_hours)}")
                )
        factors["stage"] = self.stage_shift.get(step.stage, 0.0)
        factors["amount"] = self.band_shift.get(amount_band(step.amount), 0.0)
        mu += factors["stage"] + factors["amount"]
        if factors["stage"] > math.log(1.3) and step.stage:
            reasons.append((factors["stage"], f"the {step.stage} stage usually takes longer"))
        if factors["amount"] > math.log(1.3):
            reasons.append((factors["amount"], "requests of this size usually take longer"))
        queue_shift = QUEUE_SLOWDOWN * math.log2((situation.queue + 1) / (usual_queue + 1))
        factors["queue"] = queue_shift
        mu += queue_shift
        if situation.queue >= 2 and queue_shift > 0.1:
            reasons.append((queue_shift, f"{situation.queue + 1} requests are waiting on {first}"))
        stall_mu = mu + math.log(STALL_FACTOR)

        def survive(hours: float) -> tuple[float, float]:
            if hours <= 0:
                return 1 - stall, stall
            usual = _normal_sf((_log(hours) - mu) / sigma)
            stalled = _normal_sf((_log(hours) - stall_mu) / STALL_SIGMA)
            return (1 - stall) * usual, stall * stalled

        usual_now, stalled_now = survive(elapsed)
        usual_sla, stalled_sla = survive(step.sla_hours)
        p = 1.0 if left <= 0 else min(1.0, (usual_sla + stalled_sla) / max(usual_now + stalled_now, 1e-12))
        if left > 0 and stalled_now > usual_now and elapsed >= 1:
            reasons.append(
                (
                    math.log(stalled_now / max(usual_now, 1e-12)),
                    f"it has waited {in_words(elapsed, day_hours)}, longer than {first} usually takes",
                )
            )
        z = _logit(max(p, FLOOR))
        factors["turnaround"] = p
        idle_limit = max(IDLE_MIN_HOURS, 3 * math.exp(mu))
        if situation.idle_hours >= idle_limit:
            weight = IDLE_WEIGHT * min(2.0, situation.idle_hours / idle_limit)
            z += weight
            factors["idle"] = weight
            reasons.append(
                (IDLE_WEIGHT, f"{first} has decided nothing for {in_words(situation.idle_hours, day_hours)}")
            )
        if situation.away_from is not None:
            z += AWAY_WEIGHT
            factors["away"] = AWAY_WEIGHT
            when = "is out" if situation.away_from <= now else f"is out from {_day(situation.away_from, cal)}"
            until = f" until {_day(situation.away_until, cal)}" if situation.away_until else ""
            reasons.append((AWAY_WEIGHT, f"{first} {when}{until}"))
        if situation.snoozed:
            z += SNOOZE_WEIGHT
            factors["snoozed"] = SNOOZE_WEIGHT
            reasons.append((SNOOZE_WEIGHT, f"{first} snoozed the reminder"))
        probability = 1.0 if left <= 0 else _sigmoid(z)
        ordered = [text for _, text in sorted(reasons, key=lambda r: -r[0])]
        ordered.append("past its SLA" if left <= 0 else f"{in_words(left, day_hours)} left")
        return Risk(
            step.step_id,
            round(probability, 4),
            tuple(ordered),
            round(left, 2),
            round(math.exp(mu), 2),
            factors,
        )


def _clip_sigma(value: float) -> float:
    return min(max(value, 0.35), 2.0)


def _day_hours(cal: BusinessCalendar) -> float:
    start, end = cal.hours.start, cal.hours.end
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) / 60 or 9.0


def _day(at: datetime, cal: BusinessCalendar) -> str:
    return at.astimezone(cal.tz).strftime("%a %b %d")


def sentence(risk: Risk) -> str:
    """The reasons as one clause: 'Zoe Martin usually takes 2 business days on Fridays; 3 business hours left'."""
    return "; ".join(risk.reasons)

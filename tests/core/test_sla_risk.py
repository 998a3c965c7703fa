"""SLA-risk prediction on a fixed clock: the approver's own history, queue and absence, with the reasons in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from approvals.directory import holiday_calendar, time_zone
from approvals.scheduling.calendar import BusinessCalendar
from approvals.sla_risk import OpenStep, PastStep, Predictor, Situation, in_words
from tests.scheduling_support import dallas

CAL = BusinessCalendar(time_zone("America/Chicago"), holiday_calendar("US", "TX"))
NAMES = {"zoe.martin": "Zoe Martin", "maria.lopez": "Maria Lopez", "new.person": "New Person"}


def history(person: str, weeks: int, *, friday_hours: float, other_hours: float) -> list[PastStep]:
    """One step a working day for `weeks` weeks before Mon Nov 2 2026, arriving at 10:00."""
    out = []
    monday = dallas(2026, 11, 2, 10, 0) - timedelta(weeks=weeks)
    for day in range(weeks * 7):
        at = monday + timedelta(days=day)
        if at.weekday() >= 5:
            continue
        out.append(
            PastStep(person, at, friday_hours if at.weekday() == 4 else other_hours, "Site approval", Decimal(900))
        )
    return out


def predictor(*people: list[PastStep]) -> Predictor:
    return Predictor([s for p in people for s in p], calendar_for=lambda _: CAL, name_of=lambda p: NAMES.get(p, p))


def step(person: str, arrived: datetime, sla: float = 24, stage: str = "Site approval") -> OpenStep:
    return OpenStep(1, "PR-1042", person, person, stage, Decimal(900), arrived, CAL.add(arrived, sla), sla)


ZOE = history("zoe.martin", 8, friday_hours=24, other_hours=2)
MARIA = history("maria.lopez", 8, friday_hours=1.5, other_hours=1.5)


def test_an_approver_slow_on_fridays_is_at_risk_on_a_friday_and_not_on_a_tuesday():
    """Zoe takes 2 business days on what arrives on Fridays and 2 hours otherwise: with a 16-hour SLA, Friday's
    request is likely late and Tuesday's is not; the reason names her Friday habit."""
    model = predictor(ZOE, MARIA)
    friday = dallas(2026, 11, 6, 10, 0)
    risk = model.assess(step("zoe.martin", friday, sla=16), Situation(), friday)
    assert risk.at_risk() and risk.probability >= 0.6
    assert risk.reasons[0] == "Zoe Martin usually takes 2 business days on Fridays"
    assert risk.reasons[-1] == "2 business days left"
    tuesday = dallas(2026, 11, 3, 10, 0)
    assert model.assess(step("zoe.martin", tuesday, sla=16), Situation(), tuesday).probability < 0.2


def test_a_fast_approver_is_not_at_risk_and_risk_rises_as_time_runs_out():
    """Maria decides in about 90 minutes: her new step is safe; the same step still undecided with 1 business
    hour left is at risk, and says how long is left."""
    model = predictor(ZOE, MARIA)
    start = dallas(2026, 11, 3, 9, 0)
    fresh = model.assess(step("maria.lopez", start), Situation(), start)
    assert fresh.probability < 0.05 and not fresh.at_risk()
    late = start + timedelta(days=2, hours=5)  # Thursday 14:00: 23 of 24 business hours gone
    stale = model.assess(step("maria.lopez", start), Situation(), late)
    assert stale.at_risk() and stale.reasons[-1] == "1 business hour left"
    assert "it has waited 2.5 business days, longer than Maria usually takes" in stale.reasons


def test_a_queue_piling_up_and_an_absence_raise_the_risk_with_their_reasons():
    """Five requests waiting on Maria, who usually has none, and no decision from her for two days: likely late,
    and the card says both."""
    model = predictor(ZOE, MARIA)
    now = dallas(2026, 11, 4, 10, 0)
    calm = model.assess(step("maria.lopez", now, sla=8), Situation(), now)
    busy = model.assess(step("maria.lopez", now, sla=8), Situation(queue=4), now)
    away = model.assess(step("maria.lopez", now, sla=8), Situation(queue=4, idle_hours=18), now)
    assert calm.probability < busy.probability < away.probability
    assert away.at_risk()
    assert "5 requests are waiting on Maria" in away.reasons
    assert "Maria has decided nothing for 2 business days" in away.reasons


def test_an_out_of_office_and_a_snooze_are_reasons():
    """Maria's out-of-office starts tomorrow, before the SLA ends, and she snoozed the reminder: both said."""
    model = predictor(ZOE, MARIA)
    now = dallas(2026, 11, 4, 10, 0)
    risk = model.assess(
        step("maria.lopez", now),
        Situation(snoozed=True, away_from=dallas(2026, 11, 5, 0, 0), away_until=dallas(2026, 11, 13, 0, 0)),
        now,
    )
    assert "Maria is out from Thu Nov 05 until Fri Nov 13" in risk.reasons
    assert "Maria snoozed the reminder" in risk.reasons
    assert risk.probability > model.assess(step("maria.lopez", now), Situation(), now).probability


def test_someone_with_no_history_is_judged_like_the_company():
    """A new approver's estimate is the company's typical turnaround, not a guess of zero or infinity."""
    model = predictor(ZOE, MARIA)
    now = dallas(2026, 11, 4, 10, 0)
    risk = model.assess(step("new.person", now), Situation(), now)
    assert 0 < risk.probability < 0.5
    assert 1 < risk.typical_hours < 10
    assert Predictor([], calendar_for=lambda _: CAL).assess(step("new.person", now), Situation(), now).probability < 0.5


def test_a_step_past_its_sla_is_certain():
    """Past the SLA the chance is 1 and the reason says so (the escalation is already due)."""
    model = predictor(MARIA)
    start = dallas(2026, 11, 3, 9, 0)
    risk = model.assess(step("maria.lopez", start, sla=8), Situation(), start + timedelta(days=3))
    assert risk.probability == 1.0 and risk.reasons[-1] == "past its SLA" and not risk.at_risk()


def test_durations_read_as_people_say_them():
    """Minutes, business hours and business days, as the reasons print them."""
    assert [in_words(h) for h in (0.3, 1, 3.2, 13, 20, 40)] == [
        "20 minutes",
        "1 business hour",
        "3 business hours",
        "13 business hours",
        "2 business days",
        "4.5 business days",
    ]

"""Business time: a person's working hours in their time zone, minus weekends and their site's holidays.

SLA clocks and reminders count business hours only: a 24-hour SLA started on Friday at 15:00
in Dallas (08:00-17:00 workdays) runs 2 hours on Friday, 9 on Monday, 9 on Tuesday and ends
Wednesday at 12:00, later still if a public holiday falls in between. Notices that are not
reminders (an escalation, a delegation starting) only avoid quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from approvals.directory import Directory, holiday_calendar, time_zone

MAX_DAYS_SEARCHED = 800  # a calendar with no working day in two years is a configuration error


@dataclass(frozen=True)
class WorkingHours:
    """When people work and when they must not be disturbed, in their own local time."""

    start: time = time(8, 0)
    end: time = time(17, 0)
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    quiet_start: time = time(20, 0)
    quiet_end: time = time(7, 0)

    @classmethod
    def parse(cls, hours: str = "08:00-17:00", quiet: str = "20:00-07:00") -> "WorkingHours":
        """'08:00-17:00' working hours and '20:00-07:00' quiet hours; refuses anything else clearly."""
        start, end = _span(hours, "working hours")
        if end <= start:
            raise ValueError(f"working hours {hours!r} must end after they start, e.g. 08:00-17:00")
        quiet_start, quiet_end = _span(quiet, "quiet hours")
        return cls(start, end, (0, 1, 2, 3, 4), quiet_start, quiet_end)


def _span(text: str, what: str) -> tuple[time, time]:
    try:
        a, b = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"{what} must look like 08:00-17:00, not {text!r}") from None
    return a, b


@dataclass(frozen=True)
class BusinessCalendar:
    """One person's business time."""

    tz: ZoneInfo
    holidays: Any  # a holidays.HolidayBase: `date in holidays` is the test
    hours: WorkingHours = WorkingHours()

    def _local(self, at: datetime) -> datetime:
        return at.astimezone(self.tz)

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.tz)

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.hours.workdays and day not in self.holidays

    def is_working(self, at: datetime) -> bool:
        local = self._local(at)
        return self.is_workday(local.date()) and self.hours.start <= local.time() < self.hours.end

    def next_working(self, at: datetime) -> datetime:
        """``at`` if it is within working hours, else the start of the next working period."""
        local = self._local(at)
        day = local.date()
        for _ in range(MAX_DAYS_SEARCHED):
            if self.is_workday(day):
                start, end = self._at(day, self.hours.start), self._at(day, self.hours.end)
                if local < end:
                    return max(local, start).astimezone(at.tzinfo)
            day += timedelta(days=1)
            local = self._at(day, time(0))
        raise ValueError("this calendar has no working day in the next two years; check workdays and holidays")

    def next_day_start(self, at: datetime) -> datetime:
        """The start of the first working day that begins at or after ``at`` (a morning digest)."""
        local = self._local(at)
        day = local.date() if local.time() <= self.hours.start else local.date() + timedelta(days=1)
        return self.next_working(self._at(day, time(0))).astimezone(at.tzinfo)

    def add(self, at: datetime, hours: Decimal | float | int) -> datetime:
        """The moment ``hours`` business hours after ``at``."""
        remaining = timedelta(hours=float(hours))
        current = self.next_working(at)
        while True:
            end = self._at(self._local(current).date(), self.hours.end)
            available = end - current
            if remaining <= available:
                return (current + remaining).astimezone(at.tzinfo)
            remaining -= available
            current = self.next_working(end)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed from ``start`` to ``end`` (zero if end is earlier)."""
        total = timedelta(0)
        current = self.next_working(start)
        while current < end:
            day_end = self._at(self._local(current).date(), self.hours.end)
            total += min(day_end, end) - current
            current = self.next_working(day_end)
        return total

    def is_quiet(self, at: datetime) -> bool:
        t = self._local(at).time()
        qs, qe = self.hours.quiet_start, self.hours.quiet_end
        return (qs <= t or t < qe) if qs > qe else (qs <= t < qe)

    def next_not_quiet(self, at: datetime) -> datetime:
        """``at``, or the end of the quiet hours it falls in."""
        if not self.is_quiet(at):
            return at
        local = self._local(at)
        day = local.date() if local.time() < self.hours.quiet_end else local.date() + timedelta(days=1)
        return self._at(day, self.hours.quiet_end).astimezone(at.tzinfo)


class Calendars:
    """Business calendars per person, from the directory: the person's time zone (else their site's),
    their site's public holidays (a person without a site uses the first site's)."""

    def __init__(self, directory: Directory, hours: WorkingHours | None = None) -> None:
        self.directory = directory
        self.hours = hours or WorkingHours()
        self._cache: dict[str, BusinessCalendar] = {}

    def for_person(self, person_id: str) -> BusinessCalendar:
        cal = self._cache.get(person_id)
        if cal is None:
            person = self.directory.person(person_id)
            site = (self.directory.site_by_code.get(person.site or "") if person else None) or self.directory.sites[0]
            tz_name = (person.timezone if person else None) or site.timezone
            cal = BusinessCalendar(time_zone(tz_name), holiday_calendar(site.country, site.subdivision), self.hours)
            self._cache[person_id] = cal
        return cal

"""A company directory with a calendar the scheduler could not use is refused when it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from approvals.directory import load_directory
from approvals.errors import DirectoryInvalid

COMPANY_FILE = Path(__file__).resolve().parents[2] / "examples" / "company.yaml"


def _load_with(tmp_path: Path, change) -> DirectoryInvalid:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(COMPANY_FILE.read_text())
    change(data)
    path = tmp_path / "company.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(DirectoryInvalid) as caught:
        load_directory(path)
    return caught.value


def _person(data: dict, person_id: str) -> dict:
    return next(p for p in data["people"] if p["id"] == person_id)


def _site(data: dict, code: str) -> dict:
    return next(s for s in data["sites"] if s["code"] == code)


def test_the_sample_company_loads():
    """The sample company's time zones and holiday calendars are all known, so it loads."""
    assert load_directory(COMPANY_FILE).site_by_code["DAL"].subdivision == "TX"


def test_a_person_with_an_unknown_time_zone_is_refused(tmp_path):
    """Maria's time zone is misspelled: loading stops and says whose zone and what a valid one looks like."""
    error = _load_with(tmp_path, lambda d: _person(d, "maria.lopez").update(timezone="America/Dalas"))
    assert error.problems == [
        "person maria.lopez: unknown time zone 'America/Dalas'; use an IANA name such as America/Chicago"
    ]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "America", "", "../../etc/passwd"])
def test_a_site_with_an_unknown_time_zone_is_refused(tmp_path, zone):
    """The Dallas site's time zone is not a real zone (or is a folder, or empty): loading names the site."""
    error = _load_with(tmp_path, lambda d: _site(d, "DAL").update(timezone=zone))
    assert error.problems == [f"site DAL: unknown time zone {zone!r}; use an IANA name such as America/Chicago"]


def test_a_site_in_a_country_without_a_holiday_calendar_is_refused(tmp_path):
    """A site in country 'XY' has no public holiday calendar: the message names the site and the country."""
    error = _load_with(tmp_path, lambda d: _site(d, "SEA").update(country="XY", subdivision=None))
    assert len(error.problems) == 1
    assert error.problems[0].startswith("site SEA: no public holiday calendar for country 'XY'")
    assert "ISO 3166" in error.problems[0]


def test_a_site_with_an_unknown_subdivision_is_refused(tmp_path):
    """Phoenix is filed under state 'AX' instead of 'AZ': the message names the site, the bad value and real ones."""
    error = _load_with(tmp_path, lambda d: _site(d, "PHX").update(subdivision="AX"))
    assert len(error.problems) == 1
    assert error.problems[0].startswith("site PHX: country US has no subdivision 'AX'; known: ")
    assert "AZ" in error.problems[0]


def test_every_calendar_problem_is_reported_at_once(tmp_path):
    """Three bad values in one file: all three are listed, so one edit fixes the file."""

    def change(d: dict) -> None:
        _person(d, "jake.miller").update(timezone="Central")
        _site(d, "ATL").update(timezone="Eastern")
        _site(d, "NJ").update(country="ZZ", subdivision=None)

    error = _load_with(tmp_path, change)
    joined = "\n".join(error.problems)
    assert len(error.problems) == 3, joined
    assert "person jake.miller: unknown time zone 'Central'" in joined
    assert "site ATL: unknown time zone 'Eastern'" in joined
    assert "site NJ: no public holiday calendar for country 'ZZ'" in joined

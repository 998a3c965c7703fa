"""The console's 'At risk' page: the steps likely to miss their SLA, with approver, chance, reasons and time left."""

from __future__ import annotations

from approvals.scheduling import risk
from tests.edges.test_console import console, sign_in  # noqa: F401  (the console fixture)
from tests.factories import submit
from tests.scheduling_support import dallas


def test_a_step_running_out_of_time_is_listed_with_its_reasons_for_admins_and_auditors(console, clock):  # noqa: F811
    """Jake's request has waited on Zoe since Monday 9:00; by Wednesday 14:00 one business hour is left: after the
    scheduler's estimate the page lists it with Zoe, the chance, why and the time left."""
    runtime = console.runtime
    clock.now = dallas(2026, 11, 2, 9, 0)
    number = runtime.service.submit(submit()).number
    sign_in(console, "auditor")
    assert "No pending step is likely to miss its SLA." in console.get("/console/risk").text
    clock.now = dallas(2026, 11, 4, 14, 0)
    done = risk.run(runtime.engine, runtime.directory, runtime.scheduler.calendars, clock())
    assert done.alerted == [number]
    page = console.get("/console/risk").text
    assert f'data-number="{number}"' in page and "Zoe Martin" in page
    assert "1 business hour" in page and "it has waited 2.5 business days, longer than Zoe usually takes" in page
    assert 'href="/console/risk" class=on' in page
    console.cookies.clear()
    sign_in(console, "admin")
    assert f'data-number="{number}"' in console.get("/console/risk").text

"""The console's 'At risk' page in a real headless Chromium at a phone's width."""

from __future__ import annotations

import pytest

from approvals.scheduling import risk
from tests.factories import submit
from tests.live import serving
from tests.processes.test_console_browser import sign_in
from tests.processes.test_web_browser import browser, chromium  # noqa: F401  (the shared Chromium fixtures)
from tests.scheduling_support import dallas


class Clock:
    def __init__(self) -> None:
        self.now = dallas(2026, 11, 2, 9, 0)

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def risky_console(tmp_path):  # type: ignore[no-untyped-def]
    """The real app with one request that has waited on Zoe since Monday and the scheduler's estimate made on
    Wednesday afternoon, when one business hour is left."""
    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings
    from bot.tokens import create_token

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'risk.db'}",
        env="dev",
        var_dir=tmp_path,
        session_secret="k" * 40,
        scheduler_enabled=False,
        _env_file=None,
    )
    clock = Clock()
    runtime = build_runtime(settings, clock=clock)
    number = runtime.service.submit(submit()).number
    clock.now = dallas(2026, 11, 4, 14, 0)
    risk.run(runtime.engine, runtime.directory, runtime.scheduler.calendars, clock())
    token = create_token(runtime.engine, name="auditor-person", role="auditor")
    with serving(create_app(settings, runtime=runtime)) as base:
        yield {"base": base, "token": token, "number": number}
    runtime.engine.dispose()


def test_an_auditor_reads_the_steps_at_risk_on_a_phone(risky_console, browser):  # noqa: F811
    """An auditor taps 'At risk' on a phone: the request, Zoe, the chance, why and the time left, readable
    without sideways scrolling, and the number opens the requisition."""
    base, number = risky_console["base"], risky_console["number"]
    page = browser.new_page()
    sign_in(page, base, risky_console["token"])
    page.wait_for_selector("h1:text('Dashboard')")
    page.click("nav >> text=At risk")
    page.wait_for_selector(f"li.risk[data-number='{number}']")
    card = page.locator(f"li.risk[data-number='{number}']")
    assert card.locator(".approver").inner_text() == "Zoe Martin"
    assert card.locator(".chance").inner_text().endswith("%")
    assert "longer than Zoe usually takes" in card.locator(".reasons").inner_text()
    assert card.locator(".left").inner_text().startswith("1 business hour")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    card.locator(f"a:text('{number}')").click()
    page.wait_for_selector("ol.timeline li")

"""The console's New suppliers page in a real headless Chromium, signed in through the local OpenID provider: a buyer
approves a pending request; someone who is not a buyer sees it but is refused a decision."""

from __future__ import annotations

import pytest
from fake_oidc import FakeOidc

from approvals import new_suppliers
from tests.live import free_port, serving
from tests.processes.test_console_sso_browser import IDP_HOST, sso_browser  # noqa: F401  (the SSO Chromium fixture)
from tests.processes.test_web_browser import chromium  # noqa: F401  (the shared Chromium fixture)

BEN = {"name": "Ben Turner", "preferred_username": "ben.turner@lonestar.example", "oid": "1a2b3c4d"}
PRIYA = {"name": "Priya Nair", "preferred_username": "priya.nair@lonestar.example", "oid": "9f8e7d6c"}


@pytest.fixture
def suppliers_console(tmp_path):  # type: ignore[no-untyped-def]
    """The real app on a local port, single sign-on through the fake provider with buyers and finance as auditors;
    Jake has asked to add Zoro Tools (SUP-1)."""
    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    port = free_port()
    redirect = f"http://127.0.0.1:{port}/console/login/oidc/callback"
    with FakeOidc([redirect]) as fake:
        fake.browser_url = fake.url.replace("127.0.0.1", IDP_HOST)
        fake.interactive = True
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'console.db'}",
            env="dev",
            var_dir=tmp_path,
            session_secret="k" * 40,
            oidc=fake.settings(redirect, auditors=["buyers", "finance_team", "cfo"]),
            _env_file=None,
        )
        runtime = build_runtime(settings)
        new_suppliers.ask(
            runtime.engine,
            runtime.directory,
            actor="jake.miller",
            name="Zoro Tools",
            email="orders@zoro.example",
            website="zoro.example",
            tax_id="12-3456789",
            document=None,
            store=runtime.service.attachment_store,
            now=runtime.service.clock(),
        )
        with serving(create_app(settings, runtime=runtime), port=port) as base:
            yield base, fake, runtime
        runtime.engine.dispose()


def _signed_in_on_suppliers(base: str, fake: FakeOidc, browser, user: dict[str, str]):  # type: ignore[no-untyped-def]
    fake.user = dict(user)
    page = browser.new_page()
    page.goto(base + "/console")
    page.click("#sign-in-sso")
    page.click("#idp-sign-in")  # on the provider's own page, another site
    page.wait_for_selector("h1:text('Dashboard')")
    page.goto(base + "/console/suppliers")
    page.locator(".supplier-request[data-number='SUP-1']").wait_for()
    return page


def test_a_buyer_approves_a_new_supplier_on_the_page_and_it_says_so(suppliers_console, sso_browser):  # noqa: F811
    """Ben, a buyer signed in with Microsoft, presses Approve on Zoro Tools and the page shows it approved by him."""
    base, fake, runtime = suppliers_console
    page = _signed_in_on_suppliers(base, fake, sso_browser, BEN)
    request = page.locator(".supplier-request[data-number='SUP-1']")
    assert "orders@zoro.example" in request.inner_text() and "Jake Miller" in request.inner_text()
    request.locator("button[value='approve']").click()
    page.wait_for_selector("text=SUP-1: Zoro Tools is approved and being created in the ERP.")
    decided = page.locator(".supplier-request[data-number='SUP-1']")
    assert "Ben Turner" in decided.inner_text() and decided.locator("button[value='approve']").count() == 0
    assert new_suppliers.get(runtime.engine, "SUP-1").state != "pending"


def test_someone_who_is_not_a_buyer_sees_the_request_and_is_refused_a_decision(suppliers_console, sso_browser):  # noqa: F811
    """Priya (finance) sees Zoro Tools with no Approve button, and a decision posted from her browser is refused."""
    base, fake, runtime = suppliers_console
    page = _signed_in_on_suppliers(base, fake, sso_browser, PRIYA)
    assert "Buyers decide" in page.inner_text("main") and page.locator("button[value='approve']").count() == 0
    page.evaluate(  # the form a buyer would see, posted with her own session's token
        """() => {
            const f = document.createElement('form');
            f.method = 'post';
            f.action = '/console/suppliers/SUP-1/decide';
            f.innerHTML = '<input name="decision" value="approve">';
            f.appendChild(document.querySelector('input[name="csrf"]').cloneNode());
            document.body.appendChild(f);
            f.submit();
        }"""
    )
    page.wait_for_selector("text=Only buyers can decide on new suppliers")
    assert new_suppliers.get(runtime.engine, "SUP-1").state == "pending"

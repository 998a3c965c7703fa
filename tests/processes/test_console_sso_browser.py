"""Console single sign-on in a real headless Chromium, against the local OpenID provider on another site: sign in,
land on the dashboard, sign out; a person without a console role sees the refusal page."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from fake_oidc import FakeOidc

from tests.live import free_port, serving
from tests.processes.test_web_browser import ARGS, chromium  # noqa: F401  (the shared Chromium fixture)

IDP_HOST = "idp.test"  # the provider's name in the browser: mapped to 127.0.0.1, a different site from the console


@pytest.fixture
def sso_browser(chromium):  # type: ignore[no-untyped-def]  # noqa: F811
    """Chromium (desktop width) that reaches the provider as http://idp.test:PORT, which is 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="procurebot-chromium-")
    args = [*ARGS, f"--host-resolver-rules=MAP {IDP_HOST} 127.0.0.1"]
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=args, viewport={"width": 1280, "height": 900}
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def sso_console(tmp_path):  # type: ignore[no-untyped-def]
    """The real app on a local port, its single sign-on pointed at the fake provider through OIDC_DISCOVERY_URL."""
    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    port = free_port()
    redirect = f"http://127.0.0.1:{port}/console/login/oidc/callback"
    with FakeOidc([redirect]) as fake:
        fake.browser_url = fake.url.replace("127.0.0.1", IDP_HOST)
        fake.interactive = True
        fake.post_logout_uris = [f"http://127.0.0.1:{port}/console/signed-out"]  # registered with the provider
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'console.db'}",
            env="dev",
            var_dir=tmp_path,
            session_secret="k" * 40,
            oidc=fake.settings(redirect),
            _env_file=None,
        )
        runtime = build_runtime(settings)
        with serving(create_app(settings, runtime=runtime), port=port) as base:
            yield base, fake
        runtime.engine.dispose()


def test_priya_signs_in_with_microsoft_reads_the_dashboard_and_signs_out(sso_console, sso_browser):
    """Priya opens the console, presses "Sign in with Microsoft", comes back signed in on the dashboard as an auditor,
    and signs out (at Microsoft too); Jake, who has no console role, is then told why he cannot come in."""
    base, fake = sso_console
    page = sso_browser.new_page()
    page.goto(base + "/console")
    page.click("#sign-in-sso")
    page.click("#idp-sign-in")  # on the provider's own page, another site
    page.wait_for_selector("h1:text('Dashboard')")
    assert page.url == base + "/console"
    assert "Priya Nair" in page.inner_text("header") and "auditor" in page.inner_text("header")
    assert fake.authorize_requests[0]["code_challenge_method"] == "S256"
    assert fake.authorize_requests[0]["redirect_uri"] == base + "/console/login/oidc/callback"

    page.click("header button:text('Sign out')")  # signed out at the provider too, and back on the console
    page.wait_for_selector("text=You are signed out.")
    assert page.url == base + "/console/signed-out"
    assert fake.logout_requests[0]["id_token_hint"] and fake.logout_requests[0]["post_logout_redirect_uri"] == page.url
    page.goto(base + "/console")
    page.wait_for_selector("#sign-in-sso")  # signed out for real: back at sign-in

    fake.user = {"name": "Jake Miller", "preferred_username": "jake.miller@lonestar.example", "oid": "3c4d5e6f"}
    page.click("#sign-in-sso")
    page.click("#idp-sign-in")
    page.wait_for_selector("[data-refusal='no_console_role']")
    assert "Jake Miller" in page.inner_text("main") and "OIDC_AUDITORS" in page.inner_text("main")
    page.goto(base + "/console")
    page.wait_for_selector("#sign-in-sso")

"""Who is out, in the console: an approver whose automatic replies are on, with nobody approving for them, is
listed with how many steps wait on them."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from approvals.absences import Seen, record
from approvals.db import transaction
from tests.edges.test_console import console, sign_in  # noqa: F401  (the console fixture and its helpers)
from tests.factories import submit


def test_an_approver_out_by_automatic_replies_is_listed_with_what_waits(console):  # noqa: F811
    """Zoe's automatic replies say she is out this week and she named nobody: the delegations page lists her as
    out, with nobody approving for her yet and the one step waiting on her."""
    runtime = console.runtime
    number = runtime.service.submit(submit()).number
    assert runtime.service.get(number).waiting_on == ["zoe.martin"]
    now = runtime.service.clock()
    with transaction(runtime.engine) as session:
        record(session, [Seen("zoe.martin", "scheduled", now - timedelta(hours=1), now + timedelta(days=4))], now)
    sign_in(console, "auditor")
    page = html.unescape(console.get("/console/delegations").text)
    out = re.search(r'<table class="stack out">.*?</table>', page, re.S)
    assert out, page
    assert "Zoe Martin" in out.group(0) and "nobody yet (automatic replies on)" in out.group(0)
    assert '<td data-label="Steps waiting on them">1</td>' in out.group(0)

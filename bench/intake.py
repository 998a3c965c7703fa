"""Intake benchmark: how long reading one chat message takes, and (optionally) the web chat in Chromium.

    .venv/bin/python bench/intake.py [--repeat 20] [--browser]

Figures:
- parse: extraction + draft merge + the next question, per message of the 65-message test
  table (tests/data/intake_messages.yaml); median, p90, max in ms, and messages per second.
  Goal: median under 5 ms.
- baseline, same run: a naive keyword spotter (one regex split, set lookups) over the same
  messages, so the ratio says what understanding costs over merely scanning the text.
- assistant: the whole handle_message on a scratch SQLite database (load and save of the
  conversation, duplicate check), per message.
- --browser: first contentful paint of / in headless Chromium (Debian's /usr/bin/chromium),
  and the time from tapping Approve in the approver's tab to the requester's card showing it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from approvals.directory import load_directory  # noqa: E402
from bot.intake.draft import DraftState, fill_defaults, merge, next_question  # noqa: E402
from bot.intake.extract import Extractor  # noqa: E402

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, samples: list[float], baseline: float | None = None) -> None:
    med = statistics.median(samples)
    ratio = f"  {med / baseline:8.1f}x baseline" if baseline else ""
    print(
        f"{name:<12} median {med:7.3f} ms   p90 {pct(samples, 0.9):7.3f} ms   max {max(samples):7.3f} ms   "
        f"{1000 / med:9.0f} msg/s{ratio}"
    )


def bench_parse(repeat: int) -> None:
    directory = load_directory(ROOT / "examples" / "company.yaml")
    extractor = Extractor(directory)
    table = yaml.safe_load((ROOT / "tests" / "data" / "intake_messages.yaml").read_text())
    messages = [(c["text"], directory.person(c.get("person", "jake.miller"))) for c in table]
    words = (
        {kw.lower() for item in directory.items for kw in item.keywords}
        | {s.id for s in directory.suppliers}
        | {a.lower() for s in directory.sites for a in s.aliases}
    )
    splitter = re.compile(r"[a-z0-9$€.,/-]+")

    def parse(text: str, person) -> None:  # type: ignore[no-untyped-def]
        ex = extractor.extract(text, now=NOW, timezone=person.timezone or "America/Chicago")
        draft = DraftState()
        merge(draft, ex)
        fill_defaults(draft, person, directory)
        next_question(draft, directory)

    def naive(text: str, person) -> None:  # type: ignore[no-untyped-def]
        [w for w in splitter.findall(text.lower()) if w in words]

    for text, person in messages:  # warm-up: dateparser loads its language data on first use
        parse(text, person)
    results = {}
    for name, fn in (("baseline", naive), ("parse", parse)):
        samples = []
        for _ in range(repeat):
            for text, person in messages:
                t = time.perf_counter()
                fn(text, person)
                samples.append((time.perf_counter() - t) * 1000)
        results[name] = samples
    print(f"{len(messages)} messages x {repeat} repeats")
    base = statistics.median(results["baseline"])
    line("baseline", results["baseline"])
    line("parse", results["parse"], base)
    goal = statistics.median(results["parse"]) < 5
    print(f"goal (parse median < 5 ms): {'met' if goal else 'NOT met'}")
    bench_assistant(messages, repeat=max(1, repeat // 10))


def bench_assistant(messages, repeat: int) -> None:  # type: ignore[no-untyped-def]
    from approvals.clock import utcnow
    from approvals.db import make_engine, transaction, upgrade
    from approvals.policy import load_policy
    from approvals.policy_store import install_policy
    from approvals.workflow import ApprovalService
    from bot.intake.assistant import Assistant

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as session:
            install_policy(session, load_policy(ROOT / "examples" / "policy.yaml"), at=utcnow())
        service = ApprovalService(engine, load_directory(ROOT / "examples" / "company.yaml"), clock=lambda: NOW)
        bot = Assistant(service, service.directory)
        samples = []
        for _ in range(repeat):
            for text, person in messages:
                bot.handle_message(person.id, "cancel")
                t = time.perf_counter()
                bot.handle_message(person.id, text)
                samples.append((time.perf_counter() - t) * 1000)
        engine.dispose()
    line("assistant", samples)


def bench_browser() -> None:
    import socket
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/b.db", env="dev", var_dir=Path(tmp), _env_file=None)
        runtime = build_runtime(settings)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        paints, updates = [], []
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                tempfile.mkdtemp(), executable_path="/usr/bin/chromium", headless=True, args=args
            )
            for i in range(5):
                jake, zoe = ctx.new_page(), ctx.new_page()
                for page, who in ((jake, "jake.miller"), (zoe, "zoe.martin")):
                    page.goto(base + "/")
                    page.wait_for_function("performance.getEntriesByType('paint').length > 0")
                    paints.append(
                        page.evaluate("Math.min(...performance.getEntriesByType('paint').map(e => e.startTime))")
                    )
                    page.wait_for_selector(f'#person option[value="{who}"]', state="attached")
                    page.select_option("#person", who)
                    page.wait_for_selector("body[data-live='1']")
                jake.fill("#text", f"need {40 + i} rolls of stretch wrap for Dallas from Uline, $32 a roll")
                jake.click("#send")
                jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']").click()
                number = jake.wait_for_selector(".card[data-number]").get_attribute("data-number")
                zoe.fill("#text", "pending")
                zoe.click("#send")
                button = zoe.wait_for_selector(
                    f".kind-approval_request[data-number='{number}'] button[data-action='approve']"
                )
                # timed inside the pages (same machine clock): a background tab's polling is throttled,
                # a MutationObserver is not, so this is when the requester's card really changed
                jake.evaluate(
                    "window.__seen = null; new MutationObserver(() => { if (!window.__seen && "
                    "[...document.querySelectorAll('.card .status')].some(s => s.textContent"
                    ".includes('Approved'))) window.__seen = Date.now(); })"
                    ".observe(document.getElementById('log'), {subtree: true, childList: true})"
                )
                start = zoe.evaluate("Date.now()")
                button.click()
                jake.wait_for_function("window.__seen !== null")
                updates.append(jake.evaluate("window.__seen") - start)
                jake.close()
                zoe.close()
            ctx.close()
        server.should_exit = True
        runtime.engine.dispose()
    print(f"first paint of /: median {statistics.median(paints):.0f} ms (n={len(paints)})")
    print(
        f"tap Approve -> requester's card updated: median {statistics.median(updates):.0f} ms, "
        f"max {max(updates):.0f} ms (n={len(updates)})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--browser", action="store_true", help="also measure the web chat in headless Chromium")
    args = ap.parse_args()
    bench_parse(args.repeat)
    if args.browser:
        bench_browser()


if __name__ == "__main__":
    main()

"""Intake with the LLM configured: the chat acknowledgment must not wait for the model.

    .venv/bin/python bench/llm_intake.py [--latency 0.8] [--repeat 3]

Two assistants on two scratch SQLite databases, same messages, same order:
- baseline: no LLM configured (the default product);
- llm: the LLM configured against the local fake OpenAI-compatible server (tests/fake_openai.py)
  answering every call after `--latency` seconds (800 ms by default).
Figures, per step, in ms (median, p90, max) and the ratio llm / baseline measured in this run:
- message: the first message of a request whose item the catalog cannot place (so the LLM is
  asked for a category suggestion), up to the reply the person sees;
- submit: tapping Submit on a request that leaves the happy path (so the LLM is asked for the
  approver's exception summary), up to the reply.
Then how many LLM calls were made (at most one per unplaced line and one per submitted
exception) and how long after the reply each answer was ready (the work moved off the path).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from approvals.clock import utcnow  # noqa: E402
from approvals.db import make_engine, transaction, upgrade  # noqa: E402
from approvals.directory import load_directory  # noqa: E402
from approvals.policy import load_policy  # noqa: E402
from approvals.policy_store import install_policy  # noqa: E402
from approvals.suggestions import stored_summary  # noqa: E402
from approvals.workflow import ApprovalService  # noqa: E402
from bot import llm_setup  # noqa: E402
from bot.intake.assistant import Assistant  # noqa: E402
from connectors.llm import LlmClient, LlmSettings  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
# first messages whose item the catalog and the supplier cannot place: each starts one LLM call
UNPLACED = [
    "need 6 mop buckets from Grainger at $25 each",
    "need 4 floor scrubber pads for Dallas at $30 each",
    "need 10 dock bumpers from Grainger at $85 each",
    "need 3 wet floor signs from Grainger at $18 each",
    "need 12 hi-vis vests for Dallas at $9 each",
    "need 2 pressure washers from Grainger at $640 each",
    "need 20 wiping rag bales from Grainger at $22 each",
    "need 5 extension cords for Dallas at $35 each",
]
# complete requests off the happy path (high-risk, non-contracted suppliers): each submit queues one summary
EXCEPTIONAL = [
    "need 100 pallets from acme for Dallas at $14 each",
    "need 150 pallets from acme for Dallas at $14 each",
    "need 200 pallets from acme for Dallas at $14 each",
    "need 120 pallets from acme for Dallas at $15 each",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, samples: list[float], baseline: list[float] | None = None) -> str:
    med = statistics.median(samples)
    ratio = f"   {med / statistics.median(baseline):5.2f}x baseline" if baseline else ""
    return f"  {name:<24} median {med:8.2f} ms   p90 {pct(samples, 0.9):8.2f} ms   max {max(samples):8.2f} ms{ratio}"


class Setup:
    def __init__(self, tmp: Path, name: str, fake: FakeOpenAI | None) -> None:
        url = f"sqlite:///{tmp / (name + '.db')}"
        upgrade(url)
        self.engine = make_engine(url)
        directory = load_directory(ROOT / "examples" / "company.yaml")
        policy = load_policy(ROOT / "examples" / "policy.yaml")
        with transaction(self.engine) as session:
            install_policy(session, policy, at=utcnow())
        self.service = ApprovalService(self.engine, directory, clock=lambda: NOW)
        if fake is not None:
            settings = LlmSettings(
                api_key="sk-bench",
                base_url=fake.base_url,
                model="fake-model",  # type: ignore[call-arg]
                timeout_seconds=5,
            )
            self.parts = llm_setup.build(self.service, policy, settings, client=LlmClient(settings))
        else:
            self.parts = llm_setup.build(self.service, policy, LlmSettings(_env_file=None))  # type: ignore[call-arg]
        self.bot = Assistant(self.service, directory, suggester=self.parts.suggester, summaries=self.parts.summaries)

    def message(self, text: str) -> tuple[float, list]:  # type: ignore[type-arg]
        started = time.perf_counter()
        replies = self.bot.handle_message("jake.miller", text)
        return (time.perf_counter() - started) * 1000, replies

    def submit(self, text: str) -> tuple[float, str]:
        _, replies = self.message(text)
        summary = next(r.card for r in replies if r.card and r.card.kind == "requisition_summary")
        value = next(a.value for a in summary.actions if a.id == "submit")
        started = time.perf_counter()
        out = self.bot.handle_action("jake.miller", "submit", value)
        ms = (time.perf_counter() - started) * 1000
        return ms, next(r.card.number for r in out if r.card and r.card.number)

    def close(self) -> None:
        self.parts.close()
        self.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.8, help="the fake model's answer time, seconds")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the message lists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(latency=args.latency) as fake:
        base, llm = Setup(Path(tmp), "baseline", None), Setup(Path(tmp), "llm", fake)
        try:
            msg: dict[str, list[float]] = {"baseline": [], "llm": []}
            sub: dict[str, list[float]] = {"baseline": [], "llm": []}
            ready_after: list[float] = []
            summary_after: list[float] = []
            for _ in range(args.repeat):
                for text in UNPLACED:
                    for name, s in (("baseline", base), ("llm", llm)):
                        ms, _ = s.message(text)
                        msg[name].append(ms)
                        replied = time.perf_counter()
                        if s is llm:  # how long after the reply the suggestion was ready (not waited for by chat)
                            item = s.bot.extractor.extract(text, now=NOW).lines[0].description
                            deadline = replied + 10
                            while s.parts.suggester.ready(item) is None and time.perf_counter() < deadline:  # type: ignore[union-attr]
                                time.sleep(0.005)
                            if s.parts.suggester.ready(item) is not None:  # type: ignore[union-attr]
                                ready_after.append((time.perf_counter() - replied) * 1000)
                        s.bot.handle_message("jake.miller", "cancel")
                    llm.parts.suggester._futures.clear()  # type: ignore[union-attr]  # ask again next round
                for text in EXCEPTIONAL:
                    for name, s in (("baseline", base), ("llm", llm)):
                        ms, number = s.submit(text)
                        sub[name].append(ms)
                        replied = time.perf_counter()
                        if s is llm:
                            deadline = replied + 10
                            while stored_summary(s.engine, number, 0) is None and time.perf_counter() < deadline:
                                time.sleep(0.01)
                            if stored_summary(s.engine, number, 0) is not None:
                                summary_after.append((time.perf_counter() - replied) * 1000)
            calls = len(fake.requests)
            classify_calls = sum(
                1 for r in fake.requests if "Categories (JSON):" in r["body"]["messages"][-1]["content"]
            )
        finally:
            base.close()
            llm.close()
    print(f"LLM intake benchmark: fake model latency {args.latency * 1000:.0f} ms, {args.repeat} rounds, SQLite")
    print("chat reply to a message with an item the catalog cannot place:")
    print(row("without LLM (baseline)", msg["baseline"]))
    print(row("with LLM", msg["llm"], msg["baseline"]))
    print("chat reply to Submit on a request off the happy path:")
    print(row("without LLM (baseline)", sub["baseline"]))
    print(row("with LLM", sub["llm"], sub["baseline"]))
    print("off the critical path (after the reply was sent):")
    print(row("suggestion ready after", ready_after))
    print(row("summary stored after", summary_after))
    expected = len(UNPLACED) * args.repeat + len(EXCEPTIONAL) * args.repeat
    print(
        f"LLM calls: {calls} ({classify_calls} classify, {calls - classify_calls} summary); "
        f"at most one per unplaced item and one per exceptional submit: {expected}"
    )


if __name__ == "__main__":
    main()

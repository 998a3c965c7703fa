"""Intake reply benchmark: how long the Assistant takes to answer each message of a corpus, next to the reader alone.

    .venv/bin/python bench/intake_reply.py [CORPUS.jsonl] [--repeat 3] [--limit N]

The corpus is a file in the evaluator's format (docs/intake-eval.md; only `text` and `requester` are used),
by default bench/intake/tune.jsonl, or a small built-in list when that file is missing. Figures:
- reply: `Assistant.handle_message` on a scratch SQLite database with a fixed clock (routing, the reader,
  the draft, the next question or the summary, loading and saving the conversation), each message on a
  fresh conversation; p50 / p90 / p99 in ms. Goal (issue 16): p90 < 20 ms.
- baseline, same run: `RuleBased.read` alone on the same messages (the reader without the dialogue or the
  database), so the ratio says what the rest of a reply costs over reading the words.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from approvals.db import make_engine, transaction, upgrade  # noqa: E402
from approvals.directory import load_directory  # noqa: E402
from approvals.policy import load_policy  # noqa: E402
from approvals.policy_store import install_policy  # noqa: E402
from approvals.workflow import ApprovalService  # noqa: E402
from bot.intake.assistant import Assistant  # noqa: E402
from bot.intake.understand import RuleBased  # noqa: E402

NOW = datetime(2026, 12, 7, 16, 0, tzinfo=timezone.utc)  # Monday 10:00 in Dallas, as the evaluator's default
DEFAULT_CORPUS = ROOT / "bench" / "intake" / "tune.jsonl"
BUILT_IN = [
    ("jake.miller", "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday, urgent"),
    ("jake.miller", "3 cases of packing tape from uline at $65 a case"),
    ("eric.larsen", "need 6 forklift tires from grainger at $310 each"),
    ("jake.miller", "need stretch wrap from uline for dallas"),
    ("jake.miller", "need 10 broom heads from Zoro at $8.99 each"),
    ("luis.garcia", "2 laptops from CDW at $1,400 each by 2026-12-15"),
    ("jake.miller", "where is my stretch wrap order"),
    ("jake.miller", "help"),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def messages(corpus: Path | None, limit: int | None) -> tuple[str, list[tuple[str, str]]]:
    """(where they came from, [(requester, text)])."""
    if corpus is None and DEFAULT_CORPUS.exists():
        corpus = DEFAULT_CORPUS
    if corpus is None:
        found, source = BUILT_IN, "the built-in list"
    else:
        rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
        found, source = [(r.get("requester", "jake.miller"), r["text"]) for r in rows], str(corpus)
    return source, found[:limit] if limit else found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", nargs="?", type=Path, help=f"a JSONL corpus (default {DEFAULT_CORPUS.name} if present)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the corpus (after one warm-up pass)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N messages (a smoke run)")
    args = ap.parse_args()
    source, msgs = messages(args.corpus, args.limit)
    directory = load_directory(ROOT / "examples" / "company.yaml")
    msgs = [(who if directory.person(who) else "jake.miller", text) for who, text in msgs]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as session:
            install_policy(session, load_policy(ROOT / "examples" / "policy.yaml"), at=NOW)
        bot = Assistant(ApprovalService(engine, directory, clock=lambda: NOW), directory, surface="web")
        reader = bot.understanding if isinstance(bot.understanding, RuleBased) else RuleBased(bot.extractor)
        zones = {who: bot.chat.timezone(bot.person(who)) for who, _ in msgs}

        def reply(who: str, text: str) -> None:
            bot.handle_message(who, text)

        def read(who: str, text: str) -> None:
            reader.read(text, editing=False, now=NOW, timezone=zones[who])

        samples: dict[str, list[float]] = {"reply": [], "baseline": []}
        for n in range(args.repeat + 1):  # pass 0 warms up (dateparser loads its language data on first use)
            for who, text in msgs:
                for name, fn in (("baseline", read), ("reply", reply)):
                    bot.handle_message(who, "cancel")  # each message starts a fresh conversation
                    t = time.perf_counter()
                    fn(who, text)
                    if n:
                        samples[name].append((time.perf_counter() - t) * 1000)
        engine.dispose()
    print(f"{len(msgs)} messages from {source} x {args.repeat} passes")
    base = {q: pct(samples["baseline"], q) for q in (0.5, 0.9, 0.99)}
    print(f"{'':<10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for name, label in (("baseline", "reader"), ("reply", "reply")):
        row = {q: pct(samples[name], q) for q in (0.5, 0.9, 0.99)}
        ratio = "" if name == "baseline" else "   x reader: " + " / ".join(f"{row[q] / base[q]:.1f}" for q in row)
        print(f"{label:<10} {row[0.5]:8.2f} {row[0.9]:8.2f} {row[0.99]:8.2f}{ratio}")
    p90 = pct(samples["reply"], 0.9)
    print(f"goal (reply p90 < 20 ms): {'met' if p90 < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()

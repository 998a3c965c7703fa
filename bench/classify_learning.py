"""The category classifier's learning curve: accuracy on an evaluation file as confirmed categories are added.

Each row trains the product's classifier (approvals/category_learning.py) as at start-up, on the seed corpus
and the taxonomy, plus the first N lines of a confirmations file taken as categories requesters confirmed or
buyers corrected, and scores it on the evaluation file (abstentions count as wrong, as in `procurebot llm
eval`). The confirmations are shuffled with a fixed seed, so a run is repeatable.

    .venv/bin/python bench/classify_learning.py --eval tests/data/classify_labelled.yaml \
        --confirmations bench/classify/tune.jsonl

Never pass the same file as both: the curve would measure memory, not learning.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from approvals.directory import load_directory  # noqa: E402
from bot.cli.llm import SEED_FILE, confirmations_from, evaluate, learned_classifier, read_cases  # noqa: E402


def steps_for(total: int, step: int) -> list[int]:
    """0, 50, 100, 200, 300, ... up to `total` (and `total` itself)."""
    out = [0, step, 2 * step] + list(range(4 * step, total + 1, 2 * step))
    out = sorted({n for n in out if n <= total} | {total})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--eval", dest="eval_file", type=Path, default=REPO / "tests" / "data" / "classify_labelled.yaml"
    )
    parser.add_argument("--confirmations", type=Path, default=REPO / "bench" / "classify" / "tune.jsonl")
    parser.add_argument("--directory", type=Path, default=REPO / "examples" / "company.yaml")
    parser.add_argument("--seed", type=Path, default=SEED_FILE)
    parser.add_argument("--step", type=int, default=50)
    parser.add_argument("--shuffle-seed", type=int, default=17)
    args = parser.parse_args(argv)
    if args.eval_file.resolve() == args.confirmations.resolve():
        parser.error("--eval and --confirmations must be different files")

    directory = load_directory(args.directory)
    cases = read_cases(args.eval_file)
    confirmations = confirmations_from(args.confirmations, directory, None)
    random.Random(args.shuffle_seed).shuffle(confirmations)
    print(f"evaluation: {len(cases)} labelled texts from {args.eval_file}")
    print(f"confirmations: up to {len(confirmations)} from {args.confirmations} (shuffled, seed {args.shuffle_seed})")
    print(f"{'confirmed':>9}  {'accuracy':>8}  {'abstention':>10}  {'vs 0':>7}  {'train s':>7}  model")
    baseline = None
    for n in steps_for(len(confirmations), args.step):
        started = time.perf_counter()
        learned = learned_classifier(directory, args.seed, confirmations[:n])
        seconds = time.perf_counter() - started
        report = evaluate(cases, directory, learned=learned)
        accuracy, abstention = report.overall.accuracy("learned"), report.overall.abstention("learned")
        baseline = accuracy if baseline is None else baseline
        print(
            f"{n:>9}  {100 * accuracy:>7.1f}%  {100 * abstention:>9.1f}%  {100 * (accuracy - baseline):>+6.1f}  "
            f"{seconds:>7.2f}  {getattr(learned, 'version', '')}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

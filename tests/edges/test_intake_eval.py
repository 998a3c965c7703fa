"""`procurebot intake eval`: a corpus of messages scored against the conversation every surface uses."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.intake import app
from bot.intake.draft import Question
from bot.intake.evaluate import CorpusError, exact_missing, need_by_date, parse_case, unit_name

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "intake_eval_sample.jsonl"
WRAP = "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday, urgent"
runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["eval", *args])


def figures(*args: str) -> dict:  # type: ignore[type-arg]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def corpus(tmp_path: Path, *lines: dict | str) -> str:  # type: ignore[type-arg]
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return str(path)


def test_sample_corpus_figures_are_the_hand_counted_ones():
    """The 15-message sample scores as counted by hand: 61 of 66 fields, 5 of 5 complete with no question,
    4 of 5 incomplete asking exactly what is missing, 1 wrong amount of 8 submitted, 2 left unfinished."""
    got = figures("--data", str(SAMPLE))
    assert got["messages"] == 15
    assert (got["fields_right"], got["fields_scored"]) == (61, 66)
    assert got["field_accuracy"] == pytest.approx(61 / 66)
    assert got["zero_question_rate"] == 1.0 and got["complete_requests"] == 5
    assert got["exact_missing_rate"] == pytest.approx(0.8) and got["incomplete_requests"] == 5
    assert (got["submitted"], got["totals_compared"], got["wrong_amounts"], got["unfinished"]) == (8, 8, 1, 2)
    per = {name: (f["right"], f["scored"]) for name, f in got["per_field"].items()}
    assert per["qty"] == (8, 9) and per["total"] == (7, 8) and per["supplier"] == (8, 9)
    assert per["site"] == (6, 7) and per["cost_center"] == (3, 4) and per["intent"] == (5, 5)
    assert per["unit_price"] == (9, 9) and per["item~"] == (8, 8) and per["need_by"] == (2, 2)


def test_misses_name_what_was_expected_and_what_was_read():
    """With --misses the deliberately wrong line says expected 41, read 40, and the wrong submitted total."""
    got = figures("--data", str(SAMPLE), "--misses")
    third = next(m for m in got["misses"] if m["line"] == 3)
    assert "line 1 qty: expected 41, read 40" in third["misses"]
    assert "submitted total 1280, expected 1312" in third["misses"]
    assert {m["line"] for m in got["misses"]} == {3, 4, 5, 6, 7, 15}


def test_the_table_shows_the_same_figures():
    """Without --json a buyer reads a short table: 92.4% field accuracy, 80.0% exact-missing, 1 wrong amount."""
    result = run("--data", str(SAMPLE))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"15 messages from {SAMPLE}"
    assert "92.4%" in lines[1] and "(61/66 fields)" in lines[1]
    assert any(ln.startswith("exact-missing rate") and "80.0%" in ln for ln in lines)
    assert any(ln.startswith("wrong amounts") and ln.split()[2] == "1" for ln in lines)


def test_a_wrong_submitted_total_is_counted_once(tmp_path):
    """The same complete request twice, once expecting $1,280 and once $1,300: only the second is a wrong amount."""
    right = {"text": WRAP, "expect": {"lines": [{"qty": 40, "unit_price": 32}]}, "complete": True}
    wrong = {"text": WRAP, "expect": {"lines": [{"total": 1300}]}, "complete": True}
    got = figures("--data", corpus(tmp_path, right, wrong), "--misses")
    assert got["submitted"] == 2 and got["wrong_amounts"] == 1
    assert got["misses"] == [
        {
            "line": 2,
            "text": WRAP,
            "misses": ["line 1 total: expected 1300, read 1280", "submitted total 1280, expected 1300"],
        }
    ]


def test_today_comes_from_now_not_the_wall_clock(tmp_path):
    """'by Friday' is the Friday after --now: with --now 2027-03-01 it must read as 2027-03-05."""
    line = {"text": WRAP, "expect": {"need_by": "friday"}}
    assert figures("--data", corpus(tmp_path, line), "--now", "2027-03-01T10:00")["per_field"]["need_by"]["right"] == 1
    line = {"text": WRAP, "expect": {"need_by": "2026-12-11"}}
    assert figures("--data", corpus(tmp_path, line), "--now", "2027-03-01T10:00")["per_field"]["need_by"]["right"] == 0


@pytest.mark.parametrize(
    "lines, says",
    [
        ((json.dumps({"text": WRAP}), "{not json"), "corpus.jsonl line 2: not JSON"),
        (({"text": WRAP, "expect": {"lines": [{"qtty": 4}]}},), "line 1: unknown key 'qtty' in expect.lines[1]"),
        (({"text": WRAP, "colour": "red"},), "line 1: unknown key 'colour' in the line"),
        (({"text": WRAP, "requester": "nobody"},), "line 1: requester 'nobody' is not a person"),
        (({"text": WRAP, "expect": {"need_by": "someday"}},), "line 1: expect.need_by must be YYYY-MM-DD"),
        (({"text": WRAP, "complete": True, "missing": ["qty"]},), "line 1: a request cannot be complete and have"),
    ],
)
def test_a_malformed_corpus_gets_one_clear_line_and_exit_2(tmp_path, lines, says):
    """A corpus with a broken line is refused before anything runs: one line naming the line and the fix, exit 2."""
    result = run("--data", corpus(tmp_path, *lines))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr


def test_a_missing_file_or_a_bad_now_is_refused(tmp_path):
    """`procurebot intake eval` with --data naming no file, or --now that is not a time, gives one line saying
    what to give instead, exit 2."""
    missing = tmp_path / "nope.jsonl"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "procurebot"), "intake", "eval", "--data", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"procurebot intake eval: {missing} does not exist; give the corpus file with --data\n"
    result = run("--data", str(SAMPLE), "--now", "next tuesday")
    assert result.exit_code == 2 and "--now must be an ISO 8601 time" in result.stderr


def test_units_weekdays_and_exact_questions_are_compared_as_documented():
    """cs = case, pk = pack, ea = each = pc, bx = box; 'friday' on Monday the 7th is the 11th, 'monday' the 14th;
    a question asked twice for the same line is not 'exactly the missing facts'."""
    assert unit_name("cs") == unit_name("cases") == "case" and unit_name("pk") == "pack"
    assert unit_name("ea") == unit_name("pc") == unit_name(None) == "each" and unit_name("bx") == unit_name("boxes")
    assert unit_name("gal") == unit_name("gallons") and unit_name("ft") == unit_name("feet") == unit_name("foot")
    assert unit_name("pieces") == unit_name("units") == "each" and unit_name("lbs") == unit_name("pound")
    assert unit_name("roll") != unit_name("case")
    assert need_by_date("friday", date(2026, 12, 7)) == date(2026, 12, 11)
    assert need_by_date("Monday", date(2026, 12, 7)) == date(2026, 12, 14)
    price = Question(field="price", text="?", line=0)
    assert exact_missing([price, Question(field="supplier", text="?")], ("price", "supplier"))
    assert not exact_missing([price, price], ("price",))
    assert exact_missing([Question(field="price_kind", text="?", line=0)], ("price",))


def test_parse_case_reads_numbers_as_decimals(directory):
    """A corpus line's amounts become exact decimals (19.9 stays 19.9), and an expectation line number is kept."""
    case = parse_case(json.dumps({"text": "x", "expect": {"lines": [{"unit_price": 19.9}]}}), 7, directory)
    assert case.expect["lines"][0]["unit_price"] == Decimal("19.9") and case.line_no == 7
    with pytest.raises(CorpusError, match="line 7: expect.lines\\[1\\].qty must be a number"):
        parse_case(json.dumps({"text": "x", "expect": {"lines": [{"qty": "many"}]}}), 7, directory)


def test_a_catalog_choice_is_the_price_question_and_is_answered_by_the_expected_price(tmp_path):
    """ "a new printer" asks "the label printer at $620, or something else?" in place of the price: it counts as
    asking the price, and an expected $620 picks the catalog's printer, so the request reaches Submit at $620."""
    text = "can we get a new printer for the office?"
    asked = {"text": text, "requester": "tasha.reed", "missing": ["price", "supplier"]}
    want = {"lines": [{"qty": 1, "unit_price": 620}], "supplier": "dell"}
    picked = {"text": text, "requester": "tasha.reed", "expect": want}
    got = figures("--data", corpus(tmp_path, asked, picked), "--misses")
    assert got["exact_missing_rate"] == 1.0
    assert got["submitted"] == 1 and got["wrong_amounts"] == 0 and got["unfinished"] == 1


def test_a_new_supplier_named_back_is_a_choice_not_a_missing_fact(tmp_path):
    """A complete request from a supplier the company lacks, named back, counts as asking nothing; unless the case
    says the supplier is missing, and a name holding the expected one's words ('Pacific Pride Fuels') counts."""
    text = "diesel for the yard truck - 300 gal at 3.89/gal, Pacific Pride Fuels"
    complete = {"text": text, "expect": {"supplier": "Pacific Pride"}, "complete": True}
    asked = {"text": text, "complete": False, "missing": ["supplier"]}
    got = figures("--data", corpus(tmp_path, complete, asked))
    assert got["per_field"]["supplier"]["right"] == got["per_field"]["supplier"]["scored"] == 1
    assert got["zero_question_rate"] == 1.0 and got["exact_missing_rate"] == 1.0

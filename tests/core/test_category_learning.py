"""The taxonomy and the category classifier that learns from the company's own confirmations."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from approvals.category_learning import CategoryLearner, LearnedClassifier
from approvals.category_model import Example, UnknownCategory, read_examples, train
from approvals.directory import load_directory
from approvals.errors import DirectoryInvalid
from approvals.policy.checker import check_policy_file
from approvals.suggestions import CategorySuggestion, record_suggestions

REPO = Path(__file__).resolve().parents[2]
COMPANY = REPO / "examples" / "company.yaml"
SEED = REPO / "examples" / "category-seed.jsonl"
CODES = [
    "mro",
    "safety_ppe",
    "packaging",
    "janitorial",
    "office_supplies",
    "it_hardware",
    "software",
    "facilities_services",
    "freight",
    "fleet",
    "capex_equipment",
    "inventory",
]


def _company_with(tmp_path: Path, old: str, new: str) -> Path:
    text = COMPANY.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "company.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(needle)


# --- the taxonomy --------------------------------------------------------------------------------------------


def test_the_sample_company_has_the_distributor_taxonomy(directory):
    """The sample company files spend under the twelve distributor categories, each described, managed and mapped."""
    assert [c.code for c in directory.categories] == CODES
    for c in directory.categories:
        assert c.name and c.description and c.typical_items and c.keywords and c.manager, c.code
    assert directory.category_by_code["software"].manager == "raj.patel"
    assert directory.category_by_code["it_hardware"].unspsc.family == "43210000"  # type: ignore[union-attr]
    assert directory.category_by_code["safety_ppe"].parent == "mro"


def test_a_duplicate_category_code_is_refused_with_file_and_line(tmp_path):
    """Two categories coded `packaging`: loading stops at the second, naming its file:line and the first's."""
    path = _company_with(tmp_path, "  - code: janitorial\n", "  - code: packaging\n")
    with pytest.raises(DirectoryInvalid) as caught:
        load_directory(path)
    first, second = _line_of(path, "- code: packaging"), _line_of(path, "- code: packaging", 2)
    assert caught.value.problems == [
        f"{path}:{second}: duplicate category code 'packaging' (first defined at {path}:{first}); "
        "give each category its own code, or merge the two entries"
    ]


def test_a_cycle_of_parents_is_refused_with_file_and_line(tmp_path):
    """Janitorial's parent is safety and safety's parent is janitorial: the loop is named, at its file:line."""
    path = _company_with(tmp_path, "    parent: mro\n", "    parent: janitorial\n")  # safety_ppe's parent
    path.write_text(
        path.read_text().replace("    parent: mro\n", "    parent: safety_ppe\n", 1), encoding="utf-8"
    )  # janitorial's
    with pytest.raises(DirectoryInvalid) as caught:
        load_directory(path)
    line = _line_of(path, "- code: safety_ppe")
    assert caught.value.problems == [
        f"{path}:{line}: categories form a cycle of parents: safety_ppe -> janitorial -> safety_ppe; "
        "a category cannot be its own ancestor"
    ]


def test_a_supplier_selling_an_unknown_category_is_refused(tmp_path):
    """Staples still sells `office` after the category became `office_supplies`: the load names both."""
    path = _company_with(tmp_path, "categories: [office_supplies]}", "categories: [office]}")
    with pytest.raises(DirectoryInvalid) as caught:
        load_directory(path)
    assert caught.value.problems == ["supplier staples: category 'office' is unknown"]


def test_the_checker_flags_a_policy_rule_naming_a_category_that_is_gone(tmp_path):
    """The company renames `fleet` to `vehicles`: the policy's fleet rule is an error at its line, with a hint."""
    path = _company_with(tmp_path, "  - code: fleet\n", "  - code: vehicles\n")
    path.write_text(path.read_text().replace("categories: [fleet]", "categories: [vehicles]"), encoding="utf-8")
    _, issues = check_policy_file(REPO / "examples" / "policy.yaml", load_directory(path))
    errors = [i for i in issues if i.severity == "error"]
    assert [(i.kind, i.line) for i in errors] == [
        ("unknown_reference", _line_of(REPO / "examples" / "policy.yaml", "when: {category: fleet}"))
    ]
    assert "unknown category `fleet`" in errors[0].message and "known categories:" in errors[0].hint


# --- the classifier ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def learned(directory):  # type: ignore[no-untyped-def]
    learner = CategoryLearner(directory, SEED)
    assert learner.start() is not None
    return learner.classifier


def test_a_server_trains_in_the_background_and_the_first_suggestion_waits_for_it(directory):
    """Start-up does not wait for training; the first classification does, and gets the model's answer."""
    learner = CategoryLearner(directory, SEED)
    learner.start_in_background()
    found = learner.classifier.classify("brake pads and tires for box truck 12")
    assert learner.wait_ready(0) and found is not None and found.source == "model"


def test_evidence_order_catalog_then_model(learned):
    """A strong catalog match is the catalog's category; a loose one is not; other texts go to the model."""
    wrap = learned.classify("stretch wrap 18in, 40 rolls")
    assert (wrap.category, wrap.source, wrap.sku) == ("packaging", "catalog", "PKG-SW-18")
    tires = learned.classify("brake pads and tires for box truck 12")
    assert (tires.category, tires.source) == ("fleet", "model")
    fuses = learned.verdict("forklift fuses")  # shares "forklift" with the capex forklift, and is not one
    assert fuses.classification is None or fuses.classification.source == "model"


def test_the_model_chooses_only_among_the_suppliers_categories(learned):
    """Grainger sells MRO, safety, janitorial and capital equipment: a text that reads like fleet picks among them."""
    verdict = learned.verdict("brake pads and tires for box truck 12", ("mro", "safety_ppe", "janitorial"))
    assert set(verdict.candidates) <= {"mro", "safety_ppe", "janitorial"}
    assert verdict.classification is None or verdict.classification.category in ("mro", "safety_ppe", "janitorial")


def test_close_candidates_are_asked_not_guessed(directory):
    """'gizmo' was filed as MRO and as janitorial equally often: no guess, both offered, most likely first."""
    examples = [
        Example("gizmo", "mro"),
        Example("gizmo", "janitorial"),
        Example("bearing grease", "mro"),
        Example("floor cleaner", "janitorial"),
        Example("laptop", "it_hardware"),
    ]
    classifier = LearnedClassifier(directory, train(examples, CODES))
    verdict = classifier.verdict("gizmo")
    assert verdict.classification is None
    assert set(verdict.candidates[:2]) == {"mro", "janitorial"}
    assert classifier.verdict("floor cleaner").classification.category == "janitorial"  # type: ignore[union-attr]


def test_learning_from_confirmations_changes_a_later_suggestion(engine, directory):
    """Branches keep confirming 'zorbex refill' as stock for resale: after retraining, the model suggests it."""
    learner = CategoryLearner(directory, SEED, engine)
    learner.start()
    before = learner.classifier.classify("zorbex refill, 6 cases")
    assert before is None or before.category != "inventory"
    version = learner.classifier.version
    record_suggestions(
        engine,
        [
            CategorySuggestion(
                requisition_number=f"PR-{n}",
                line_no=1,
                description=text,
                suggested="",
                confidence=0.0,
                source="none",
                confirmed="inventory",
                accepted=False,
            )
            for n, text in enumerate(["zorbex refill", "zorbex refills, 6 cases", "zorbex for the DCs", "zorbex"])
        ],
    )
    assert learner.refresh() is not None
    after = learner.classifier.classify("zorbex refill, 6 cases")
    assert after is not None and after.category == "inventory"
    assert learner.classifier.version != version
    assert learner.refresh() is learner.model  # nothing new: no retraining


def test_the_same_examples_give_the_same_model_version(directory):
    """Training twice on the same examples gives the same version; one more example gives another."""
    examples, _ = read_examples(SEED, CODES)
    assert train(examples, CODES).version == train(list(examples), CODES).version
    assert (
        train([*examples, Example("zorbex", "janitorial", "confirmed")], CODES).version
        != train(examples, CODES).version
    )


# --- bad input -----------------------------------------------------------------------------------------------


def test_a_training_example_with_an_unknown_category_is_refused(directory, tmp_path):
    """An example labelled `it` (gone since the taxonomy changed) is refused, naming every valid category."""
    with pytest.raises(UnknownCategory) as caught:
        train([Example("laptops", "it"), Example("copy paper", "office_supplies")], CODES)
    assert "unknown category 'it'; valid categories: capex_equipment, facilities_services" in str(caught.value)
    learner = CategoryLearner(directory, SEED)
    with pytest.raises(UnknownCategory):
        learner.add_examples([Example("laptops", "it")])
    seed = tmp_path / "seed.jsonl"
    seed.write_text(json.dumps({"text": "laptops", "category": "it"}) + "\n")
    examples, problems = read_examples(seed, CODES)
    assert examples == [] and problems == [
        f"{seed}:1: unknown category 'it'; valid categories: " + ", ".join(sorted(CODES))
    ]


@pytest.mark.parametrize("content", [None, b"\x00\xff\xfe not json at all\n", b'{"text": 1}\n[1, 2]\n'])
def test_a_missing_or_corrupt_seed_falls_back_to_keywords(directory, tmp_path, caplog, content):
    """No seed file, or one that cannot be read: one log line, no crash, and the keywords still answer."""
    seed = tmp_path / "seed.jsonl"
    if content is not None:
        seed.write_bytes(content)
    learner = CategoryLearner(directory, seed)
    with caplog.at_level(logging.WARNING, logger="procurebot.classify"):
        assert learner.start() is None
    assert len(caplog.records) == 1 and "suggesting categories from keywords" in caplog.records[0].getMessage()
    paper = learner.classifier.classify("copy paper")
    assert paper is not None and paper.category == "office_supplies"
    assert learner.classifier.version == "keywords"


def test_the_taxonomy_file_is_yaml_the_docs_describe(directory):
    """Every category field in the sample file is one docs/directory.md documents."""
    doc = (REPO / "docs" / "directory.md").read_text(encoding="utf-8")
    fields = {key for entry in yaml.safe_load(COMPANY.read_text())["categories"] for key in entry}
    assert fields == {"code", "name", "description", "typical_items", "keywords", "parent", "unspsc", "manager"}
    assert all(f"`{f}`" in doc for f in fields)

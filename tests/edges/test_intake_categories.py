"""The learned category classifier in the conversation: it suggests, asks between close candidates, and every
suggestion is recorded with the model version beside the category the requester confirmed."""

from __future__ import annotations

import pytest

from approvals.category_learning import LearnedClassifier
from approvals.category_model import Example, train
from approvals.suggestions import suggestions_for
from bot.intake.assistant import Assistant
from bot.intake.texts import SUGGESTED_CATEGORY

CODES = ["mro", "safety_ppe", "packaging", "janitorial", "office_supplies", "it_hardware", "software"]
CODES += ["facilities_services", "freight", "fleet", "capex_equipment", "inventory"]


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    examples = [
        Example("gizmos", "mro"),
        Example("gizmos", "janitorial"),
        Example("bearing grease", "mro"),
        Example("spare bearings", "mro"),
        Example("floor cleaner jugs", "janitorial"),
        Example("degreaser", "janitorial"),
        Example("laptop", "it_hardware"),
    ]
    return train(examples, CODES)


@pytest.fixture
def bot(service, directory, model):  # type: ignore[no-untyped-def]
    return Assistant(service, directory, classifier=LearnedClassifier(directory, model))


def cards(replies, kind=None):  # type: ignore[no-untyped-def]
    return [r.card for r in replies if r.card and (kind is None or r.card.kind == kind)]


def fact(card, label: str) -> str:  # type: ignore[no-untyped-def]
    return next(f.value for f in card.facts if f.label == label)


def act(bot, person, card, action_id):  # type: ignore[no-untyped-def]
    return bot.handle_action(person, action_id, next(a.value for a in card.actions if a.id == action_id))


def choose(bot, person, card, label):  # type: ignore[no-untyped-def]
    return bot.handle_action(person, "choose", next(a.value for a in card.actions if a.label == label))


def submitted(replies):  # type: ignore[no-untyped-def]
    return next(c for c in cards(replies) if c.number)


def test_close_candidates_are_asked_as_buttons_and_the_answer_recorded(bot, service, model):
    """'gizmos' reads as MRO and janitorial alike: Jake gets those two as buttons; his choice is routed and kept
    with the model version as what the company confirmed."""
    replies = bot.handle_message("jake.miller", "need 6 gizmos from Grainger at $25 each for Dallas by Friday")
    (question,) = cards(replies, "question")
    assert "gizmos" in question.title
    assert {a.label for a in question.actions} == {"MRO (maintenance, repair, operations)", "Janitorial and sanitation"}
    summary = cards(choose(bot, "jake.miller", question, "Janitorial and sanitation"), "requisition_summary")[0]
    assert fact(summary, "Category") == "Janitorial and sanitation"
    number = submitted(act(bot, "jake.miller", summary, "submit")).number
    view = service.view(number)
    assert view.category == "janitorial"
    (row,) = suggestions_for(service.engine, view.number)
    assert (row.suggested, row.source, row.confirmed, row.model_version) == ("", "none", "janitorial", model.version)


def test_a_confident_model_fills_the_category_as_a_suggestion_recorded_with_its_version(bot, service, model):
    """Floor cleaner reads clearly as janitorial: the summary says it was suggested, and the record names the model."""
    replies = bot.handle_message(
        "jake.miller", "need 6 floor cleaner jugs from Grainger at $25 each for Dallas by Friday"
    )
    summary = cards(replies, "requisition_summary")[0]
    assert fact(summary, "Category") == "Janitorial and sanitation" + SUGGESTED_CATEGORY
    assert "change_category" in [a.id for a in summary.actions]
    number = submitted(act(bot, "jake.miller", summary, "submit")).number
    (row,) = suggestions_for(service.engine, number)
    assert (row.suggested, row.source, row.confirmed, row.accepted) == ("janitorial", "model", "janitorial", True)
    assert row.model_version == model.version

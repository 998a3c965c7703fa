"""A buyer corrects a line's category after submit: the record follows, the route does not, the audit says what
changed, and the classifier learns the correction instead of what was confirmed at submit."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from approvals.category_learning import confirmed_examples
from approvals.commands import CorrectCategory
from approvals.errors import NotFound, ValidationFailed
from approvals.models import AuditEvent
from approvals.suggestions import CategorySuggestion, record_suggestions
from tests.factories import submit


def test_a_correction_changes_the_record_but_not_the_route(service):
    """Jake's stretch wrap is corrected from packaging to janitorial: the line and the requisition say janitorial,
    the steps stay as routed, and the audit names the buyer, the old and new category and why."""
    view = service.submit(submit()).requisition
    before = view.lines[0].category
    steps = [(s.approver, s.state) for s in view.steps]
    result = service.correct_category(
        CorrectCategory(actor="ben.turner", number=view.number, line_no=1, category="janitorial", reason="floor wrap")
    )
    assert result.outcome == "corrected" and "now Janitorial" in result.message
    after = service.get(view.number)
    assert after.lines[0].category == after.category == "janitorial"
    assert [(s.approver, s.state) for s in after.steps] == steps
    with Session(service.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "category_corrected")).one()
    assert event.actor == "ben.turner" and (event.before or {})["category"] == before
    assert (event.after or {})["category"] == "janitorial" and (event.after or {})["reason"] == "floor wrap"


@pytest.mark.parametrize(
    "line_no, category, refusal, message",
    [(1, "gadgets", ValidationFailed, "is not a category; use one of:"), (7, "janitorial", NotFound, "has no line 7")],
)
def test_an_unknown_category_or_line_is_refused_and_nothing_changes(service, line_no, category, refusal, message):
    """A category the company does not have is refused with the valid ones; a line that does not exist, by number."""
    number = service.submit(submit()).number
    with pytest.raises(refusal) as refused:
        service.correct_category(CorrectCategory(actor="ben.turner", number=number, line_no=line_no, category=category))
    assert message in str(refused.value)
    assert service.get(number).lines[0].category != category


def test_the_classifier_learns_the_correction_not_the_first_confirmation(service, directory):
    """Jake confirmed his stretch wrap as MRO at submit; a buyer corrects it to inventory: the classifier's training
    examples hold inventory for that line, once, and no longer MRO."""
    number = service.submit(submit()).number
    record_suggestions(
        service.engine,
        [
            CategorySuggestion(
                requisition_number=number,
                line_no=1,
                description="Stretch wrap 18in",
                suggested="mro",
                confidence=0.6,
                source="model",
                confirmed="mro",
                accepted=True,
            )
        ],
    )
    service.correct_category(CorrectCategory(actor="ben.turner", number=number, line_no=1, category="inventory"))
    examples, _ = confirmed_examples(service.engine, [c.code for c in directory.categories])
    assert [(e.text, e.category) for e in examples] == [("Stretch wrap 18in", "inventory")]

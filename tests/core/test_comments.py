"""Comments on a requisition: who may comment, whom a comment reaches, mentions, and what is kept and audited."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from approvals.commands import AddComment, Approve
from approvals.comments import Comment, find_mentions
from approvals.errors import NotFound, ValidationFailed
from approvals.jobqueue import Job
from approvals.models import AuditEvent
from tests.factories import boxes, submit


def notices(service) -> dict[str, dict]:
    """Every comment notice job, by the person it is for."""
    with Session(service.engine) as s:
        jobs = s.exec(select(Job).where(Job.kind == "notify")).all()
    return {j.payload["person"]: j.payload for j in jobs if j.payload.get("kind") in ("comment", "mention")}


def pending_box_order(service) -> str:
    """$3,840 of boxes from Jake, waiting on Maria Lopez."""
    result = service.submit(submit(lines=[boxes(80)]))
    assert result.requisition.waiting_on == ["maria.lopez"]
    return result.number


def test_an_approver_comment_reaches_the_requester_and_is_kept(service):
    """Maria asks in a comment whether the boxes can wait a week; Jake is told, and the comment is stored as written."""
    number = pending_box_order(service)
    result = service.comment(AddComment(actor="maria.lopez", number=number, text="Can these wait until next week?"))
    assert result.outcome == "commented"
    assert "1 person was told" in result.message
    told = notices(service)
    assert set(told) == {"jake.miller"}
    assert told["jake.miller"]["text"].startswith(f"Maria Lopez commented on {number}")
    assert "Can these wait until next week?" in told["jake.miller"]["text"]
    kept = service.comments(number, "jake.miller")
    assert [(c.author, c.body) for c in kept] == [("maria.lopez", "Can these wait until next week?")]


def test_a_comment_after_a_decision_reaches_everyone_so_far(service):
    """After Maria approved a two-stage order, Jake's comment reaches Maria and the stage-two approver, not himself."""
    result = service.submit(submit(lines=[boxes(250)]))  # $12,000: Maria, then her regional director
    number = result.number
    service.approve(Approve(actor="maria.lopez", number=number))
    waiting = service.get(number).waiting_on
    assert waiting and "maria.lopez" not in waiting
    service.comment(AddComment(actor="jake.miller", number=number, text="Supplier says they ship Friday."))
    told = set(notices(service))
    assert told == {"maria.lopez", *waiting}


def test_a_stranger_gets_the_same_answer_as_for_a_missing_number(service):
    """A Seattle technician cannot comment on a Dallas request, and is told exactly what a made-up number gets."""
    number = pending_box_order(service)
    with pytest.raises(NotFound) as hidden:
        service.comment(AddComment(actor="eric.larsen", number=number, text="hello"))
    with pytest.raises(NotFound) as missing:
        service.comment(AddComment(actor="eric.larsen", number="PR-999999", text="hello"))
    assert str(hidden.value) == str(missing.value).replace("PR-999999", number)
    with pytest.raises(NotFound):
        service.comments(number, "eric.larsen")
    assert service.comments(number, "jake.miller") == []


def test_a_mention_tells_that_person_in_their_own_words(service):
    """Jake mentions the finance controller by full name: Priya hears she was mentioned, Maria that he commented."""
    number = pending_box_order(service)
    service.comment(AddComment(actor="jake.miller", number=number, text="@Priya Nair is this in this month's budget?"))
    told = notices(service)
    assert told["priya.nair"]["kind"] == "mention"
    assert told["priya.nair"]["text"].startswith(f"Jake Miller mentioned you on {number}")
    assert told["maria.lopez"]["kind"] == "comment"
    assert service.comments(number, "priya.nair")[0].mentions == ["priya.nair"]


def test_a_mention_of_someone_who_cannot_see_it_is_refused_and_nothing_is_kept(service):
    """Jake mentions a Seattle technician on a Dallas request: refused with the reason, no comment, no notice."""
    number = pending_box_order(service)
    with pytest.raises(ValidationFailed) as refused:
        service.comment(AddComment(actor="jake.miller", number=number, text="@eric.larsen do you have spares?"))
    assert "Eric Larsen can't see" in str(refused.value)
    assert service.comments(number, "jake.miller") == []
    assert notices(service) == {}


def test_a_mention_of_nobody_is_refused_with_how_to_mention(service):
    """'@bob' names nobody in the directory: the refusal says how to mention people."""
    number = pending_box_order(service)
    with pytest.raises(ValidationFailed) as refused:
        service.comment(AddComment(actor="jake.miller", number=number, text="@bob can you check?"))
    assert "I don't know @bob" in str(refused.value)


def test_the_comment_is_audited_with_its_words(service):
    """The audit chain records who commented, what they said and whom it told."""
    number = pending_box_order(service)
    service.comment(AddComment(actor="maria.lopez", number=number, text="Checking with Lucy first."))
    with Session(service.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "commented")).one()
    assert event.actor == "maria.lopez" and event.requisition_number == number
    assert event.after["told"] == ["jake.miller"]
    assert event.after["comment"] == "Checking with Lucy first."


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
def test_blank_or_oversized_comments_are_refused_before_anything_happens(text):
    """An empty comment or one over 2,000 characters never reaches the service."""
    with pytest.raises(ValidationError):
        AddComment(actor="jake.miller", number="PR-1001", text=text)


def test_an_email_address_is_not_a_mention(directory):
    """'send it to jake.miller@lonestar.example' mentions nobody; '@jake.miller,' and '@Maria Lopez.' do."""
    assert find_mentions("send it to jake.miller@lonestar.example", directory).people == ()
    found = find_mentions("@jake.miller, and @Maria Lopez. thanks", directory)
    assert found.people == ("jake.miller", "maria.lopez") and found.unknown == ()


def test_a_retried_comment_is_kept_once(service):
    """A double tap sends the same comment with one idempotency key: one comment, one notice."""
    number = pending_box_order(service)
    cmd = AddComment(actor="maria.lopez", number=number, text="On it.", idempotency_key="tap-1")
    first, again = service.comment(cmd), service.comment(cmd)
    assert again.replayed and first.message == again.message
    with Session(service.engine) as s:
        assert len(s.exec(select(Comment)).all()) == 1

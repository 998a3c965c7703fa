"""Comments on a requisition: what the people involved say to each other about it, and whom it reaches.

Anyone who may see a requisition (approvals.visibility) may comment on it. A comment reaches everyone involved
(the requester, every approver so far and now, the people the route informs) and everyone it mentions, except
its author, and only people who may see the requisition. A mention names a person by id (`@priya.nair`) or by
full name (`@Priya Nair`); a mention of someone unknown, or of someone who may not see the requisition, refuses
the comment with the reason, so nobody is told about a request they cannot open.

The comment itself is kept in `requisition_comment`; the audit chain records it too (author, when, the words, whom
it mentioned and told), and each person it reaches gets a `notify` job (approvals/scheduling).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from approvals.clock import utcnow
from approvals.columns import timestamp_field
from approvals.directory import Directory

# a mention starts a word: an e-mail address (jake@example.com) mentions nobody
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z][\w.'-]*(?:[ \t]+[A-Z][\w.'-]*){0,3})")


class Comment(SQLModel, table=True):
    """One comment, as its author wrote it."""

    __tablename__ = "requisition_comment"

    id: int | None = Field(default=None, primary_key=True)
    requisition_id: int = Field(foreign_key="requisition.id", index=True)
    author: str = Field(max_length=80)
    body: str = Field(sa_column=Column(Text, nullable=False))
    mentions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    surface: str = Field(default="api", max_length=20)
    created_at: datetime = timestamp_field(default_factory=utcnow)


@dataclass(frozen=True)
class Mentions:
    """The people a text mentions, in the order it names them, and the names it uses that nobody has."""

    people: tuple[str, ...]
    unknown: tuple[str, ...]


def find_mentions(text: str, directory: Directory) -> Mentions:
    """`@person.id` or `@Full Name` (the longest full name that follows the @ wins: `@Priya Nair thanks` is
    Priya Nair). Surfaces turn their own mention syntax (Slack's `<@U123>`) into one of these first."""
    by_id = {p.id.lower(): p.id for p in directory.people}
    by_name = {p.name.lower(): p.id for p in directory.people}
    people: list[str] = []
    unknown: list[str] = []
    for match in _MENTION.finditer(text):
        words = match.group(1).split()
        found = None
        # the id alone, else the longest run of words that is somebody's full name
        first = words[0].rstrip(".,;:!?'").lower()
        if first in by_id:
            found = by_id[first]
        else:
            for n in range(len(words), 0, -1):
                candidate = " ".join(words[:n]).rstrip(".,;:!?").lower()
                if candidate in by_name:
                    found = by_name[candidate]
                    break
        if found is None:
            unknown.append("@" + words[0].rstrip(".,;:!?"))
        elif found not in people:
            people.append(found)
    return Mentions(tuple(people), tuple(dict.fromkeys(unknown)))


def informed_people(route: dict[str, Any] | None) -> list[str]:
    """Everyone the route informs at any stage (approvals.policy: `informed`)."""
    out: list[str] = []
    for stage in (route or {}).get("stages") or ():
        for person in stage.get("informed") or ():
            if isinstance(person, str) and person not in out:
                out.append(person)
    return out


def recipients(author: str, involved: Iterable[str], mentioned: Iterable[str]) -> list[str]:
    """Who hears of a comment: the people involved and mentioned, once each, never its author."""
    out: list[str] = []
    for person in [*involved, *mentioned]:
        if person and person != author and person not in out:
            out.append(person)
    return out


def excerpt(body: str, limit: int = 280) -> str:
    """The comment as a notice quotes it: one line, cut at a word with an ellipsis."""
    flat = " ".join(body.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "…"

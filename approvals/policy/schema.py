"""The policy file's shape, as pydantic models. See docs/policy.md for the full reference."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

ApproverKind = Literal[
    "manager", "role", "budget_owner", "category_manager", "person", "group", "approver_manager", "next_level"
]
APPROVER_KINDS: tuple[str, ...] = ("manager", "role", "budget_owner", "category_manager", "person", "group")
ESCALATION_KINDS: tuple[str, ...] = APPROVER_KINDS + ("approver_manager", "next_level")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApproverSpec(_Strict):
    """Exactly one resolver: `{manager: 1}`, `{role: warehouse_manager}`, `{budget_owner: true}`,
    `{category_manager: true}`, `{person: ann.lee}`, `{group: finance_team}`; as escalation
    target also `{approver_manager: 1}` and `{next_level: true}`."""

    manager: int | None = Field(default=None, ge=1, le=10)
    role: str | None = None
    budget_owner: Literal[True] | None = None
    category_manager: Literal[True] | None = None
    person: str | None = None
    group: str | None = None
    approver_manager: int | None = Field(default=None, ge=1, le=10)
    next_level: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "ApproverSpec":
        chosen = [k for k in ESCALATION_KINDS if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError(
                "name exactly one resolver, e.g. {manager: 1} or {role: warehouse_manager}; "
                f"got {', '.join(chosen) or 'none'}"
            )
        return self

    @cached_property
    def kind(self) -> str:
        # cached: routing asks for it on every step of every request
        return next(k for k in ESCALATION_KINDS if getattr(self, k) is not None)

    @property
    def arg(self) -> Any:
        return getattr(self, self.kind)

    def label(self) -> str:
        return self._label

    @cached_property
    def _label(self) -> str:
        # cached: every step's explanation says it
        kind, arg = self.kind, self.arg
        if kind == "manager":
            return "requester's manager" if arg == 1 else f"requester's manager +{arg - 1} levels"
        if kind == "approver_manager":
            return "approver's manager" if arg == 1 else f"approver's manager +{arg - 1} levels"
        if kind == "role":
            return arg.replace("_", " ")
        if kind in ("budget_owner", "category_manager", "next_level"):
            return kind.replace("_", " ")
        return f"{kind} {arg}"


# resolvers that name one person at most: a quorum larger than such members can never be reached
_SINGLE = ("manager", "person", "budget_owner", "category_manager")
GROUP_DEPTH = 4  # groups inside groups: deeper than this reads as a mistake, not a matrix
GROUP_TAG, APPROVER_TAG = "<group>", "<approver>"  # union tags; the loader leaves them out of locations


def _member_kind(value: Any) -> str:
    if isinstance(value, GroupSpec) or (isinstance(value, dict) and ("mode" in value or "approvers" in value)):
        return GROUP_TAG
    return APPROVER_TAG


Member = Annotated[
    Union[Annotated[ApproverSpec, Tag(APPROVER_TAG)], Annotated["GroupSpec", Tag(GROUP_TAG)]],
    Discriminator(_member_kind),
]


def _check_group(mode: str, quorum: int | None, members: tuple[Any, ...], what: str) -> None:
    if mode == "quorum" and quorum is None:
        raise ValueError(f"{what} with mode quorum needs `quorum: N` (how many approvals are enough)")
    if mode != "quorum" and quorum is not None:
        raise ValueError("`quorum` only applies with `mode: quorum`")
    if quorum is not None and quorum > len(members):
        if all(isinstance(m, GroupSpec) or m.kind in _SINGLE for m in members):
            raise ValueError(
                f"quorum {quorum} is more than the {len(members)} member(s) of this {what}, so it could never "
                f"be reached; lower the quorum or add members"
            )


def leaves(
    members: tuple[Any, ...], path: tuple[Any, ...] = ("approvers",)
) -> list[tuple[tuple[Any, ...], ApproverSpec]]:
    """Every resolver of a stage's approvers, groups opened, with its path below the stage."""
    out: list[tuple[tuple[Any, ...], ApproverSpec]] = []
    for k, member in enumerate(members):
        if isinstance(member, GroupSpec):
            out += leaves(member.approvers, path + (k, "approvers"))
        else:
            out.append((path + (k,), member))
    return out


class GroupSpec(_Strict):
    """A group inside a stage, written like the stage's own approvers: `{mode: any, approvers: [...]}`,
    `{mode: quorum, quorum: 2, approvers: [...]}`; groups nest ("the manager AND (the director OR a senior buyer)")."""

    mode: Literal["any", "all", "quorum"]
    quorum: int | None = Field(default=None, ge=1)
    approvers: tuple[Member, ...] = Field(min_length=1)
    name: str | None = Field(default=None, min_length=1, max_length=80)  # how cards and explanations call it

    @model_validator(mode="after")
    def _fits(self) -> "GroupSpec":
        _check_group(self.mode, self.quorum, self.approvers, "group")
        return self

    def depth(self) -> int:
        return 1 + max((m.depth() for m in self.approvers if isinstance(m, GroupSpec)), default=0)


class StageSpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    mode: Literal["any", "all", "quorum"] = "any"
    quorum: int | None = Field(default=None, ge=1)
    approvers: tuple[Member, ...] = Field(min_length=1)  # people, or groups of them (GroupSpec)
    sla_hours: Decimal | None = Field(default=None, gt=0, le=24 * 30)  # default: service level, then settings
    escalate_to: ApproverSpec | None = None  # default: service level, then settings.escalate_to
    escalation: Literal["add", "reassign"] | None = None  # default: settings.escalation (add)
    check_limits: bool = True
    explain: str | None = Field(default=None, max_length=200)
    order: int | None = None
    informed: tuple[ApproverSpec, ...] = ()  # told when the stage starts; never asked, never able to act
    # "start_and_end": the informed people are also told how the stage ended (approved, rejected, withdrawn)
    inform_when: Literal["start", "start_and_end"] = "start"

    @model_validator(mode="after")
    def _quorum_fits(self) -> "StageSpec":
        if self.mode == "quorum" and self.quorum is None:
            raise ValueError("mode quorum needs `quorum: N` (how many approvals are enough)")
        if self.mode != "quorum" and self.quorum is not None:
            raise ValueError("`quorum` only applies with `mode: quorum`")
        if self.has_groups:
            _check_group(self.mode, self.quorum, self.approvers, "stage")
            deepest = max(m.depth() for m in self.approvers if isinstance(m, GroupSpec))
            if deepest > GROUP_DEPTH:
                raise ValueError(f"groups nest {deepest} deep; at most {GROUP_DEPTH} levels are allowed")
        return self

    @cached_property
    def has_groups(self) -> bool:  # cached: routing asks for every stage of every request
        return any(isinstance(m, GroupSpec) for m in self.approvers)

    def leaves(self) -> list[tuple[tuple[Any, ...], ApproverSpec]]:
        """Every resolver on the stage, groups opened: (path below the stage, resolver)."""
        return leaves(self.approvers)


GroupSpec.model_rebuild()
StageSpec.model_rebuild()


class RuleSpec(_Strict):
    """A routing rule: the first rule whose `when` holds decides the base route."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)
    description: str | None = None
    when: dict[str, Any] | None = None
    auto_approve: Literal[True] | None = None
    stop: str | None = None
    stages: tuple[StageSpec, ...] | None = None
    informed: tuple[ApproverSpec, ...] = ()  # told with the rule's first stage (or of the automatic approval)

    @model_validator(mode="after")
    def _one_outcome(self) -> "RuleSpec":
        outcomes = [n for n in ("auto_approve", "stop", "stages") if getattr(self, n) is not None]
        if len(outcomes) != 1:
            raise ValueError(
                "a rule has exactly one outcome: `auto_approve: true`, `stop: <reason>` "
                f"or `stages: [...]`; got {', '.join(outcomes) or 'none'}"
            )
        return self


class StopSpec(_Strict):
    """A hard stop, checked before any rule: the request cannot proceed."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)
    when: dict[str, Any]
    reason: str = Field(min_length=1, max_length=300)


class OverlaySpec(_Strict):
    """An extra stage added on top of the base route whenever its `when` holds.

    `applies_to: all` (the default, and the behaviour before the key existed) also adds it to a
    request its rule approves automatically, which then needs that approval; `applies_to:
    approval` adds it only when the base rule already asks someone."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)
    description: str | None = None
    when: dict[str, Any]
    applies_to: Literal["approval", "all"] = "all"
    stage: StageSpec
    informed: tuple[ApproverSpec, ...] = ()  # told when the overlay's stage starts


class RemindersSpec(_Strict):
    first_after_hours: Decimal = Field(default=Decimal(4), gt=0, le=24 * 14)
    every_hours: Decimal = Field(default=Decimal(8), gt=0, le=24 * 14)
    max: int = Field(default=3, ge=0, le=20)


class ReminderOverride(_Strict):
    """Reminders for the stages a service level covers; what is left out keeps settings.reminders."""

    first_after_hours: Decimal | None = Field(default=None, gt=0, le=24 * 14)
    every_hours: Decimal | None = Field(default=None, gt=0, le=24 * 14)
    max: int | None = Field(default=None, ge=0, le=20)


class ServiceLevelSpec(_Strict):
    """Service levels by condition: the first whose `when` holds sets SLA, reminders and escalation on
    every stage of the route, over the stage's own values and the settings' defaults."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)
    description: str | None = None
    when: dict[str, Any]
    sla_hours: Decimal | None = Field(default=None, gt=0, le=24 * 30)
    reminders: ReminderOverride | None = None
    escalate_to: ApproverSpec | None = None
    escalation: Literal["add", "reassign"] | None = None

    @model_validator(mode="after")
    def _sets_something(self) -> "ServiceLevelSpec":
        if all(getattr(self, k) is None for k in ("sla_hours", "reminders", "escalate_to", "escalation")):
            raise ValueError("a service level sets at least one of sla_hours, reminders, escalate_to, escalation")
        return self


class ToleranceSpec(_Strict):
    percent: Decimal = Field(default=Decimal(10), ge=0, le=100)
    amount: Decimal = Field(default=Decimal(0), ge=0)


class SettingsSpec(_Strict):
    same_approver_across_stages: bool = False
    # who a later stage leaves out: everyone an earlier stage names ("named", as planned), or only those who
    # actually approved it ("acted": a member of an any-of or quorum group who might not act is kept, provisionally)
    separation_of_duties: Literal["named", "acted"] = "acted"
    approval_limits: Literal["escalate", "ignore"] = "escalate"
    sla_hours: Decimal = Field(default=Decimal(24), gt=0, le=24 * 30)
    reminders: RemindersSpec = RemindersSpec()
    escalate_to: ApproverSpec | None = None  # where a stuck step escalates when its stage says nothing
    escalation: Literal["add", "reassign"] = "add"
    amend_tolerance: ToleranceSpec = ToleranceSpec()
    unrouted_reason: str = "No policy rule covers this request; procurement has been asked to route it."
    # a new directory version (a sync, an activation) and the steps in flight: "keep" their approvers, or
    # "re-resolve" a pending step whose resolver now names someone else (docs/directory.md)
    on_directory_change: Literal["keep", "re-resolve"] = "keep"
    # an approver out of office (automatic replies on) who has not named a delegate by the step's first reminder:
    # "skip" to their manager, or "wait" for them
    absence: Literal["skip", "wait"] = "wait"


class PolicyHeader(_Strict):
    id: str = Field(min_length=1, max_length=80)
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$", max_length=40)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    description: str | None = None
    owner: str | None = None


class PolicyFile(_Strict):
    policy: PolicyHeader
    rates: dict[str, Decimal] = Field(default_factory=dict)
    settings: SettingsSpec = SettingsSpec()
    escalations: dict[str, str] = Field(default_factory=dict)
    stops: tuple[StopSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = Field(min_length=1)
    overlays: tuple[OverlaySpec, ...] = ()
    service_levels: tuple[ServiceLevelSpec, ...] = ()

    @model_validator(mode="after")
    def _ids_unique(self) -> "PolicyFile":
        ids = [s.id for s in self.stops] + [r.id for r in self.rules] + [o.id for o in self.overlays]
        ids += [s.id for s in self.service_levels]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(
                f"ids must be unique across stops, rules, overlays and service levels; repeated: {', '.join(dupes)}"
            )
        for code, rate in self.rates.items():
            if rate <= 0:
                raise ValueError(f"rate for {code} must be positive")
        return self

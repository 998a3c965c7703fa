"""The policy file's shape, as pydantic models. See docs/policy.md for the full reference."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class StageSpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    mode: Literal["any", "all", "quorum"] = "any"
    quorum: int | None = Field(default=None, ge=1)
    approvers: tuple[ApproverSpec, ...] = Field(min_length=1)
    sla_hours: Decimal | None = Field(default=None, gt=0, le=24 * 30)  # default: service level, then settings
    escalate_to: ApproverSpec | None = None  # default: service level, then settings.escalate_to
    escalation: Literal["add", "reassign"] | None = None  # default: settings.escalation (add)
    check_limits: bool = True
    explain: str | None = Field(default=None, max_length=200)
    order: int | None = None
    informed: tuple[ApproverSpec, ...] = ()  # told when the stage starts; never asked, never able to act

    @model_validator(mode="after")
    def _quorum_fits(self) -> "StageSpec":
        if self.mode == "quorum" and self.quorum is None:
            raise ValueError("mode quorum needs `quorum: N` (how many approvals are enough)")
        if self.mode != "quorum" and self.quorum is not None:
            raise ValueError("`quorum` only applies with `mode: quorum`")
        return self


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
    approval_limits: Literal["escalate", "ignore"] = "escalate"
    sla_hours: Decimal = Field(default=Decimal(24), gt=0, le=24 * 30)
    reminders: RemindersSpec = RemindersSpec()
    escalate_to: ApproverSpec | None = None  # where a stuck step escalates when its stage says nothing
    escalation: Literal["add", "reassign"] = "add"
    amend_tolerance: ToleranceSpec = ToleranceSpec()
    unrouted_reason: str = "No policy rule covers this request; procurement has been asked to route it."


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
